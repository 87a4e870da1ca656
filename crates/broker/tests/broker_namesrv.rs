//! A broker and a name server side by side: registration at start, re-registration when a topic
//! is auto-created, and unregistration at shutdown.

mod common;

use std::time::Duration;

use common::*;
use protocol::body::{JsonBody, TopicRouteData};
use protocol::header::GetRouteInfoRequestHeader;
use protocol::{RemotingCommand, RequestCode, ResponseCode};

async fn route(b: &TestBroker, namesrv: &str, topic: &str) -> RemotingCommand {
    let h = GetRouteInfoRequestHeader { topic: topic.into(), accept_standard_json_only: None };
    let req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &h);
    b.client.invoke(namesrv, req, TIMEOUT).await.unwrap()
}

async fn wait_route(b: &TestBroker, namesrv: &str, topic: &str) -> TopicRouteData {
    for _ in 0..100 {
        let r = route(b, namesrv, topic).await;
        if r.code == ResponseCode::SUCCESS {
            return TopicRouteData::decode(r.body_bytes()).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no route for {topic}");
}

#[tokio::test]
async fn routes_appear_and_vanish() {
    let ns = namesrv::start(namesrv::NamesrvConfig { listen_port: 0, ..Default::default() })
        .await
        .unwrap();
    let ns_addr = format!("127.0.0.1:{}", ns.local_addr().port());
    let dir = tempfile::tempdir().unwrap();
    let cfg = broker::BrokerConfig { namesrv_addr: vec![ns_addr.clone()], ..broker_config() };
    let b = TestBroker::start(dir.path(), cfg).await;

    // TBW102 is routable at once, pointing at this broker's main port.
    let tbw = wait_route(&b, &ns_addr, "TBW102").await;
    assert_eq!(tbw.broker_datas[0].master_addr(), Some(b.addr.as_str()));
    assert_eq!(tbw.queue_datas[0].write_queue_nums, 8);

    // An auto-created topic is registered without waiting for the 30 s period.
    assert_eq!(route(&b, &ns_addr, "Fresh").await.code, ResponseCode::TOPIC_NOT_EXIST);
    assert_eq!(b.invoke(send_v2("Fresh", 0, None, "x")).await.code, 0);
    let fresh = wait_route(&b, &ns_addr, "Fresh").await;
    assert_eq!(fresh.queue_datas[0].write_queue_nums, 4);
    assert_eq!(fresh.queue_datas[0].perm, 6);

    // The retry topic of a group is routable after its first heartbeat.
    assert_eq!(b.invoke(heartbeat("ip@c", "RG", vec![subscription("Fresh", "*")])).await.code, 0);
    wait_route(&b, &ns_addr, "%RETRY%RG").await;

    // Graceful shutdown unregisters.
    let client = b.client.clone();
    b.shutdown().await;
    let h = GetRouteInfoRequestHeader { topic: "Fresh".into(), accept_standard_json_only: None };
    let req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &h);
    let r = client.invoke(&ns_addr, req, TIMEOUT).await.unwrap();
    assert_eq!(r.code, ResponseCode::TOPIC_NOT_EXIST, "{r:?}");
    ns.shutdown().await;
}
