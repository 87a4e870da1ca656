//! The shipped `conf/broker.conf` parses cleanly: every key known, every value valid.
#![cfg(not(madsim))]

use broker::broker_config_loader;
use remoting::Properties;

#[test]
fn shipped_broker_conf_is_clean() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../conf/broker.conf");
    let text = std::fs::read_to_string(path).unwrap();
    let props = Properties::parse(&text, "conf/broker.conf").unwrap();
    let loaded = broker_config_loader::load(&props).unwrap();
    assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
    assert!(loaded.ignored_keys.is_empty(), "{:?}", loaded.ignored_keys);
    let b = &loaded.broker;
    assert_eq!(
        (b.broker_cluster_name.as_str(), b.broker_name.as_str(), b.broker_id, b.listen_port),
        ("DefaultCluster", "broker-a", 0, 10911)
    );
    assert_eq!(b.namesrv_addr, vec!["127.0.0.1:9876".to_owned()]);
    assert!(b.auto_create_topic_enable);
    assert_eq!(loaded.store.file_reserved_time, 48);
    assert_eq!(loaded.store.delete_when, "04");
}
