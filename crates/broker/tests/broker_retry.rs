//! Consumer send-back to the retry and dead-letter topics, the retry-topic send path, and
//! orderly consumers' queue locks.

mod common;

use std::collections::BTreeSet;

use common::*;
use protocol::body::{JsonBody, LockBatchRequestBody, LockBatchResponseBody, MessageQueue};
use protocol::header::ConsumerSendMsgBackRequestHeader;
use protocol::message::decode_offset_msg_id;
use protocol::{RemotingCommand, RequestCode, ResponseCode};

fn send_back(offset: i64, group: &str, max: Option<i32>) -> RemotingCommand {
    let h = ConsumerSendMsgBackRequestHeader {
        offset,
        group: group.into(),
        delay_level: 0,
        origin_msg_id: None,
        origin_topic: Some("RT".into()),
        unit_mode: Some(false),
        max_reconsume_times: max,
        broker_name: None,
    };
    RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK, &h)
}

#[tokio::test]
async fn send_back_goes_to_retry_then_dlq() {
    let dir = tempfile::tempdir().unwrap();
    let b = TestBroker::start(dir.path(), broker_config()).await;
    let r = b.invoke(send_v2("RT", 0, Some("T"), "payload")).await;
    let (_, offset) = decode_offset_msg_id(r.ext_fields.get("msgId").unwrap()).unwrap();
    let store = &b.handle.controller().store;

    let r = b.invoke(send_back(offset, "RG", Some(1))).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    store.wait_dispatched(store.max_phy_offset()).await;
    // The retry copy waits out its back-off (level 3, 10 s) in the schedule topic's queue 2
    // before it reaches %RETRY%RG; tests/schedule.rs follows it there.
    let r = b.invoke(pull("RG", "SCHEDULE_TOPIC_XXXX", 2, 0, "*", 0, 0)).await;
    assert_eq!(r.code, 0, "{r:?}");
    let retried = decode_body(&r).remove(0);
    assert_eq!(retried.property("REAL_TOPIC"), Some("%RETRY%RG"));
    assert_eq!(&retried.body[..], b"payload");
    assert_eq!(retried.reconsume_times, 1);
    assert_eq!(retried.property("RETRY_TOPIC"), Some("RT"));
    assert!(retried.property("ORIGIN_MESSAGE_ID").is_some());

    // Retried once already and the limit is 1: dead letter.
    let r = b.invoke(send_back(retried.commit_log_offset, "RG", Some(1))).await;
    assert_eq!(r.code, 0, "{r:?}");
    store.wait_dispatched(store.max_phy_offset()).await;
    let dlq = b.handle.controller().topic_config_manager.select("%DLQ%RG").unwrap();
    assert_eq!(dlq.write_queue_nums, 1);
    let r = b.invoke(pull("RG", "%DLQ%RG", 0, 0, "*", 0, 0)).await;
    assert_eq!(decode_body(&r)[0].reconsume_times, 2);

    // A bad offset.
    let r = b.invoke(send_back(1 << 40, "RG", None)).await;
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR);

    // The client's fallback: a plain send to the retry topic past the limit lands in the DLQ.
    let mut h = send_header("%RETRY%RG", 0, props(None, None));
    h.reconsume_times = Some(17);
    let r = b
        .invoke(RemotingCommand::request(RequestCode::SEND_MESSAGE, &h).with_body(&b"late"[..]))
        .await;
    assert_eq!(r.code, 0, "{r:?}");
    store.wait_dispatched(store.max_phy_offset()).await;
    let r = b.invoke(pull("RG", "%DLQ%RG", 0, 1, "*", 0, 0)).await;
    assert_eq!(&decode_body(&r)[0].body[..], b"late");
    b.shutdown().await;
}

#[tokio::test]
async fn lock_batch_mq() {
    let dir = tempfile::tempdir().unwrap();
    let b = TestBroker::start(dir.path(), broker_config()).await;
    let mqs: BTreeSet<MessageQueue> = (0..2)
        .map(|q| MessageQueue { broker_name: "broker-a".into(), queue_id: q, topic: "O".into() })
        .collect();
    let lock = |client: &str| {
        let body = LockBatchRequestBody {
            client_id: client.into(),
            consumer_group: "OG".into(),
            mq_set: mqs.clone(),
            only_this_broker: false,
        };
        RemotingCommand::new_request(RequestCode::LOCK_BATCH_MQ).with_body(body.encode().unwrap())
    };
    let r = b.invoke(lock("c1")).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(LockBatchResponseBody::decode(r.body_bytes()).unwrap().lock_ok_mq_set, mqs);
    let r = b.invoke(lock("c2")).await;
    assert!(LockBatchResponseBody::decode(r.body_bytes()).unwrap().lock_ok_mq_set.is_empty());
    b.shutdown().await;
}
