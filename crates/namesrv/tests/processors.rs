//! The request processors without a transport: each request code's answer and effect.

use std::sync::Arc;

use namesrv::processor::{ClientRequestProcessor, DefaultRequestProcessor};
use namesrv::{NamesrvConfig, NamesrvController};
use protocol::body::{
    DataVersion, JsonBody, QueueData, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper,
    TopicList, TopicRouteData,
};
use protocol::code::version;
use protocol::header::{
    BrokerHeartbeatRequestHeader, DeleteTopicFromNamesrvRequestHeader, GetRouteInfoRequestHeader,
    GetTopicsByClusterRequestHeader, PutKvConfigRequestHeader, RegisterBrokerRequestHeader,
};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

const ADDR: &str = "10.0.0.1:10911";

struct Fixture {
    controller: Arc<NamesrvController>,
    default: DefaultRequestProcessor,
    client: ClientRequestProcessor,
}

impl Fixture {
    fn new(config: NamesrvConfig) -> Self {
        let controller = NamesrvController::new(config);
        Self {
            default: DefaultRequestProcessor::new(controller.clone()),
            client: ClientRequestProcessor::new(controller.clone()),
            controller,
        }
    }

    fn call(&self, req: RemotingCommand) -> RemotingCommand {
        if req.code == RequestCode::GET_ROUTEINFO_BY_TOPIC {
            self.client.process_request(&req)
        } else {
            self.default.process_request(Some(1), &req)
        }
    }

    fn route(&self, topic: &str) -> RemotingCommand {
        let h = GetRouteInfoRequestHeader { topic: topic.into(), accept_standard_json_only: None };
        self.call(RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &h))
    }
}

fn wrapper(counter: i64, topics: &[&str]) -> TopicConfigSerializeWrapper {
    let mut w = TopicConfigSerializeWrapper {
        data_version: DataVersion { counter, state_version: 0, timestamp: 5 },
        ..TopicConfigSerializeWrapper::default()
    };
    for t in topics {
        let c = TopicConfig { topic_name: (*t).into(), ..TopicConfig::default() };
        w.topic_config_table.insert((*t).into(), c);
    }
    w
}

fn register_header(compressed: bool) -> RegisterBrokerRequestHeader {
    RegisterBrokerRequestHeader {
        broker_name: "b1".into(),
        broker_addr: ADDR.into(),
        cluster_name: "C".into(),
        ha_server_addr: "10.0.0.1:10912".into(),
        broker_id: 0,
        compressed: Some(compressed),
        body_crc32: Some(0),
        ..RegisterBrokerRequestHeader::default()
    }
}

fn register(f: &Fixture, counter: i64, topics: &[&str]) -> RemotingCommand {
    let body = RegisterBrokerBody {
        filter_server_list: vec![],
        topic_config_serialize_wrapper: wrapper(counter, topics),
    };
    let req = RemotingCommand::request(RequestCode::REGISTER_BROKER, &register_header(false))
        .with_body(body.encode().unwrap());
    f.call(req)
}

#[test]
fn old_brokers_send_the_bare_topic_table_and_new_ones_may_compress() {
    let f = Fixture::new(NamesrvConfig::default());
    let mut req = RemotingCommand::request(RequestCode::REGISTER_BROKER, &register_header(false))
        .with_body(wrapper(1, &["Old"]).encode().unwrap());
    req.version = version::V3_0_11 - 1;
    assert_eq!(f.call(req).code, ResponseCode::SUCCESS);
    assert_eq!(f.route("Old").code, ResponseCode::SUCCESS);

    let body = RegisterBrokerBody {
        filter_server_list: vec!["10.0.0.1:3000".into()],
        topic_config_serialize_wrapper: wrapper(2, &["New"]),
    };
    let req = RemotingCommand::request(RequestCode::REGISTER_BROKER, &register_header(true))
        .with_body(body.encode_compressed().unwrap());
    assert_eq!(f.call(req).code, ResponseCode::SUCCESS);
    let route = TopicRouteData::decode(f.route("New").body_bytes()).unwrap();
    assert_eq!(route.filter_server_table[ADDR], vec!["10.0.0.1:3000".to_owned()]);

    // No body: a heartbeat with an empty table, which is fine.
    let req = RemotingCommand::request(RequestCode::REGISTER_BROKER, &register_header(false));
    assert_eq!(f.call(req).code, ResponseCode::SUCCESS);
}

#[test]
fn malformed_bodies_are_refused_with_a_remark_and_change_nothing() {
    let f = Fixture::new(NamesrvConfig::default());
    for (compressed, body) in [(false, &b"{not json"[..]), (true, &b"not zlib"[..])] {
        let req =
            RemotingCommand::request(RequestCode::REGISTER_BROKER, &register_header(compressed))
                .with_body(body.to_vec());
        let resp = f.call(req);
        assert_eq!(resp.code, ResponseCode::SYSTEM_ERROR);
        assert!(resp.remark.unwrap().starts_with("invalid request"));
    }
    assert_eq!(f.controller.route_info().live_broker_count(), 0);
    let mut bad = RemotingCommand::request(RequestCode::REGISTER_BROKER, &register_header(false));
    bad.ext_fields.insert("brokerId", "zero");
    assert!(f.call(bad).remark.unwrap().contains("brokerId"));
}

#[test]
fn query_data_version_reports_changes_and_refreshes_current_brokers() {
    let f = Fixture::new(NamesrvConfig::default());
    assert_eq!(register(&f, 7, &["T"]).code, ResponseCode::SUCCESS);
    let query = |counter: i64| {
        let mut req = RemotingCommand::new_request(RequestCode::QUERY_DATA_VERSION)
            .with_body(DataVersion { counter, state_version: 0, timestamp: 5 }.encode().unwrap());
        for (k, v) in
            [("clusterName", "C"), ("brokerAddr", ADDR), ("brokerName", "b1"), ("brokerId", "0")]
        {
            req.ext_fields.insert(k, v);
        }
        f.call(req)
    };
    let resp = query(7);
    assert_eq!(resp.ext_fields.get("changed"), Some("false"));
    assert_eq!(DataVersion::decode(resp.body_bytes()).unwrap().counter, 7);
    assert_eq!(query(8).ext_fields.get("changed"), Some("true"));
    let missing = f.call(RemotingCommand::new_request(RequestCode::QUERY_DATA_VERSION));
    assert_eq!(missing.code, ResponseCode::SYSTEM_ERROR);
}

#[test]
fn broker_heartbeat_refreshes_liveness() {
    let f = Fixture::new(NamesrvConfig::default());
    register(&f, 1, &["T"]);
    f.controller.route_info().update_broker_info_update_timestamp("C", ADDR, None, 0);
    let h = BrokerHeartbeatRequestHeader {
        cluster_name: "C".into(),
        broker_addr: ADDR.into(),
        broker_name: "b1".into(),
        heartbeat_timeout_mills: Some(30_000),
        ..BrokerHeartbeatRequestHeader::default()
    };
    let resp = f.call(RemotingCommand::request(RequestCode::BROKER_HEARTBEAT, &h));
    assert_eq!(resp.code, ResponseCode::SUCCESS);
    let routes = f.controller.route_info();
    let live = routes.broker_live_info("C", ADDR).unwrap();
    assert!(live.last_update_timestamp > 0);
    assert_eq!(live.heartbeat_timeout_millis, 30_000);
    assert_eq!(live.channel_id, Some(1));
}

#[test]
fn write_permission_codes_answer_topic_counts() {
    let f = Fixture::new(NamesrvConfig::default());
    register(&f, 1, &["T", "U"]);
    let mut wipe = RemotingCommand::new_request(RequestCode::WIPE_WRITE_PERM_OF_BROKER);
    wipe.ext_fields.insert("brokerName", "b1");
    assert_eq!(f.call(wipe).ext_fields.get("wipeTopicCount"), Some("2"));
    let route = TopicRouteData::decode(f.route("T").body_bytes()).unwrap();
    assert_eq!(route.queue_datas[0].perm, 4);
    let mut add = RemotingCommand::new_request(RequestCode::ADD_WRITE_PERM_OF_BROKER);
    add.ext_fields.insert("brokerName", "b1");
    assert_eq!(f.call(add).ext_fields.get("addTopicCount"), Some("2"));
}

#[test]
fn topic_admin_codes() {
    let f = Fixture::new(NamesrvConfig::default());
    register(&f, 1, &["T", "U"]);
    let h = DeleteTopicFromNamesrvRequestHeader { topic: "U".into(), cluster_name: None };
    let resp = f.call(RemotingCommand::request(RequestCode::DELETE_TOPIC_IN_NAMESRV, &h));
    assert_eq!(resp.code, ResponseCode::SUCCESS);
    assert_eq!(f.route("U").code, ResponseCode::TOPIC_NOT_EXIST);

    let route = TopicRouteData {
        queue_datas: vec![QueueData {
            broker_name: "b1".into(),
            perm: 6,
            read_queue_nums: 1,
            topic_sys_flag: 0,
            write_queue_nums: 1,
        }],
        ..TopicRouteData::default()
    };
    let mut req = RemotingCommand::new_request(RequestCode::REGISTER_TOPIC_IN_NAMESRV)
        .with_body(route.encode().unwrap());
    req.ext_fields.insert("topic", "Manual");
    assert_eq!(f.call(req).code, ResponseCode::SUCCESS);
    assert_eq!(f.route("Manual").code, ResponseCode::SUCCESS);

    let resp = f.call(RemotingCommand::new_request(RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS));
    let list = TopicList::decode(resp.body_bytes()).unwrap();
    assert_eq!(list.topic_list.into_iter().collect::<Vec<_>>(), vec!["C", "b1"]);
    assert_eq!(list.broker_addr.as_deref(), Some(ADDR));
}

#[test]
fn topic_lists_can_be_disabled() {
    let config = NamesrvConfig {
        enable_all_topic_list: false,
        enable_topic_list: false,
        ..Default::default()
    };
    let f = Fixture::new(config);
    let all = f.call(RemotingCommand::new_request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER));
    let h = GetTopicsByClusterRequestHeader { cluster: "C".into() };
    let by_cluster = f.call(RemotingCommand::request(RequestCode::GET_TOPICS_BY_CLUSTER, &h));
    for resp in [all, by_cluster] {
        assert_eq!(resp.code, ResponseCode::SYSTEM_ERROR);
        assert_eq!(resp.remark.as_deref(), Some("disable"));
    }
}

#[test]
fn order_topic_conf_only_when_enabled_and_kv_is_bounded() {
    let f = Fixture::new(NamesrvConfig { kv_config_max_entries: 1, ..Default::default() });
    register(&f, 1, &["T"]);
    let put = |key: &str| {
        let h = PutKvConfigRequestHeader {
            namespace: "ORDER_TOPIC_CONFIG".into(),
            key: key.into(),
            value: "b1:8".into(),
        };
        f.call(RemotingCommand::request(RequestCode::PUT_KV_CONFIG, &h))
    };
    assert_eq!(put("T").code, ResponseCode::SUCCESS);
    let full = put("U");
    assert_eq!(full.code, ResponseCode::SYSTEM_ERROR);
    assert!(full.remark.unwrap().contains("full"));
    let route = TopicRouteData::decode(f.route("T").body_bytes()).unwrap();
    assert_eq!(route.order_topic_conf, None, "orderMessageEnable is off by default");
    // The registering broker still gets the table back.
    let resp = register(&f, 1, &["T"]);
    assert_eq!(resp.body_bytes(), br#"{"table":{"T":"b1:8"}}"#);
}

#[test]
fn namesrv_config_is_served_as_properties() {
    let f = Fixture::new(NamesrvConfig::default());
    let resp = f.call(RemotingCommand::new_request(RequestCode::GET_NAMESRV_CONFIG));
    let text = String::from_utf8(resp.body_bytes().to_vec()).unwrap();
    assert!(text.lines().any(|l| l == "listenPort=9876"), "{text}");
}

#[test]
fn registrations_past_max_live_brokers_are_refused_and_known_ones_still_pass() {
    let f = Fixture::new(NamesrvConfig { max_live_brokers: 2, ..NamesrvConfig::default() });
    let register_at = |addr: &str, name: &str| {
        let h = RegisterBrokerRequestHeader {
            broker_addr: addr.into(),
            broker_name: name.into(),
            ..register_header(false)
        };
        let body = RegisterBrokerBody {
            filter_server_list: vec![],
            topic_config_serialize_wrapper: wrapper(1, &[name]),
        };
        f.call(
            RemotingCommand::request(RequestCode::REGISTER_BROKER, &h)
                .with_body(body.encode().unwrap()),
        )
    };
    assert_eq!(register_at("10.0.0.1:10911", "b1").code, ResponseCode::SUCCESS);
    assert_eq!(register_at("10.0.0.2:10911", "b2").code, ResponseCode::SUCCESS);
    let refused = register_at("10.0.0.3:10911", "b3");
    assert_eq!(refused.code, ResponseCode::SYSTEM_ERROR);
    assert!(refused.remark.as_deref().unwrap_or("").contains("maxLiveBrokers"), "{refused:?}");
    assert_eq!(f.route("b3").code, ResponseCode::TOPIC_NOT_EXIST);
    // A broker already registered keeps its heartbeats going through.
    assert_eq!(register_at("10.0.0.1:10911", "b1").code, ResponseCode::SUCCESS);
}
