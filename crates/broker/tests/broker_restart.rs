//! Everything a broker persists survives a graceful restart on the same FsDisk: topics,
//! subscription groups, consumer offsets and messages.

mod common;

use common::*;
use protocol::header::{QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader};
use protocol::{RemotingCommand, RequestCode};

#[tokio::test]
async fn persistence_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let b = TestBroker::start(dir.path(), broker_config()).await;
    for i in 0..5 {
        assert_eq!(b.invoke(send_v2("Durable", 0, Some("T"), &format!("d{i}"))).await.code, 0);
    }
    assert_eq!(b.invoke(heartbeat("ip@c", "DG", vec![subscription("Durable", "*")])).await.code, 0);
    let u = UpdateConsumerOffsetRequestHeader {
        consumer_group: "DG".into(),
        topic: "Durable".into(),
        queue_id: 0,
        commit_offset: 3,
        broker_name: None,
    };
    assert_eq!(
        b.invoke(RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET, &u)).await.code,
        0
    );
    b.shutdown().await;

    for f in ["topics.json", "subscriptionGroup.json", "consumerOffset.json"] {
        assert!(dir.path().join("config").join(f).exists(), "{f} missing");
    }

    let b = TestBroker::start(dir.path(), broker_config()).await;
    let c = b.handle.controller();
    assert_eq!(c.topic_config_manager.select("Durable").unwrap().write_queue_nums, 4);
    assert!(c.topic_config_manager.select("%RETRY%DG").is_some());
    assert!(c.subscription_group_manager.get("DG").is_some());
    let q = QueryConsumerOffsetRequestHeader {
        consumer_group: "DG".into(),
        topic: "Durable".into(),
        queue_id: 0,
        set_zero_if_not_found: None,
        broker_name: None,
    };
    let r = b.invoke(RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET, &q)).await;
    assert_eq!(ext_i64(&r, "offset"), 3);
    let r = b.invoke(pull("DG", "Durable", 0, 3, "*", 0, 0)).await;
    assert_eq!(r.code, 0, "{r:?}");
    let bodies: Vec<Vec<u8>> = decode_body(&r).iter().map(|m| m.body.to_vec()).collect();
    assert_eq!(bodies, vec![b"d3".to_vec(), b"d4".to_vec()]);
    // New sends continue the queue.
    let r = b.invoke(send_v2("Durable", 0, None, "d5")).await;
    assert_eq!(r.ext_fields.get("queueOffset"), Some("5"));
    b.shutdown().await;
}
