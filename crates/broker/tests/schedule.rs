//! Delay-level messages and the consumer send-back's back-off, through a real broker: held in
//! `SCHEDULE_TOPIC_XXXX` until their level's delay has passed, then delivered to their real
//! topic intact, across a restart, with `config/delayOffset.json` and GET_ALL_DELAY_OFFSET
//! telling how far each level got. Delay levels are shortened through `messageDelayLevel`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use broker::schedule::DelayOffsetSerializeWrapper;
use broker::{BrokerController, BrokerHandle};
use bytes::Bytes;
use common::*;
use protocol::body::fastjson;
use protocol::header::ConsumerSendMsgBackRequestHeader;
use protocol::message::properties::encode_properties;
use protocol::message::{decode_offset_msg_id, MessageExt};
use protocol::{RemotingCommand, RequestCode, ResponseCode};
use remoting::{ClientConfig, RemotingClient};
use store::MessageStoreConfig;

const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

async fn start(dir: &Path, levels: &str) -> TestBroker {
    let store = MessageStoreConfig { message_delay_level: levels.into(), ..store_config() };
    let handle: BrokerHandle =
        BrokerController::start(broker_config(), store, disk(dir)).await.unwrap();
    let addr = format!("127.0.0.1:{}", handle.addr().unwrap().port());
    let vip = format!("127.0.0.1:{}", handle.vip_addr().unwrap().port());
    TestBroker { handle, addr, vip, client: RemotingClient::new(ClientConfig::default()) }
}

/// A V2 send of `body` to `topic`/`queue_id` with DELAY=`level`, KEYS and UNIQ_KEY.
fn send_delayed(topic: &str, queue_id: i32, level: &str, body: &str) -> RemotingCommand {
    let uniq = format!("UNIQ-{body}");
    let key = format!("key-{body}");
    let properties = encode_properties([
        ("WAIT", "true"),
        ("DELAY", level),
        ("TAGS", "TagA"),
        ("KEYS", key.as_str()),
        ("UNIQ_KEY", uniq.as_str()),
    ])
    .unwrap();
    let h = send_header(topic, queue_id, properties);
    let mut req = RemotingCommand::new_request(RequestCode::SEND_MESSAGE_V2);
    h.to_ext_v2(&mut req.ext_fields);
    req.with_body(Bytes::copy_from_slice(body.as_bytes()))
}

async fn pull_all(b: &TestBroker, topic: &str, queue_id: i32) -> Vec<MessageExt> {
    let store = &b.handle.controller().store;
    store.wait_dispatched(store.max_phy_offset()).await;
    decode_body(&b.invoke(pull("G", topic, queue_id, 0, "*", 0, 0)).await)
}

/// Polls until `topic`/`queue_id` holds `n` messages.
async fn wait_for(b: &TestBroker, topic: &str, queue_id: i32, n: usize) -> Vec<MessageExt> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let msgs = pull_all(b, topic, queue_id).await;
        if msgs.len() >= n {
            return msgs;
        }
        assert!(Instant::now() < deadline, "{topic}/{queue_id} holds {} of {n}", msgs.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_intact(m: &MessageExt, body: &str) {
    assert_eq!(&m.body[..], body.as_bytes());
    assert_eq!(m.property("UNIQ_KEY"), Some(format!("UNIQ-{body}").as_str()));
    assert_eq!(m.property("KEYS"), Some(format!("key-{body}").as_str()));
    assert_eq!(m.tags(), Some("TagA"));
    assert_eq!(m.property("DELAY"), None, "delivered copies are not delayed again");
    assert_eq!(m.reconsume_times, 0);
}

fn delay_offsets(resp: &RemotingCommand) -> DelayOffsetSerializeWrapper {
    assert_eq!(resp.code, ResponseCode::SUCCESS, "{resp:?}");
    fastjson::parse(&resp.body.clone().unwrap_or_default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_message_is_held_until_its_level_is_due() {
    let dir = tempfile::tempdir().unwrap();
    let b = start(dir.path(), "1s 2s").await;
    let sent_at = Instant::now();
    let r = b.invoke(send_delayed("DelayT", 1, "2", "m1")).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    // The producer is told the queue it chose, as RocketMQ answers.
    assert_eq!(ext_i64(&r, "queueId"), 1);
    let (_, scheduled_at) = decode_offset_msg_id(r.ext_fields.get("msgId").unwrap()).unwrap();

    // Held in the schedule topic's queue for level 2, with where it is going.
    let held = pull_all(&b, SCHEDULE_TOPIC, 1).await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].commit_log_offset, scheduled_at);
    assert_eq!(held[0].property("REAL_TOPIC"), Some("DelayT"));
    assert_eq!(held[0].property("REAL_QID"), Some("1"));
    assert!(pull_all(&b, "DelayT", 1).await.is_empty());
    tokio::time::sleep(Duration::from_millis(1_000).saturating_sub(sent_at.elapsed())).await;
    assert!(pull_all(&b, "DelayT", 1).await.is_empty(), "delivered a second early");

    let got = wait_for(&b, "DelayT", 1, 1).await;
    assert!(sent_at.elapsed() >= Duration::from_secs(2), "{:?}", sent_at.elapsed());
    assert_eq!(got.len(), 1);
    assert_intact(&got[0], "m1");
    assert!(got[0].store_timestamp >= held[0].store_timestamp + 2_000);

    // A level beyond the highest is capped to it; a non-number is no delay.
    let r = b.invoke(send_delayed("DelayT", 0, "99", "m2")).await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    let r = b.invoke(send_delayed("DelayT", 2, "soon", "m3")).await;
    assert_eq!(r.code, ResponseCode::SUCCESS);
    assert_eq!(pull_all(&b, "DelayT", 2).await.len(), 1);
    assert_eq!(pull_all(&b, SCHEDULE_TOPIC, 1).await.len(), 2);
    wait_for(&b, "DelayT", 0, 1).await;

    let offsets = delay_offsets(&b.invoke(RemotingCommand::new_request(45)).await);
    assert_eq!(offsets.offset_table.get(&2), Some(&2));
    assert_eq!(offsets.offset_table.get(&1).copied().unwrap_or(0), 0);

    // Clients may not write to the schedule topic themselves.
    let r = b.invoke(send_v2(SCHEDULE_TOPIC, 0, None, "sneaky")).await;
    assert_eq!(r.code, ResponseCode::NO_PERMISSION, "{r:?}");
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let b = start(dir.path(), "1s 3s").await;
    assert_eq!(b.invoke(send_delayed("RestartT", 0, "1", "early")).await.code, 0);
    assert_eq!(b.invoke(send_delayed("RestartT", 0, "2", "late")).await.code, 0);
    let got = wait_for(&b, "RestartT", 0, 1).await;
    assert_intact(&got[0], "early");
    b.shutdown().await;

    // Both levels' progress is on disk in RocketMQ's shape.
    let file = std::fs::read(dir.path().join("config/delayOffset.json")).unwrap();
    let saved: DelayOffsetSerializeWrapper = fastjson::parse(&file).unwrap();
    assert_eq!(saved.offset_table.get(&1), Some(&1));
    assert_eq!(saved.offset_table.get(&2), Some(&0));

    let b = start(dir.path(), "1s 3s").await;
    let got = wait_for(&b, "RestartT", 0, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got_later = pull_all(&b, "RestartT", 0).await;
    assert_eq!(got_later.len(), 2, "nothing delivered twice after a graceful restart");
    assert_intact(&got[0], "early");
    assert_intact(&got[1], "late");
    b.shutdown().await;
}

fn send_back(offset: i64, group: &str, delay_level: i32) -> RemotingCommand {
    let h = ConsumerSendMsgBackRequestHeader {
        offset,
        group: group.into(),
        delay_level,
        origin_msg_id: None,
        origin_topic: Some("BackT".into()),
        unit_mode: Some(false),
        max_reconsume_times: Some(16),
        broker_name: None,
    };
    RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK, &h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconsume_later_backs_off_through_the_schedule_topic() {
    let dir = tempfile::tempdir().unwrap();
    // Level 3 (= 3 + reconsumeTimes 0, the default back-off) is 2 s here.
    let b = start(dir.path(), "1s 1s 2s").await;
    let r = b.invoke(send_v2("BackT", 0, Some("T"), "payload")).await;
    let (_, offset) = decode_offset_msg_id(r.ext_fields.get("msgId").unwrap()).unwrap();

    let sent_back_at = Instant::now();
    let r = b.invoke(send_back(offset, "BG", 0)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    let held = pull_all(&b, SCHEDULE_TOPIC, 2).await;
    assert_eq!(held.len(), 1, "retry copy waits in level 3");
    assert_eq!(held[0].property("REAL_TOPIC"), Some("%RETRY%BG"));
    assert!(pull_all(&b, "%RETRY%BG", 0).await.is_empty());

    let got = wait_for(&b, "%RETRY%BG", 0, 1).await;
    assert!(sent_back_at.elapsed() >= Duration::from_secs(2), "{:?}", sent_back_at.elapsed());
    let retry = &got[0];
    assert_eq!(&retry.body[..], b"payload");
    assert_eq!(retry.reconsume_times, 1);
    assert_eq!(retry.property("RETRY_TOPIC"), Some("BackT"));
    assert!(retry.property("ORIGIN_MESSAGE_ID").is_some());
    assert_eq!(retry.property("DELAY"), None);

    // An explicit delayLevel wins over the back-off.
    let r = b.invoke(send_back(retry.commit_log_offset, "BG", 1)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert_eq!(pull_all(&b, SCHEDULE_TOPIC, 0).await.len(), 1);
    let got = wait_for(&b, "%RETRY%BG", 0, 2).await;
    assert_eq!(got[1].reconsume_times, 2);

    // delayLevel < 0 is a dead letter at once, not delayed.
    let r = b.invoke(send_back(retry.commit_log_offset, "BG", -1)).await;
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    let dlq = pull_all(&b, "%DLQ%BG", 0).await;
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].property("DELAY"), None);
    b.shutdown().await;
}

#[tokio::test]
async fn bad_delay_levels_refuse_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStoreConfig { message_delay_level: "1s 2parsecs".into(), ..store_config() };
    let err = BrokerController::start(broker_config(), store, disk(dir.path())).await.unwrap_err();
    assert!(err.to_string().contains("messageDelayLevel"), "{err}");
}
