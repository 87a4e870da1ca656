use protocol::body::{JsonBody, JsonStyle};

use super::*;
use crate::routeinfo::legacy_json::to_legacy_json;

const CLUSTER: &str = "DefaultCluster";
const MASTER: &str = "10.0.0.1:10911";
const SLAVE: &str = "10.0.0.2:10911";

fn wrapper(counter: i64, topics: &[(&str, i32)]) -> TopicConfigSerializeWrapper {
    let mut w = TopicConfigSerializeWrapper {
        data_version: DataVersion { counter, state_version: 0, timestamp: 1_700_000_000_000 },
        ..TopicConfigSerializeWrapper::default()
    };
    for (name, queues) in topics {
        let config = TopicConfig {
            topic_name: (*name).to_owned(),
            read_queue_nums: *queues,
            write_queue_nums: *queues,
            ..TopicConfig::default()
        };
        w.topic_config_table.insert((*name).to_owned(), config);
    }
    w
}

fn reg(name: &str, id: i64, addr: &str, w: TopicConfigSerializeWrapper) -> BrokerRegistration {
    BrokerRegistration {
        cluster_name: CLUSTER.to_owned(),
        broker_addr: addr.to_owned(),
        broker_name: name.to_owned(),
        broker_id: id,
        ha_server_addr: addr.replace("10911", "10912"),
        topic_config_wrapper: w,
        ..BrokerRegistration::default()
    }
}

fn queues(m: &RouteInfoManager, topic: &str) -> Vec<(String, i32, i32)> {
    m.pickup_topic_route_data(topic)
        .map(|r| {
            r.queue_datas
                .iter()
                .map(|q| (q.broker_name.clone(), q.write_queue_nums, q.perm))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn master_registration_feeds_routes_and_cluster_info() {
    let mut m = RouteInfoManager::default();
    let result = m.register_broker(reg("b1", 0, MASTER, wrapper(1, &[("T", 4)])), 0);
    assert_eq!(result, RegisterBrokerResult::default(), "a master gets no master address");
    let route = m.pickup_topic_route_data("T").unwrap();
    assert_eq!(queues(&m, "T"), vec![("b1".to_owned(), 4, 6)]);
    assert_eq!(route.broker_datas.len(), 1);
    assert_eq!(route.broker_datas[0].master_addr(), Some(MASTER));
    assert_eq!(route.broker_datas[0].cluster, CLUSTER);
    assert!(m.pickup_topic_route_data("other").is_none());

    let info = m.get_all_cluster_info();
    assert_eq!(info.cluster_addr_table[CLUSTER].iter().collect::<Vec<_>>(), vec!["b1"]);
    assert_eq!(info.broker_addr_table["b1"].broker_addrs[&0], MASTER);
    assert_eq!(m.get_all_topic_list().topic_list.into_iter().collect::<Vec<_>>(), vec!["T"]);
    assert_eq!(m.live_broker_count(), 1);
}

#[test]
fn topic_table_is_reread_only_when_the_data_version_moves() {
    let mut m = RouteInfoManager::default();
    m.register_broker(reg("b1", 0, MASTER, wrapper(1, &[("T", 4)])), 0);
    // Same version, different table: a heartbeat. Known topics are not re-read; one the
    // table lacks is still added, as RocketMQ's isTopicConfigChanged does.
    m.register_broker(reg("b1", 0, MASTER, wrapper(1, &[("T", 8), ("U", 2)])), 30_000);
    assert_eq!(queues(&m, "T"), vec![("b1".to_owned(), 4, 6)]);
    assert_eq!(queues(&m, "U"), vec![("b1".to_owned(), 2, 6)]);
    assert_eq!(m.broker_live_info(CLUSTER, MASTER).unwrap().last_update_timestamp, 30_000);
    // New version: re-read.
    m.register_broker(reg("b1", 0, MASTER, wrapper(2, &[("T", 8), ("U", 2)])), 60_000);
    assert_eq!(queues(&m, "T"), vec![("b1".to_owned(), 8, 6)]);
    assert_eq!(queues(&m, "U"), vec![("b1".to_owned(), 2, 6)]);
    assert_eq!(m.query_broker_topic_config(CLUSTER, MASTER).map(|v| v.counter), Some(2));
}

#[test]
fn a_topic_lost_meanwhile_comes_back_with_the_next_heartbeat() {
    let mut m = RouteInfoManager::default();
    m.register_broker(reg("b1", 0, MASTER, wrapper(1, &[("T", 4)])), 0);
    m.delete_topic("T", None);
    assert!(m.pickup_topic_route_data("T").is_none());
    m.register_broker(reg("b1", 0, MASTER, wrapper(1, &[("T", 4)])), 30_000);
    assert_eq!(queues(&m, "T"), vec![("b1".to_owned(), 4, 6)]);
}

#[test]
fn slave_registration_does_not_feed_topics_and_learns_its_master() {
    let mut m = RouteInfoManager::default();
    let r = m.register_broker(reg("b1", 1, SLAVE, wrapper(1, &[("S", 4)])), 0);
    assert_eq!(r, RegisterBrokerResult::default(), "no master yet");
    assert!(m.pickup_topic_route_data("S").is_none(), "slave topics never feed routes");
    m.register_broker(reg("b1", 0, MASTER, wrapper(1, &[("T", 4)])), 0);
    let r = m.register_broker(reg("b1", 1, SLAVE, wrapper(2, &[("S", 4)])), 1);
    assert_eq!(r.master_addr.as_deref(), Some(MASTER));
    assert_eq!(r.ha_server_addr.as_deref(), Some("10.0.0.1:10912"));
    assert!(m.pickup_topic_route_data("S").is_none());
    let route = m.pickup_topic_route_data("T").unwrap();
    let addrs: Vec<(i64, &str)> =
        route.broker_datas[0].broker_addrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(addrs, vec![(0, MASTER), (1, SLAVE)]);
}

#[test]
fn unregister_removes_brokers_then_topics_then_clusters() {
    let mut m = RouteInfoManager::default();
    m.register_broker(reg("b1", 0, MASTER, wrapper(1, &[("T", 4)])), 0);
    m.register_broker(reg("b1", 1, SLAVE, wrapper(1, &[])), 0);
    let unreg = |id: i64, addr: &str| BrokerUnregistration {
        cluster_name: CLUSTER.to_owned(),
        broker_addr: addr.to_owned(),
        broker_name: "b1".to_owned(),
        broker_id: id,
    };
    m.unregister_broker(&unreg(0, MASTER));
    // The group still has its slave, so the topic keeps its (master-less) route.
    let route = m.pickup_topic_route_data("T").unwrap();
    assert_eq!(route.broker_datas[0].master_addr(), None);
    assert!(m.broker_live_info(CLUSTER, MASTER).is_none());
    m.unregister_broker(&unreg(1, SLAVE));
    assert!(m.pickup_topic_route_data("T").is_none(), "topic vanishes with its last broker");
    assert!(m.get_all_topic_list().topic_list.is_empty());
    let info = m.get_all_cluster_info();
    assert!(info.broker_addr_table.is_empty() && info.cluster_addr_table.is_empty());
    assert_eq!(m.live_broker_count(), 0);
    // Unregistering what is not there changes nothing.
    m.unregister_broker(&unreg(0, MASTER));
}

#[test]
fn expiry_follows_each_brokers_timeout_with_injected_time() {
    let mut m = RouteInfoManager::default();
    let mut master = reg("b1", 0, MASTER, wrapper(1, &[("T", 4)]));
    master.channel_id = Some(7);
    m.register_broker(master, 1_000);
    let mut other = reg("b2", 0, "10.0.0.3:10911", wrapper(1, &[("T", 2), ("V", 1)]));
    other.heartbeat_timeout_millis = Some(10_000);
    m.register_broker(other, 1_000);

    assert!(m.scan_not_active_broker(11_000).is_empty(), "b2's 10 s not yet past");
    let gone = m.scan_not_active_broker(11_001);
    assert_eq!(gone, vec![(BrokerAddrInfo::new(CLUSTER, "10.0.0.3:10911"), None)]);
    assert!(m.pickup_topic_route_data("V").is_none());
    assert_eq!(queues(&m, "T"), vec![("b1".to_owned(), 4, 6)]);

    assert!(m.scan_not_active_broker(121_000).is_empty(), "the default 120 s not yet past");
    let gone = m.scan_not_active_broker(121_001);
    assert_eq!(gone, vec![(BrokerAddrInfo::new(CLUSTER, MASTER), Some(7))]);
    assert!(m.pickup_topic_route_data("T").is_none());
    assert!(m.get_all_cluster_info().cluster_addr_table.is_empty());
}

#[test]
fn keep_alive_postpones_expiry_only_for_known_brokers() {
    let mut m = RouteInfoManager::default();
    m.register_broker(reg("b1", 0, MASTER, wrapper(1, &[("T", 4)])), 0);
    assert!(m.update_broker_info_update_timestamp(CLUSTER, MASTER, None, 100_000));
    assert!(!m.update_broker_info_update_timestamp(CLUSTER, SLAVE, None, 100_000));
    assert!(m.scan_not_active_broker(200_000).is_empty());
    assert_eq!(m.scan_not_active_broker(220_001).len(), 1);
}

#[test]
fn a_closed_channel_removes_its_broker_at_once() {
    let mut m = RouteInfoManager::default();
    let mut master = reg("b1", 0, MASTER, wrapper(1, &[("T", 4)]));
    master.channel_id = Some(3);
    m.register_broker(master, 0);
    let mut slave = reg("b1", 1, SLAVE, wrapper(1, &[]));
    slave.channel_id = Some(3);
    m.register_broker(slave, 0);
    let mut other = reg("b2", 0, "10.0.0.3:10911", wrapper(1, &[("U", 1)]));
    other.channel_id = Some(4);
    m.register_broker(other, 0);
    assert_eq!(m.on_channel_destroy(5), vec![]);
    // Both brokers that shared connection 3 go; the one on connection 4 stays.
    assert_eq!(
        m.on_channel_destroy(3),
        vec![BrokerAddrInfo::new(CLUSTER, MASTER), BrokerAddrInfo::new(CLUSTER, SLAVE)]
    );
    assert!(m.pickup_topic_route_data("T").is_none());
    assert!(m.pickup_topic_route_data("U").is_some());
    assert_eq!(m.live_broker_count(), 1);
}

#[test]
fn a_reconnected_broker_survives_the_close_of_its_old_channel() {
    let mut m = RouteInfoManager::default();
    let mut first = reg("b1", 0, MASTER, wrapper(1, &[("T", 4)]));
    first.channel_id = Some(1);
    m.register_broker(first.clone(), 0);
    first.channel_id = Some(2);
    m.register_broker(first, 10);
    assert_eq!(m.on_channel_destroy(1), vec![]);
    assert!(m.pickup_topic_route_data("T").is_some());
}

#[test]
fn a_promoted_slave_replaces_its_old_id() {
    let mut m = RouteInfoManager::default();
    m.register_broker(reg("b1", 1, SLAVE, wrapper(1, &[("T", 4)])), 0);
    m.register_broker(reg("b1", 0, SLAVE, wrapper(2, &[("T", 4)])), 1);
    let route = m.pickup_topic_route_data("T").unwrap();
    let addrs: Vec<i64> = route.broker_datas[0].broker_addrs.keys().copied().collect();
    assert_eq!(addrs, vec![0]);
}

#[test]
fn a_stale_master_with_an_older_state_version_is_refused() {
    let mut m = RouteInfoManager::default();
    let mut current = wrapper(1, &[("T", 4)]);
    current.data_version.state_version = 5;
    m.register_broker(reg("b1", 0, SLAVE, current), 0);
    let r = m.register_broker(reg("b1", 0, MASTER, wrapper(9, &[("T", 8)])), 1);
    assert_eq!(r, RegisterBrokerResult::default());
    assert!(m.broker_live_info(CLUSTER, MASTER).is_none());
    let route = m.pickup_topic_route_data("T").unwrap();
    assert_eq!(route.broker_datas[0].master_addr(), Some(SLAVE));
    assert_eq!(queues(&m, "T"), vec![("b1".to_owned(), 4, 6)]);
}

#[test]
fn topic_lists_by_cluster_and_system_topics() {
    let mut m = RouteInfoManager::default();
    m.register_broker(reg("b1", 0, MASTER, wrapper(1, &[("T", 4)])), 0);
    let mut other = reg("b2", 0, "10.0.0.3:10911", wrapper(1, &[("U", 4)]));
    other.cluster_name = "C2".to_owned();
    m.register_broker(other, 0);
    let list = |l: TopicList| l.topic_list.into_iter().collect::<Vec<_>>();
    assert_eq!(list(m.get_topics_by_cluster(CLUSTER)), vec!["T"]);
    assert_eq!(list(m.get_topics_by_cluster("C2")), vec!["U"]);
    assert!(m.get_topics_by_cluster("none").topic_list.is_empty());
    let system = m.get_system_topic_list();
    assert_eq!(list(system.clone()), vec!["C2", CLUSTER, "b1", "b2"]);
    assert_eq!(system.broker_addr.as_deref(), Some(MASTER));
    m.delete_topic("T", Some("C2"));
    assert!(m.pickup_topic_route_data("T").is_some(), "C2 serves no T");
    m.delete_topic("T", Some(CLUSTER));
    assert!(m.pickup_topic_route_data("T").is_none());
}

#[test]
fn write_permission_can_be_wiped_and_restored() {
    let mut m = RouteInfoManager::default();
    m.register_broker(reg("b1", 0, MASTER, wrapper(1, &[("T", 4), ("U", 1)])), 0);
    assert_eq!(m.operate_write_perm_of_broker("b1", true), 2);
    assert_eq!(queues(&m, "T"), vec![("b1".to_owned(), 4, perm::READ)]);
    assert_eq!(m.operate_write_perm_of_broker("b1", false), 2);
    assert_eq!(queues(&m, "T"), vec![("b1".to_owned(), 4, perm::READ | perm::WRITE)]);
    assert_eq!(m.operate_write_perm_of_broker("nope", true), 0);
}

#[test]
fn register_topic_only_for_known_brokers() {
    let mut m = RouteInfoManager::default();
    m.register_broker(reg("b1", 0, MASTER, wrapper(1, &[])), 0);
    let q = |name: &str| QueueData {
        broker_name: name.to_owned(),
        perm: 6,
        read_queue_nums: 2,
        topic_sys_flag: 0,
        write_queue_nums: 2,
    };
    m.register_topic("N", &[q("b1"), q("ghost")]);
    assert_eq!(queues(&m, "N"), vec![("b1".to_owned(), 2, 6)]);
}

#[test]
fn acting_master_shows_the_lowest_slave_read_only() {
    let mut m = RouteInfoManager::new(RouteInfoOptions {
        support_acting_master: true,
        ..RouteInfoOptions::default()
    });
    let acting = |mut r: BrokerRegistration| {
        r.enable_acting_master = Some(true);
        r
    };
    m.register_broker(acting(reg("b1", 0, MASTER, wrapper(1, &[("T", 4)]))), 0);
    m.register_broker(acting(reg("b1", 1, SLAVE, wrapper(1, &[("T", 4)]))), 0);
    m.unregister_broker(&BrokerUnregistration {
        cluster_name: CLUSTER.to_owned(),
        broker_addr: MASTER.to_owned(),
        broker_name: "b1".to_owned(),
        broker_id: 0,
    });
    let route = m.pickup_topic_route_data("T").unwrap();
    assert_eq!(route.queue_datas[0].perm, perm::READ);
    assert_eq!(route.broker_datas[0].master_addr(), Some(SLAVE));
    // The stored table is untouched: only the answer shows the acting master.
    assert!(!m.get_all_cluster_info().broker_addr_table["b1"].broker_addrs.contains_key(&0));
}

#[test]
fn registration_can_drop_topics_the_broker_no_longer_has() {
    let options =
        RouteInfoOptions { delete_topic_with_broker_registration: true, ..Default::default() };
    let mut m = RouteInfoManager::new(options);
    m.register_broker(reg("b1", 0, MASTER, wrapper(1, &[("T", 4), ("U", 4)])), 0);
    m.register_broker(reg("b1", 0, MASTER, wrapper(2, &[("T", 4)])), 1);
    assert!(m.pickup_topic_route_data("U").is_none());
    // Without the switch, the topic stays.
    let mut m = RouteInfoManager::default();
    m.register_broker(reg("b1", 0, MASTER, wrapper(1, &[("T", 4), ("U", 4)])), 0);
    m.register_broker(reg("b1", 0, MASTER, wrapper(2, &[("T", 4)])), 1);
    assert!(m.pickup_topic_route_data("U").is_some());
}

#[test]
fn route_json_legacy_and_standard_forms_are_byte_exact_and_compact() {
    let mut m = RouteInfoManager::default();
    m.register_broker(reg("b1", 0, MASTER, wrapper(1, &[("T", 4)])), 0);
    m.register_broker(reg("b1", 1, SLAVE, wrapper(1, &[])), 0);
    let route = m.pickup_topic_route_data("T").unwrap();
    let legacy = String::from_utf8(to_legacy_json(&route).unwrap()).unwrap();
    assert_eq!(
        legacy,
        concat!(
            r#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"#,
            r#""brokerName":"b1","cluster":"DefaultCluster","enableActingMaster":false}],"#,
            r#""filterServerTable":{},"queueDatas":[{"brokerName":"b1","perm":6,"#,
            r#""readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
        )
    );
    let standard = String::from_utf8(route.encode_with(JsonStyle::Standard).unwrap()).unwrap();
    assert_eq!(standard, legacy.replace("{0:", "{\"0\":").replace(",1:", ",\"1\":"));
    assert!(!legacy.contains(' ') && !standard.contains(' '), "compact");
    // Both read back.
    assert_eq!(TopicRouteData::decode(legacy.as_bytes()).unwrap(), route);
    assert_eq!(TopicRouteData::decode(standard.as_bytes()).unwrap(), route);
}

#[test]
fn cluster_info_legacy_form_unquotes_only_broker_ids() {
    let mut m = RouteInfoManager::default();
    m.register_broker(reg("0", 0, MASTER, wrapper(1, &[])), 0);
    let json = String::from_utf8(to_legacy_json(&m.get_all_cluster_info()).unwrap()).unwrap();
    assert_eq!(
        json,
        concat!(
            r#"{"brokerAddrTable":{"0":{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"0","#,
            r#""cluster":"DefaultCluster","enableActingMaster":false}},"#,
            r#""clusterAddrTable":{"DefaultCluster":["0"]}}"#
        )
    );
}
