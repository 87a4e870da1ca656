//! The name server inside the simulator: a name-server node, a fake broker node that registers
//! every 30 s like a real broker, and an observer node that asks for routes like a client.
//! Killing the broker node removes it at once (its connection closes); pausing it (silent, the
//! connection still open) removes it only after its 120 s heartbeat timeout; a restarted name
//! server starts empty and is whole again after the broker's next registration.
#![cfg(madsim)]

use std::future::pending;
use std::net::IpAddr;
use std::time::Duration;

use namesrv::NamesrvConfig;
use protocol::body::{
    ClusterInfo, DataVersion, JsonBody, RegisterBrokerBody, TopicConfig,
    TopicConfigSerializeWrapper, TopicRouteData,
};
use protocol::header::{GetRouteInfoRequestHeader, RegisterBrokerRequestHeader};
use protocol::{RemotingCommand, RequestCode, ResponseCode};
use remoting::{ClientConfig, RemotingClient};
// tidy: allow(banned-crate) node control (create, kill, pause, restart) exists only in madsim; reached through madsim-tokio's re-export, no manifest entry
use tokio::madsim::runtime::{Handle, NodeHandle};
use tokio::time::{sleep, sleep_until};

const NAMESRV_IP: &str = "10.0.0.1";
const NAMESRV_ADDR: &str = "10.0.0.1:9876";
const BROKER_IP: &str = "10.0.0.2";
const BROKER_ADDR: &str = "10.0.0.2:10911";
const OBSERVER_IP: &str = "10.0.0.3";
const REGISTER_PERIOD: Duration = Duration::from_secs(30);
const TIMEOUT: Duration = Duration::from_secs(3);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A name server; `max_idle_secs` 0 keeps idle connections open, so only the heartbeat
/// timeout can expire a silent broker.
fn namesrv_node(handle: &Handle, max_idle_secs: u64) -> NodeHandle {
    handle
        .create_node()
        .name("namesrv")
        .ip(ip(NAMESRV_IP))
        .init(move || async move {
            let config = NamesrvConfig {
                server_channel_max_idle_time_seconds: max_idle_secs,
                ..NamesrvConfig::default()
            };
            if let Err(e) = namesrv::run(config, pending()).await {
                panic!("name server failed: {e}");
            }
        })
        .build()
}

fn register_request(counter: i64) -> RemotingCommand {
    let mut wrapper = TopicConfigSerializeWrapper {
        data_version: DataVersion { counter, state_version: 0, timestamp: counter },
        ..TopicConfigSerializeWrapper::default()
    };
    let topic = TopicConfig { topic_name: "T".into(), ..TopicConfig::default() };
    wrapper.topic_config_table.insert("T".into(), topic);
    let body =
        RegisterBrokerBody { filter_server_list: vec![], topic_config_serialize_wrapper: wrapper };
    let header = RegisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: BROKER_ADDR.into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: "10.0.0.2:10912".into(),
        broker_id: 0,
        compressed: Some(false),
        body_crc32: Some(0),
        ..RegisterBrokerRequestHeader::default()
    };
    RemotingCommand::request(RequestCode::REGISTER_BROKER, &header)
        .with_body(body.encode().unwrap())
}

/// A broker that registers at start and every 30 s, riding out name-server outages.
fn broker_node(handle: &Handle) -> NodeHandle {
    handle
        .create_node()
        .name("broker")
        .ip(ip(BROKER_IP))
        .init(|| async {
            let client = RemotingClient::new(ClientConfig::default());
            loop {
                match client.invoke(NAMESRV_ADDR, register_request(1), TIMEOUT).await {
                    Ok(resp) => assert_eq!(resp.code, ResponseCode::SUCCESS, "{:?}", resp.remark),
                    Err(e) => tracing::info!("registration failed, retrying next period: {e}"),
                }
                sleep(REGISTER_PERIOD).await;
            }
        })
        .build()
}

fn observer_node(handle: &Handle) -> NodeHandle {
    handle.create_node().name("observer").ip(ip(OBSERVER_IP)).build()
}

/// Asks the name server for topic T's route from the observer node: Some(master address) when
/// routed, None when TOPIC_NOT_EXIST.
async fn route_master(observer: &NodeHandle) -> Option<String> {
    observer
        .spawn(async {
            let client = RemotingClient::new(ClientConfig::default());
            let header =
                GetRouteInfoRequestHeader { topic: "T".into(), accept_standard_json_only: None };
            let req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
            let resp = client.invoke(NAMESRV_ADDR, req, TIMEOUT).await.unwrap();
            client.close_all();
            match resp.code {
                ResponseCode::SUCCESS => {
                    let route = TopicRouteData::decode(resp.body_bytes()).unwrap();
                    route.broker_datas.first().and_then(|b| b.master_addr().map(str::to_owned))
                }
                ResponseCode::TOPIC_NOT_EXIST => None,
                other => panic!("unexpected response {other}: {:?}", resp.remark),
            }
        })
        .await
        .unwrap()
}

async fn broker_count(observer: &NodeHandle) -> usize {
    observer
        .spawn(async {
            let client = RemotingClient::new(ClientConfig::default());
            let req = RemotingCommand::new_request(RequestCode::GET_BROKER_CLUSTER_INFO);
            let resp = client.invoke(NAMESRV_ADDR, req, TIMEOUT).await.unwrap();
            client.close_all();
            ClusterInfo::decode(resp.body_bytes()).unwrap().broker_addr_table.len()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_killed_broker_is_removed_as_soon_as_its_connection_closes() {
    let handle = Handle::current();
    let _namesrv = namesrv_node(&handle, 120);
    sleep(Duration::from_millis(100)).await;
    let broker = broker_node(&handle);
    let observer = observer_node(&handle);
    sleep(Duration::from_secs(1)).await;
    assert_eq!(route_master(&observer).await.as_deref(), Some(BROKER_ADDR));
    assert_eq!(broker_count(&observer).await, 1);

    handle.kill(broker.id());
    // Far less than the 120 s heartbeat timeout: the closed connection did it.
    sleep(Duration::from_secs(1)).await;
    assert_eq!(route_master(&observer).await, None);
    assert_eq!(broker_count(&observer).await, 0);

    // A restarted broker registers again.
    handle.restart(broker.id());
    sleep(Duration::from_secs(1)).await;
    assert_eq!(route_master(&observer).await.as_deref(), Some(BROKER_ADDR));
}

#[tokio::test]
async fn a_silent_broker_expires_after_its_heartbeat_timeout() {
    let handle = Handle::current();
    let start = rt::clock::now();
    let _namesrv = namesrv_node(&handle, 0);
    sleep(Duration::from_millis(100)).await;
    // Registers at about 0.1 s, 30.1 s, 60.1 s, ... 150.1 s.
    let broker = broker_node(&handle);
    let observer = observer_node(&handle);

    // Past 120 s, kept alive by its re-registrations.
    sleep_until(start + Duration::from_secs(155)).await;
    assert_eq!(route_master(&observer).await.as_deref(), Some(BROKER_ADDR));

    // Silent from here on, its connection still open: only the timeout can remove it.
    handle.pause(broker.id());
    sleep_until(start + Duration::from_secs(265)).await;
    assert_eq!(route_master(&observer).await.as_deref(), Some(BROKER_ADDR), "not yet 120 s");
    // Last registration at ~150.1 s, timeout 120 s, scans every 5 s: gone by ~275.1 s.
    sleep_until(start + Duration::from_secs(277)).await;
    assert_eq!(route_master(&observer).await, None, "expired after 120 s of silence");
    assert_eq!(broker_count(&observer).await, 0);

    // Once it speaks again, it is back. Its first attempt may still go out on the connection
    // the name server closed when it expired the broker; the next period's gets through.
    handle.resume(broker.id());
    sleep_until(start + Duration::from_secs(277) + REGISTER_PERIOD + TIMEOUT * 2).await;
    assert_eq!(route_master(&observer).await.as_deref(), Some(BROKER_ADDR));
}

#[tokio::test]
async fn a_restarted_name_server_is_whole_after_the_next_registration() {
    let handle = Handle::current();
    let namesrv = namesrv_node(&handle, 120);
    sleep(Duration::from_millis(100)).await;
    let _broker = broker_node(&handle);
    let observer = observer_node(&handle);
    sleep(Duration::from_secs(1)).await;
    assert_eq!(route_master(&observer).await.as_deref(), Some(BROKER_ADDR));

    handle.kill(namesrv.id());
    handle.restart(namesrv.id());
    sleep(Duration::from_secs(1)).await;
    // Stateless: the restarted name server knows nothing yet.
    assert_eq!(route_master(&observer).await, None);
    sleep(REGISTER_PERIOD).await;
    assert_eq!(route_master(&observer).await.as_deref(), Some(BROKER_ADDR));
}
