//! The name server over real loopback TCP, driven by the transport's own client the way a broker
//! and a producer would.
#![cfg(not(madsim))]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use namesrv::{start, NamesrvConfig, NamesrvHandle};
use protocol::body::{
    ClusterInfo, DataVersion, JsonBody, KvTable, RegisterBrokerBody, TopicConfig,
    TopicConfigSerializeWrapper, TopicList, TopicRouteData,
};
use protocol::header::{
    DeleteKvConfigRequestHeader, GetKvConfigRequestHeader, GetKvListByNamespaceRequestHeader,
    GetRouteInfoRequestHeader, GetTopicsByClusterRequestHeader, PutKvConfigRequestHeader,
    RegisterBrokerRequestHeader, UnregisterBrokerRequestHeader,
};
use protocol::{RemotingCommand, RequestCode, ResponseCode};
use remoting::{ClientConfig, RemotingClient};

const TIMEOUT: Duration = Duration::from_secs(5);
const MASTER: &str = "127.0.0.1:10911";
const SLAVE: &str = "127.0.0.1:10921";

async fn namesrv() -> NamesrvHandle {
    let config = NamesrvConfig {
        listen_port: 0,
        bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        order_message_enable: true,
        ..NamesrvConfig::default()
    };
    start(config).await.unwrap()
}

fn body(topics: &[(&str, i32)]) -> RegisterBrokerBody {
    let mut wrapper = TopicConfigSerializeWrapper {
        data_version: DataVersion { counter: 3, state_version: 0, timestamp: 1_700_000_000_000 },
        ..TopicConfigSerializeWrapper::default()
    };
    for (name, queues) in topics {
        let config = TopicConfig {
            topic_name: (*name).to_owned(),
            read_queue_nums: *queues,
            write_queue_nums: *queues,
            ..TopicConfig::default()
        };
        wrapper.topic_config_table.insert((*name).to_owned(), config);
    }
    RegisterBrokerBody { filter_server_list: vec![], topic_config_serialize_wrapper: wrapper }
}

fn register(id: i64, addr: &str, body: &RegisterBrokerBody, compressed: bool) -> RemotingCommand {
    let bytes = body.encode_body(compressed).unwrap();
    let header = RegisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: addr.into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: addr.replace("109", "119"),
        broker_id: id,
        compressed: Some(compressed),
        body_crc32: Some((crc32fast::hash(&bytes) & 0x7FFF_FFFF) as i32),
        ..RegisterBrokerRequestHeader::default()
    };
    RemotingCommand::request(RequestCode::REGISTER_BROKER, &header).with_body(bytes)
}

fn route_request(topic: &str, version: i32, standard_only: Option<bool>) -> RemotingCommand {
    let header =
        GetRouteInfoRequestHeader { topic: topic.into(), accept_standard_json_only: standard_only };
    let mut req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
    req.version = version;
    req
}

fn text(cmd: &RemotingCommand) -> String {
    String::from_utf8(cmd.body_bytes().to_vec()).unwrap()
}

#[tokio::test]
async fn broker_registration_routes_cluster_info_and_kv_over_tcp() {
    let ns = namesrv().await;
    let addr = ns.local_addr().to_string();
    let broker = RemotingClient::new(ClientConfig::default());
    let client = RemotingClient::new(ClientConfig::default());
    let call = |c: &RemotingClient, req: RemotingCommand| {
        let (c, addr) = (c.clone(), addr.clone());
        async move { c.invoke(&addr, req, TIMEOUT).await.unwrap() }
    };

    // An ordered topic's layout, set before the broker registers.
    let put = PutKvConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "T".into(),
        value: "broker-a:4".into(),
    };
    let resp = call(&client, RemotingCommand::request(RequestCode::PUT_KV_CONFIG, &put)).await;
    assert_eq!(resp.code, ResponseCode::SUCCESS);

    // The master registers with a plain JSON body and gets the ORDER_TOPIC_CONFIG table back.
    let resp = call(&broker, register(0, MASTER, &body(&[("T", 4), ("U", 2)]), false)).await;
    assert_eq!(resp.code, ResponseCode::SUCCESS, "{:?}", resp.remark);
    assert_eq!(resp.ext_fields.get("masterAddr"), None);
    let kv = KvTable::decode(resp.body_bytes()).unwrap();
    assert_eq!(kv.table.get("T").map(String::as_str), Some("broker-a:4"));

    // The slave registers with the compressed body and learns its master.
    let resp = call(&broker, register(1, SLAVE, &body(&[("S", 1)]), true)).await;
    assert_eq!(resp.code, ResponseCode::SUCCESS, "{:?}", resp.remark);
    assert_eq!(resp.ext_fields.get("masterAddr"), Some(MASTER));
    assert_eq!(resp.ext_fields.get("haServerAddr"), Some("127.0.0.1:11911"));

    // A body that does not match its CRC is refused and changes nothing.
    let mut bad = register(1, "127.0.0.1:1", &body(&[("X", 1)]), false);
    bad.ext_fields.insert("bodyCrc32", "12345");
    let resp = call(&broker, bad).await;
    assert_eq!(resp.code, ResponseCode::SYSTEM_ERROR);
    assert_eq!(resp.remark.as_deref(), Some("crc32 not match"));

    // Route, legacy form for a pre-4.9.4 client.
    let resp = call(&client, route_request("T", 400, None)).await;
    assert_eq!(resp.code, ResponseCode::SUCCESS);
    let legacy = text(&resp);
    assert!(
        legacy.contains(r#""brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"}"#),
        "{legacy}"
    );
    assert!(legacy.contains(r#""orderTopicConf":"broker-a:4""#), "{legacy}");
    assert!(!legacy.contains(' '), "compact: {legacy}");
    let route = TopicRouteData::decode(legacy.as_bytes()).unwrap();
    assert_eq!(route.queue_datas.len(), 1);
    assert_eq!(route.queue_datas[0].write_queue_nums, 4);

    // Standard form by version, and by header for an old client.
    for req in [route_request("T", 479, None), route_request("T", 400, Some(true))] {
        let resp = call(&client, req).await;
        let standard = text(&resp);
        assert_eq!(standard, legacy.replace("{0:", "{\"0\":").replace(",1:", ",\"1\":"));
    }

    // A slave's own topics never become routes; an unknown topic is 17 with a remark.
    let resp = call(&client, route_request("S", 479, None)).await;
    assert_eq!(resp.code, ResponseCode::TOPIC_NOT_EXIST);
    assert!(resp.remark.unwrap_or_default().contains("S"));

    // Cluster info, always legacy.
    let resp =
        call(&client, RemotingCommand::new_request(RequestCode::GET_BROKER_CLUSTER_INFO)).await;
    assert!(text(&resp).contains(r#"{0:"127.0.0.1:10911""#), "{}", text(&resp));
    let info = ClusterInfo::decode(resp.body_bytes()).unwrap();
    assert_eq!(info.broker_addr_table["broker-a"].broker_addrs.len(), 2);
    assert!(info.cluster_addr_table["DefaultCluster"].contains("broker-a"));

    // Topic lists.
    let req = RemotingCommand::new_request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
    let list = TopicList::decode(call(&client, req).await.body_bytes()).unwrap();
    assert_eq!(list.topic_list.into_iter().collect::<Vec<_>>(), vec!["T", "U"]);
    let h = GetTopicsByClusterRequestHeader { cluster: "DefaultCluster".into() };
    let req = RemotingCommand::request(RequestCode::GET_TOPICS_BY_CLUSTER, &h);
    let list = TopicList::decode(call(&client, req).await.body_bytes()).unwrap();
    assert_eq!(list.topic_list.len(), 2);

    // KV round trip.
    let get = GetKvConfigRequestHeader { namespace: "ORDER_TOPIC_CONFIG".into(), key: "T".into() };
    let resp = call(&client, RemotingCommand::request(RequestCode::GET_KV_CONFIG, &get)).await;
    assert_eq!(resp.ext_fields.get("value"), Some("broker-a:4"));
    let ns_header = GetKvListByNamespaceRequestHeader { namespace: "ORDER_TOPIC_CONFIG".into() };
    let list_req = RemotingCommand::request(RequestCode::GET_KVLIST_BY_NAMESPACE, &ns_header);
    let resp = call(&client, list_req.clone()).await;
    assert_eq!(KvTable::decode(resp.body_bytes()).unwrap().table.len(), 1);
    let del =
        DeleteKvConfigRequestHeader { namespace: "ORDER_TOPIC_CONFIG".into(), key: "T".into() };
    let resp = call(&client, RemotingCommand::request(RequestCode::DELETE_KV_CONFIG, &del)).await;
    assert_eq!(resp.code, ResponseCode::SUCCESS);
    let resp = call(&client, RemotingCommand::request(RequestCode::GET_KV_CONFIG, &get)).await;
    assert_eq!(resp.code, ResponseCode::QUERY_NOT_FOUND);
    assert!(resp.remark.is_some());
    assert_eq!(call(&client, list_req).await.code, ResponseCode::QUERY_NOT_FOUND);

    // Unknown codes and malformed headers get clean errors.
    let resp = call(&client, RemotingCommand::new_request(9_999)).await;
    assert_eq!(resp.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
    let resp = call(&client, RemotingCommand::new_request(RequestCode::REGISTER_BROKER)).await;
    assert_eq!(resp.code, ResponseCode::SYSTEM_ERROR);
    assert!(resp.remark.unwrap_or_default().contains("brokerName"));

    // The slave unregisters; the master's connection closing removes the master at once.
    let unreg = UnregisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: SLAVE.into(),
        cluster_name: "DefaultCluster".into(),
        broker_id: 1,
    };
    let resp =
        call(&broker, RemotingCommand::request(RequestCode::UNREGISTER_BROKER, &unreg)).await;
    assert_eq!(resp.code, ResponseCode::SUCCESS);
    assert_eq!(ns.controller().route_info().live_broker_count(), 1);
    broker.close_all();
    let mut gone = false;
    for _ in 0..100 {
        let resp = call(&client, route_request("T", 479, None)).await;
        if resp.code == ResponseCode::TOPIC_NOT_EXIST {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "the route must vanish when the broker's connection closes");
    assert_eq!(ns.controller().route_info().live_broker_count(), 0);

    client.close_all();
    ns.shutdown().await;
}

#[tokio::test]
async fn expiry_scan_removes_a_silent_broker() {
    let config = NamesrvConfig {
        listen_port: 0,
        bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        scan_not_active_broker_interval_millis: 50,
        ..NamesrvConfig::default()
    };
    let ns = start(config).await.unwrap();
    let addr = ns.local_addr().to_string();
    let broker = RemotingClient::new(ClientConfig::default());
    let mut req = register(0, MASTER, &body(&[("T", 4)]), false);
    req.ext_fields.insert("heartbeatTimeoutMillis", "200");
    let resp = broker.invoke(&addr, req, TIMEOUT).await.unwrap();
    assert_eq!(resp.code, ResponseCode::SUCCESS);
    assert_eq!(ns.controller().route_info().live_broker_count(), 1);
    let channel = broker.channel(&addr).await.unwrap();
    // Silent past 200 ms: the scan removes it and closes its connection.
    tokio::time::timeout(Duration::from_secs(5), channel.closed()).await.unwrap();
    assert_eq!(ns.controller().route_info().live_broker_count(), 0);
    assert!(ns.controller().route_info().pickup_topic_route_data("T").is_none());
    ns.shutdown().await;
}
