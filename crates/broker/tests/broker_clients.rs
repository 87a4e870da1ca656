//! Heartbeats and the client registries: retry topics, subscriptions used by pulls without the
//! SUBSCRIPTION flag, consumer lists and NOTIFY_CONSUMER_IDS_CHANGED on membership changes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use protocol::body::{ConsumerListByGroupResponseBody, JsonBody};
use protocol::header::{GetConsumerListByGroupRequestHeader, UnregisterClientRequestHeader};
use protocol::{RemotingCommand, RequestCode, ResponseCode};
use remoting::{Channel, ClientConfig, ProcessFuture, RemotingClient, RequestProcessor};
use tokio::sync::mpsc;

/// Records the requests a broker sends to a client.
struct Recorder(mpsc::UnboundedSender<RemotingCommand>);

impl RequestProcessor for Recorder {
    fn process(&self, _channel: &Channel, request: RemotingCommand) -> ProcessFuture {
        let _ = self.0.send(request);
        Box::pin(async { None })
    }
}

fn recording_client() -> (RemotingClient, mpsc::UnboundedReceiver<RemotingCommand>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = RemotingClient::new(ClientConfig::default());
    client.set_request_processor(Arc::new(Recorder(tx)));
    (client, rx)
}

async fn consumer_ids(b: &TestBroker, group: &str) -> RemotingCommand {
    let h = GetConsumerListByGroupRequestHeader { consumer_group: group.into() };
    b.invoke(RemotingCommand::request(RequestCode::GET_CONSUMER_LIST_BY_GROUP, &h)).await
}

async fn expect_notify(rx: &mut mpsc::UnboundedReceiver<RemotingCommand>, group: &str) {
    let req = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap().unwrap();
    assert_eq!(req.code, RequestCode::NOTIFY_CONSUMER_IDS_CHANGED);
    assert!(req.is_oneway());
    assert_eq!(req.ext_fields.get("consumerGroup"), Some(group));
}

#[tokio::test]
async fn heartbeat_registers_and_notifies() {
    let dir = tempfile::tempdir().unwrap();
    let b = TestBroker::start(dir.path(), broker_config()).await;
    let (c1, mut rx1) = recording_client();
    let (c2, mut rx2) = recording_client();

    // No consumer yet.
    assert_eq!(consumer_ids(&b, "CG").await.code, ResponseCode::SYSTEM_ERROR);

    let subs = vec![subscription("TopicH", "TagA"), subscription("%RETRY%CG", "*")];
    let r =
        c1.invoke(&b.addr, heartbeat("10.0.0.1@c1", "CG", subs.clone()), TIMEOUT).await.unwrap();
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert_eq!(r.ext_fields.get("IS_SUPPORT_HEART_BEAT_V2"), Some("true"));
    assert!(r.ext_fields.get("IS_SUB_CHANGE").is_some());
    assert_eq!(r.version, protocol::code::version::CURRENT);
    expect_notify(&mut rx1, "CG").await;

    // The retry topic exists with one read/write queue; the group was auto-created.
    let c = b.handle.controller();
    let retry = c.topic_config_manager.select("%RETRY%CG").unwrap();
    assert_eq!((retry.read_queue_nums, retry.write_queue_nums, retry.perm), (1, 1, 6));
    assert!(c.subscription_group_manager.get("CG").is_some());

    // A second consumer joins: both are told.
    let r =
        c2.invoke(&b.addr, heartbeat("10.0.0.2@c2", "CG", subs.clone()), TIMEOUT).await.unwrap();
    assert_eq!(r.code, 0);
    expect_notify(&mut rx1, "CG").await;
    expect_notify(&mut rx2, "CG").await;
    let r = consumer_ids(&b, "CG").await;
    assert_eq!(r.code, 0, "{r:?}");
    let ids = ConsumerListByGroupResponseBody::decode(r.body_bytes()).unwrap().consumer_id_list;
    assert_eq!(ids, vec!["10.0.0.1@c1".to_owned(), "10.0.0.2@c2".to_owned()]);

    // A repeated heartbeat with nothing new does not notify.
    c1.invoke(&b.addr, heartbeat("10.0.0.1@c1", "CG", subs.clone()), TIMEOUT).await.unwrap();

    // c2 unregisters: c1 is told, c2 is gone from the list.
    let u = UnregisterClientRequestHeader {
        client_id: "10.0.0.2@c2".into(),
        producer_group: Some("PG".into()),
        consumer_group: Some("CG".into()),
    };
    let r = c2
        .invoke(&b.addr, RemotingCommand::request(RequestCode::UNREGISTER_CLIENT, &u), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(r.code, 0);
    expect_notify(&mut rx1, "CG").await;
    let ids = ConsumerListByGroupResponseBody::decode(consumer_ids(&b, "CG").await.body_bytes())
        .unwrap()
        .consumer_id_list;
    assert_eq!(ids, vec!["10.0.0.1@c1".to_owned()]);

    // c2 comes back, then its connection closes: c1 is told again.
    c2.invoke(&b.addr, heartbeat("10.0.0.2@c2", "CG", subs), TIMEOUT).await.unwrap();
    expect_notify(&mut rx1, "CG").await;
    c2.close_all();
    expect_notify(&mut rx1, "CG").await;
    assert!(rx1.try_recv().is_err(), "exactly one notification per change");
    b.shutdown().await;
}

#[tokio::test]
async fn pull_uses_heartbeat_subscription() {
    let dir = tempfile::tempdir().unwrap();
    let b = TestBroker::start(dir.path(), broker_config()).await;
    for (tag, body) in [("TagA", "a"), ("TagB", "b")] {
        assert_eq!(b.invoke(send_v2("TopicS", 0, Some(tag), body)).await.code, 0);
    }
    let store = &b.handle.controller().store;
    store.wait_dispatched(store.max_phy_offset()).await;
    let r = b.invoke(heartbeat("ip@c", "SG", vec![subscription("TopicS", "TagB")])).await;
    assert_eq!(r.code, 0);
    // No SUBSCRIPTION flag: the registered "TagB" filters.
    let h = pull_header("SG", "TopicS", 0, 0);
    let r = b.invoke(RemotingCommand::request(RequestCode::PULL_MESSAGE, &h)).await;
    assert_eq!(r.code, 0, "{r:?}");
    let msgs = decode_body(&r);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].tags(), Some("TagB"));
    // A topic the group did not subscribe: 24.
    let h = pull_header("SG", "%RETRY%SG", 0, 0);
    let r = b.invoke(RemotingCommand::request(RequestCode::PULL_MESSAGE, &h)).await;
    assert_eq!(r.code, ResponseCode::SUBSCRIPTION_NOT_EXIST, "{r:?}");
    b.shutdown().await;
}

#[tokio::test]
async fn heartbeat_v2_without_sub_keeps_subscriptions() {
    use protocol::body::HeartbeatData;
    let dir = tempfile::tempdir().unwrap();
    let b = TestBroker::start(dir.path(), broker_config()).await;
    let v2 = |fingerprint: i32, without_sub: bool| {
        let full = heartbeat("ip@v2", "VG", vec![subscription("TopicV", "*")]);
        let mut data = HeartbeatData::decode(full.body_bytes()).unwrap();
        data.heartbeat_fingerprint = fingerprint;
        data.without_sub = without_sub;
        if without_sub {
            data.consumer_data_set[0].subscription_data_set.clear();
        }
        RemotingCommand::new_request(RequestCode::HEART_BEAT).with_body(data.encode().unwrap())
    };
    // A withoutSub heartbeat to a broker that knows nothing: send everything again.
    let r = b.invoke(v2(5, true)).await;
    assert_eq!(r.ext_fields.get("IS_SUB_CHANGE"), Some("true"), "{r:?}");
    let r = b.invoke(v2(5, false)).await;
    assert_eq!(r.ext_fields.get("IS_SUB_CHANGE"), Some("false"), "{r:?}");
    let r = b.invoke(v2(5, true)).await;
    assert_eq!(r.ext_fields.get("IS_SUB_CHANGE"), Some("false"), "{r:?}");
    let sub = b.handle.controller().consumer_manager.find_subscription_data("VG", "TopicV");
    assert!(sub.is_some(), "withoutSub must keep the registered subscription");
    let r = b.invoke(v2(6, true)).await;
    assert_eq!(r.ext_fields.get("IS_SUB_CHANGE"), Some("true"), "{r:?}");
    b.shutdown().await;
}
