//! Send and pull over real loopback TCP: the three send codes, pull statuses, long polling, tag
//! filtering with a hash collision, offsets, unknown codes and malformed headers.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use protocol::header::{
    GetMaxOffsetRequestHeader, QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use protocol::message::sysflag::pull::{COMMIT_OFFSET, SUSPEND};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

#[tokio::test]
async fn send_all_codes_then_pull() {
    let dir = tempfile::tempdir().unwrap();
    let b = TestBroker::start(dir.path(), broker_config()).await;

    // V2 single send auto-creates the topic from TBW102 (min(4, 8) = 4 queues).
    let r = b.invoke(send_v2("TopicA", 0, Some("TagA"), "m0")).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert_eq!(r.ext_fields.get("queueId"), Some("0"));
    assert_eq!(r.ext_fields.get("queueOffset"), Some("0"));
    assert_eq!(r.ext_fields.get("MSG_REGION"), Some("DefaultRegion"));
    assert_eq!(r.ext_fields.get("TRACE_ON"), Some("true"));
    let msg_id = r.ext_fields.get("msgId").unwrap().to_owned();
    let (host, phy) = protocol::message::decode_offset_msg_id(&msg_id).unwrap();
    assert_eq!(host.port(), b.handle.addr().unwrap().port());
    let topic = b.handle.controller().topic_config_manager.select("TopicA").unwrap();
    assert_eq!(topic.write_queue_nums, 4);

    // V1 single send.
    let r = b.invoke(send_v1("TopicA", 0, props(Some("TagB"), Some("k1")), "m1")).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert_eq!(r.ext_fields.get("queueOffset"), Some("1"));

    // Batch via the header flag on code 310 (the C++ client's way).
    let mut h = send_header("TopicA", 0, props(None, None));
    h.batch = Some(true);
    let mut req = RemotingCommand::new_request(RequestCode::SEND_MESSAGE_V2);
    h.to_ext_v2(&mut req.ext_fields);
    let r = b.invoke(req.with_body(batch_body(&["b0", "b1"]))).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert_eq!(r.ext_fields.get("queueOffset"), Some("2"));
    assert_eq!(r.ext_fields.get("msgId").unwrap().split(',').count(), 2);

    // Batch via code 320 without the flag (the Go client's way).
    let h = send_header("TopicA", 0, props(None, None));
    let mut req = RemotingCommand::new_request(RequestCode::SEND_BATCH_MESSAGE);
    h.to_ext_v2(&mut req.ext_fields);
    let r = b.invoke(req.with_body(batch_body(&["b2", "b3", "b4"]))).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert_eq!(r.ext_fields.get("queueOffset"), Some("4"));

    b.handle.controller().store.wait_dispatched(b.handle.controller().store.max_phy_offset()).await;
    let r = b.invoke(pull("G", "TopicA", 0, 0, "*", 0, 0)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert_eq!(ext_i64(&r, "nextBeginOffset"), 7);
    assert_eq!(ext_i64(&r, "minOffset"), 0);
    assert_eq!(ext_i64(&r, "maxOffset"), 7);
    assert_eq!(ext_i64(&r, "suggestWhichBrokerId"), 0);
    let msgs = decode_body(&r);
    let bodies: Vec<&[u8]> = msgs.iter().map(|m| m.body.as_ref()).collect();
    assert_eq!(bodies, vec![&b"m0"[..], b"m1", b"b0", b"b1", b"b2", b"b3", b"b4"]);
    assert_eq!(msgs[0].commit_log_offset, phy);
    assert!(msgs.iter().all(|m| m.uniq_key().is_some()), "broker sets UNIQ_KEY");
    assert_eq!(msgs[0].property("CLUSTER"), Some("DefaultCluster"));
    assert_eq!(msgs[0].born_host.ip().to_string(), "127.0.0.1");

    // Queue id beyond the topic's queues, a bad topic name, a system topic.
    let r = b.invoke(send_v2("TopicA", 4, None, "x")).await;
    assert_eq!(r.code, ResponseCode::INVALID_PARAMETER, "{r:?}");
    let r = b.invoke(send_v2("bad topic", 0, None, "x")).await;
    assert_eq!(r.code, ResponseCode::INVALID_PARAMETER, "{r:?}");
    assert!(r.remark.is_some());
    let r = b.invoke(send_v2("SCHEDULE_TOPIC_XXXX", 0, None, "x")).await;
    assert_eq!(r.code, ResponseCode::NO_PERMISSION, "{r:?}");
    // A negative queue id picks one.
    let r = b.invoke(send_v2("TopicA", -1, None, "x")).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    let q: i32 = r.ext_fields.get("queueId").unwrap().parse().unwrap();
    assert!((0..4).contains(&q));
    b.shutdown().await;
}

#[tokio::test]
async fn pull_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let b = TestBroker::start(dir.path(), broker_config()).await;
    for i in 0..3 {
        assert_eq!(b.invoke(send_v2("T", 1, None, &format!("m{i}"))).await.code, 0);
    }
    b.handle.controller().store.wait_dispatched(b.handle.controller().store.max_phy_offset()).await;
    // No new message at the end of the queue.
    let r = b.invoke(pull("G", "T", 1, 3, "*", 0, 0)).await;
    assert_eq!(r.code, ResponseCode::PULL_NOT_FOUND, "{r:?}");
    assert_eq!(ext_i64(&r, "nextBeginOffset"), 3);
    assert_eq!(ext_i64(&r, "maxOffset"), 3);
    // Far beyond the end: offset moved, next = max.
    let r = b.invoke(pull("G", "T", 1, 10, "*", 0, 0)).await;
    assert_eq!(r.code, ResponseCode::PULL_OFFSET_MOVED, "{r:?}");
    assert_eq!(ext_i64(&r, "nextBeginOffset"), 3);
    // An empty queue: 19 at offset 0, 21 elsewhere.
    let r = b.invoke(pull("G", "T", 2, 0, "*", 0, 0)).await;
    assert_eq!(r.code, ResponseCode::PULL_NOT_FOUND, "{r:?}");
    let r = b.invoke(pull("G", "T", 2, 5, "*", 0, 0)).await;
    assert_eq!(r.code, ResponseCode::PULL_OFFSET_MOVED, "{r:?}");
    assert_eq!(ext_i64(&r, "nextBeginOffset"), 0);
    // Unknown topic.
    let r = b.invoke(pull("G", "Nope", 0, 0, "*", 0, 0)).await;
    assert_eq!(r.code, ResponseCode::TOPIC_NOT_EXIST, "{r:?}");
    // Without the SUBSCRIPTION flag and no heartbeat: 24.
    let h = pull_header("G", "T", 1, 0);
    let r = b.invoke(RemotingCommand::request(RequestCode::PULL_MESSAGE, &h)).await;
    assert_eq!(r.code, ResponseCode::SUBSCRIPTION_NOT_EXIST, "{r:?}");
    b.shutdown().await;
}

#[tokio::test]
async fn long_poll_woken_by_send_and_expiring() {
    let dir = tempfile::tempdir().unwrap();
    let b = TestBroker::start(dir.path(), broker_config()).await;
    assert_eq!(b.invoke(send_v2("LP", 0, None, "first")).await.code, 0);
    b.handle.controller().store.wait_dispatched(b.handle.controller().store.max_phy_offset()).await;

    // Woken: a pull at the end with SUSPEND waits; a send arrives within the suspend time.
    let client = b.client.clone();
    let addr = b.addr.clone();
    let started = Instant::now();
    let parked = tokio::spawn(async move {
        client.invoke(&addr, pull("G", "LP", 0, 1, "*", SUSPEND, 8000), TIMEOUT).await.unwrap()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(b.handle.controller().pull_request_hold_service.held(), 1);
    assert_eq!(b.invoke(send_v2("LP", 0, None, "second")).await.code, 0);
    let r = parked.await.unwrap();
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "woken late: {:?}", started.elapsed());
    let msgs = decode_body(&r);
    assert_eq!(msgs.len(), 1);
    assert_eq!(&msgs[0].body[..], b"second");
    assert_eq!(b.handle.controller().pull_request_hold_service.held(), 0);

    // Expiring: nothing arrives; the answer is 19 after about the suspend time.
    let started = Instant::now();
    let r = b.invoke(pull("G", "LP", 0, 2, "*", SUSPEND, 1000)).await;
    assert_eq!(r.code, ResponseCode::PULL_NOT_FOUND, "{r:?}");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "answered early: {waited:?}");
    assert!(waited < Duration::from_secs(4), "answered late: {waited:?}");
    b.shutdown().await;
}

#[tokio::test]
async fn tag_filter_drops_hash_collisions() {
    // "Aa" and "BB" have the same Java hash code (2112).
    assert_eq!(
        protocol::message::java_string_hash("Aa"),
        protocol::message::java_string_hash("BB")
    );
    let dir = tempfile::tempdir().unwrap();
    let b = TestBroker::start(dir.path(), broker_config()).await;
    for (tag, body) in [("Aa", "a1"), ("BB", "b1"), ("Other", "o1"), ("Aa", "a2")] {
        assert_eq!(b.invoke(send_v2("TF", 0, Some(tag), body)).await.code, 0);
    }
    b.handle.controller().store.wait_dispatched(b.handle.controller().store.max_phy_offset()).await;
    let r = b.invoke(pull("G", "TF", 0, 0, "Aa", 0, 0)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    let bodies: Vec<Vec<u8>> = decode_body(&r).iter().map(|m| m.body.to_vec()).collect();
    assert_eq!(bodies, vec![b"a1".to_vec(), b"a2".to_vec()]);
    assert_eq!(ext_i64(&r, "nextBeginOffset"), 4);
    // Only a collision left: retry immediately, past it.
    let r = b.invoke(pull("G", "TF", 0, 1, "BB || Zz", 0, 0)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert_eq!(decode_body(&r).len(), 1);
    let r = b.invoke(pull("G", "TF", 0, 2, "Other", 0, 0)).await;
    assert_eq!(r.code, 0);
    let r = b.invoke(pull("G", "TF", 0, 3, "BB", 0, 0)).await;
    assert_eq!(r.code, ResponseCode::PULL_RETRY_IMMEDIATELY, "{r:?}");
    assert_eq!(ext_i64(&r, "nextBeginOffset"), 4);
    b.shutdown().await;
}

#[tokio::test]
async fn offsets_commit_and_query() {
    let dir = tempfile::tempdir().unwrap();
    let b = TestBroker::start(dir.path(), broker_config()).await;
    assert_eq!(b.invoke(send_v2("OT", 0, None, "x")).await.code, 0);
    b.handle.controller().store.wait_dispatched(b.handle.controller().store.max_phy_offset()).await;
    let q = QueryConsumerOffsetRequestHeader {
        consumer_group: "G".into(),
        topic: "OT".into(),
        queue_id: 0,
        set_zero_if_not_found: None,
        broker_name: None,
    };
    // Nothing stored and the queue starts at 0 with its first message present: 0.
    let r = b.invoke(RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET, &q)).await;
    assert_eq!((r.code, ext_i64(&r, "offset")), (0, 0), "{r:?}");
    let r = b
        .invoke(RemotingCommand::request(
            RequestCode::QUERY_CONSUMER_OFFSET,
            &QueryConsumerOffsetRequestHeader { set_zero_if_not_found: Some(false), ..q.clone() },
        ))
        .await;
    assert_eq!(r.code, ResponseCode::QUERY_NOT_FOUND, "{r:?}");
    let u = UpdateConsumerOffsetRequestHeader {
        consumer_group: "G".into(),
        topic: "OT".into(),
        queue_id: 0,
        commit_offset: 1,
        broker_name: None,
    };
    // Over the VIP port, as vipChannelEnabled clients do.
    let r = b
        .client
        .invoke(&b.vip, RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET, &u), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(r.code, 0, "{r:?}");
    let r = b.invoke(RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET, &q)).await;
    assert_eq!(ext_i64(&r, "offset"), 1);
    // A pull with COMMIT_OFFSET stores the consumer's offset.
    let mut p = pull("G", "OT", 0, 1, "*", COMMIT_OFFSET, 0);
    p.ext_fields.insert("commitOffset", "1");
    let _ = b.invoke(p).await;
    let m = GetMaxOffsetRequestHeader {
        topic: "OT".into(),
        queue_id: 0,
        committed: None,
        broker_name: None,
    };
    let r = b.invoke(RemotingCommand::request(RequestCode::GET_MAX_OFFSET, &m)).await;
    assert_eq!(ext_i64(&r, "offset"), 1);
    b.shutdown().await;
}

#[tokio::test]
async fn unknown_code_and_malformed_header() {
    let dir = tempfile::tempdir().unwrap();
    let b = TestBroker::start(dir.path(), broker_config()).await;
    let r = b.invoke(RemotingCommand::new_request(9999)).await;
    assert_eq!(r.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED, "{r:?}");
    // A send without its topic.
    let mut req = RemotingCommand::new_request(RequestCode::SEND_MESSAGE_V2);
    req.ext_fields.insert("a", "PG");
    let r = b.invoke(req.with_body(Bytes::from_static(b"x"))).await;
    assert_ne!(r.code, ResponseCode::SUCCESS);
    assert!(r.remark.as_deref().unwrap_or_default().contains('b'), "{r:?}");
    // A pull whose queueOffset is not a number.
    let mut p = pull("G", "T", 0, 0, "*", 0, 0);
    p.ext_fields.insert("queueOffset", "zero");
    let r = b.invoke(p).await;
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR, "{r:?}");
    assert!(r.remark.as_deref().unwrap_or_default().contains("queueOffset"), "{r:?}");
    // A heartbeat whose body is not JSON.
    let hb = RemotingCommand::new_request(RequestCode::HEART_BEAT).with_body(&b"{nope"[..]);
    let r = b.invoke(hb).await;
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR, "{r:?}");
    // The broker still serves afterwards.
    assert_eq!(b.invoke(send_v2("After", 0, None, "ok")).await.code, 0);
    b.shutdown().await;
}

#[tokio::test]
async fn held_pulls_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = broker::BrokerConfig { max_held_pull_requests: 1, ..broker_config() };
    let b = TestBroker::start(dir.path(), cfg).await;
    assert_eq!(b.invoke(send_v2("HB", 0, None, "x")).await.code, 0);
    b.handle.controller().store.wait_dispatched(b.handle.controller().store.max_phy_offset()).await;
    let client = b.client.clone();
    let addr = b.addr.clone();
    let parked = tokio::spawn(async move {
        client.invoke(&addr, pull("G", "HB", 0, 1, "*", SUSPEND, 1000), TIMEOUT).await.unwrap()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = b.invoke(pull("G", "HB", 0, 1, "*", SUSPEND, 1000)).await;
    assert_eq!(r.code, ResponseCode::SYSTEM_BUSY, "{r:?}");
    assert_eq!(parked.await.unwrap().code, ResponseCode::PULL_NOT_FOUND);
    b.shutdown().await;
}
