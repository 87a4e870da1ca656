//! A stock RocketMQ client, `rocketmq-client-rust` from crates.io, against the real `mqnamesrv`
//! and `mqbroker` processes: sync, async, oneway and batch sends; a concurrently-listening push
//! consumer with a tag subscription; a lite pull consumer. Every message must come back exactly
//! as it was sent: topic, body bytes, tags, keys, user properties and message id (UNIQ_KEY).
#![cfg(not(madsim))]

mod support;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocketmq_client_rust::{
    ClientRuntime, ClientRuntimeConfig, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus,
    DefaultLitePullConsumer, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer, SendStatus,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::common::message::MessageTrait;
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};
use support::Cluster;

const TOPIC: &str = "InteropTopic";
/// Every wait for the broker or the client is bounded by this; a healthy run needs seconds.
const WAIT: Duration = Duration::from_secs(60);
/// After everything expected has arrived, how long unexpected messages (a TagC, a duplicate)
/// are given to show up before the run is judged.
const SETTLE: Duration = Duration::from_secs(3);
/// The user property that names each message; `KEYS` carries the same name.
const NAME: &str = "interopName";

/// A message as the test built it, and the id the producer reported for it (none for oneway).
#[derive(Debug, Clone)]
struct Sent {
    name: String,
    tags: String,
    keys: String,
    body: Vec<u8>,
    user_properties: BTreeMap<String, String>,
    msg_id: Option<String>,
}

impl Sent {
    fn new(kind: &str, seq: usize) -> Sent {
        let name = format!("{kind}-{seq}");
        let tags = ["TagA", "TagB", "TagC"][seq % 3].to_owned();
        // Binary bytes, a zero and a non-UTF-8 byte among them: the body is opaque to the system.
        let mut body = format!("{kind} message {seq} ").into_bytes();
        body.extend_from_slice(&[0, 1, 0xfe, 0xff, seq as u8]);
        let user_properties = BTreeMap::from([
            (NAME.to_owned(), name.clone()),
            ("sendKind".to_owned(), kind.to_owned()),
            ("unicode".to_owned(), format!("héllo wörld {seq}")),
        ]);
        Sent {
            keys: format!("{name} order-{seq}"),
            name,
            tags,
            body,
            user_properties,
            msg_id: None,
        }
    }

    fn message(&self) -> Message {
        let mut builder = Message::builder()
            .topic(TOPIC)
            .tags(self.tags.as_str())
            .keys(self.keys.split(' ').map(str::to_owned).collect())
            .body_slice(&self.body);
        for (k, v) in &self.user_properties {
            builder = builder.raw_property(k.as_str(), v.as_str()).expect("a user property");
        }
        builder.build().expect("a valid message")
    }

    fn wanted_by_tag_subscription(&self) -> bool {
        self.tags == "TagA" || self.tags == "TagB"
    }
}

/// What a consumer saw of one message, copied out of the client's `MessageExt`.
#[derive(Debug, Clone)]
struct Received {
    topic: String,
    tags: Option<String>,
    keys: Option<String>,
    body: Vec<u8>,
    properties: HashMap<String, String>,
    uniq_key: Option<String>,
}

impl Received {
    fn from_ext(m: &MessageExt) -> Received {
        let properties: HashMap<String, String> = m
            .properties()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.as_str().to_owned()))
            .collect();
        Received {
            topic: m.topic().as_str().to_owned(),
            tags: m.tags().map(|t| t.as_str().to_owned()),
            keys: m.get_keys().map(|k| k.as_str().to_owned()),
            body: m.body().map(|b| b.to_vec()).unwrap_or_default(),
            uniq_key: properties.get("UNIQ_KEY").cloned(),
            properties,
        }
    }

    fn name(&self) -> Option<&str> {
        self.properties.get(NAME).map(String::as_str)
    }
}

/// Panics with every difference between what was sent and what a consumer received.
fn assert_same(consumer: &str, sent: &Sent, got: &Received) {
    let mut diffs = Vec::new();
    if got.topic != TOPIC {
        diffs.push(format!("topic {:?}, sent {TOPIC:?}", got.topic));
    }
    if got.body != sent.body {
        diffs.push(format!("body {:?}, sent {:?}", got.body, sent.body));
    }
    if got.tags.as_deref() != Some(sent.tags.as_str()) {
        diffs.push(format!("tags {:?}, sent {:?}", got.tags, sent.tags));
    }
    if got.keys.as_deref() != Some(sent.keys.as_str()) {
        diffs.push(format!("keys {:?}, sent {:?}", got.keys, sent.keys));
    }
    for (k, v) in &sent.user_properties {
        if got.properties.get(k) != Some(v) {
            diffs.push(format!("property {k} = {:?}, sent {v:?}", got.properties.get(k)));
        }
    }
    match (&sent.msg_id, &got.uniq_key) {
        (_, None) => diffs.push("no UNIQ_KEY".to_owned()),
        (Some(id), Some(key)) if id != key => {
            diffs.push(format!("UNIQ_KEY {key}, the producer reported msgId {id}"))
        }
        _ => {}
    }
    assert!(
        diffs.is_empty(),
        "{consumer}: message {} differs from what was sent: {diffs:#?}",
        sent.name
    );
}

/// Checks that `received` holds each of `expected` exactly once, as sent, and nothing else.
fn assert_received_exactly(consumer: &str, expected: &[&Sent], received: &[Received]) {
    let mut by_name: HashMap<&str, Vec<&Received>> = HashMap::new();
    for r in received {
        let name =
            r.name().unwrap_or_else(|| panic!("{consumer}: a message without {NAME}: {r:?}"));
        by_name.entry(name).or_default().push(r);
    }
    for sent in expected {
        match by_name.remove(sent.name.as_str()).as_deref() {
            Some([one]) => assert_same(consumer, sent, one),
            Some(many) => panic!("{consumer}: {} delivered {} times", sent.name, many.len()),
            None => panic!("{consumer}: {} ({}) never arrived", sent.name, sent.tags),
        }
    }
    let unexpected: Vec<&str> = by_name.keys().copied().collect();
    assert!(
        unexpected.is_empty(),
        "{consumer}: received messages it should not have: {unexpected:?}"
    );
}

/// Waits for `fut`, failing the test with `what` after [`WAIT`].
async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match real_tokio::time::timeout(WAIT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {WAIT:?}: {what}"),
    }
}

/// Polls `done` every 100 ms until it holds, failing the test with `what` after [`WAIT`].
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    bounded(what, async {
        while !done() {
            real_tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
}

#[test]
fn stock_client_sends_and_consumes_through_real_daemons() {
    let mut cluster = Cluster::start();
    let namesrv = cluster.namesrv_addr();

    // The client runs on a runtime it is handed (it never creates one of its own).
    let owner = RuntimeOwner::plan(RuntimeConfig::default())
        .expect("runtime config")
        .build()
        .expect("client runtime");
    let telemetry = rocketmq_observability::TelemetryRuntimeGuard::noop();
    let client_runtime = ClientRuntime::try_new(
        owner.root_context().component("interop"),
        ClientRuntimeConfig::default(),
        telemetry.handle(),
    )
    .expect("client runtime");

    owner.block_on(scenario(&namesrv, client_runtime.clone()));
    cluster.assert_alive();

    owner.block_on(async {
        let report = client_runtime.shutdown().await;
        assert!(report.is_healthy(), "client shutdown: {}", report.to_json());
        owner.shutdown_tasks().await;
    });
    owner.shutdown_background();
    drop(telemetry);
}

async fn scenario(namesrv: &str, runtime: Arc<ClientRuntime>) {
    let mut producer = DefaultMQProducer::builder(runtime.clone())
        .producer_group("InteropProducerGroup")
        .name_server_addr(namesrv)
        .build();
    bounded("producer start", producer.start()).await.expect("producer start");

    let mut sent: Vec<Sent> = Vec::new();

    // Sync sends come first: the first one creates the topic from TBW102, so the consumers
    // started next find its route at once.
    for seq in 0..6 {
        let mut s = Sent::new("sync", seq);
        let result = bounded("sync send", producer.send(s.message()))
            .await
            .unwrap_or_else(|e| panic!("sync send of {}: {e}", s.name))
            .unwrap_or_else(|| panic!("sync send of {} returned no result", s.name));
        assert_eq!(result.send_status, SendStatus::SendOk, "sync send of {}", s.name);
        let id = result.msg_id.unwrap_or_else(|| panic!("sync send of {}: no msgId", s.name));
        assert!(!id.is_empty(), "sync send of {}: empty msgId", s.name);
        assert!(result.message_queue.is_some(), "sync send of {}: no queue", s.name);
        s.msg_id = Some(id.to_string());
        sent.push(s);
    }

    // The push consumer listens while the rest is sent, so deliveries also go through the
    // broker's held (long-polling) pulls, not only through pulls of messages already stored.
    let push_received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let mut push = DefaultMQPushConsumer::builder(runtime.clone())
        .consumer_group("InteropPushGroup")
        .name_server_addr(namesrv)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    bounded("push subscribe", push.subscribe(TOPIC, "TagA || TagB")).await.expect("push subscribe");
    let sink = push_received.clone();
    push.register_message_listener_concurrently(
        move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
            let mut sink = sink.lock().expect("push sink");
            sink.extend(msgs.iter().map(|m| Received::from_ext(m)));
            Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
        },
    );
    bounded("push consumer start", push.start()).await.expect("push consumer start");

    // Async sends: the callback reports each result on a channel.
    let (tx, mut rx) = real_tokio::sync::mpsc::unbounded_channel();
    let async_sent: Vec<Sent> = (0..6).map(|seq| Sent::new("async", seq)).collect();
    for s in &async_sent {
        let tx = tx.clone();
        let name = s.name.clone();
        bounded(
            "async send",
            producer.send_with_callback(s.message(), move |result, error| {
                let outcome = match (result, error) {
                    (Some(r), _) => Ok((r.send_status, r.msg_id.as_ref().map(|m| m.to_string()))),
                    (None, Some(e)) => Err(e.to_string()),
                    (None, None) => Err("callback with neither result nor error".to_owned()),
                };
                let _ = tx.send((name.clone(), outcome));
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("async send of {}: {e}", s.name));
    }
    let mut async_ids = HashMap::new();
    for _ in 0..async_sent.len() {
        let (name, outcome) = bounded("async send callbacks", rx.recv()).await.expect("callback");
        let (status, id) = outcome.unwrap_or_else(|e| panic!("async send of {name} failed: {e}"));
        assert_eq!(status, SendStatus::SendOk, "async send of {name}");
        async_ids.insert(name.clone(), id.unwrap_or_else(|| panic!("async {name}: no msgId")));
    }
    for mut s in async_sent {
        s.msg_id = async_ids.remove(&s.name);
        sent.push(s);
    }

    // Oneway sends report nothing; their arrival is the only evidence.
    for seq in 0..3 {
        let s = Sent::new("oneway", seq);
        bounded("oneway send", producer.send_oneway(s.message()))
            .await
            .unwrap_or_else(|e| panic!("oneway send of {}: {e}", s.name));
        sent.push(s);
    }

    // A batch: one request, one SendResult whose msgId lists each message's id in order.
    let mut batch: Vec<Sent> = (0..6).map(|seq| Sent::new("batch", seq)).collect();
    let result =
        bounded("batch send", producer.send_batch(batch.iter().map(Sent::message).collect()))
            .await
            .expect("batch send");
    assert_eq!(result.send_status, SendStatus::SendOk, "batch send");
    let ids: Vec<String> = result
        .msg_id
        .as_ref()
        .expect("batch send: no msgId")
        .as_str()
        .split(',')
        .map(str::to_owned)
        .collect();
    assert_eq!(ids.len(), batch.len(), "batch msgId {ids:?} does not list one id per message");
    for (s, id) in batch.iter_mut().zip(ids) {
        s.msg_id = Some(id);
    }
    sent.extend(batch);

    let mut all_ids: Vec<&String> = sent.iter().filter_map(|s| s.msg_id.as_ref()).collect();
    all_ids.sort();
    all_ids.dedup();
    assert_eq!(all_ids.len(), sent.len() - 3, "msgIds are not unique");

    // Push consumer: every TagA and TagB message, no TagC.
    let wanted: Vec<&Sent> = sent.iter().filter(|s| s.wanted_by_tag_subscription()).collect();
    let push_count = || push_received.lock().expect("push sink").len();
    wait_until(&format!("push consumer to receive {} TagA/TagB messages", wanted.len()), || {
        push_count() >= wanted.len()
    })
    .await;
    real_tokio::time::sleep(SETTLE).await;
    let push_got = push_received.lock().expect("push sink").clone();
    assert_received_exactly("push consumer (TagA || TagB)", &wanted, &push_got);

    // Lite pull consumer, its own group: every message, TagC included.
    let pull = DefaultLitePullConsumer::builder(runtime.clone())
        .consumer_group("InteropPullGroup")
        .name_server_addr(namesrv)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build()
        .expect("lite pull consumer");
    bounded("pull subscribe", pull.subscribe_with_expression(TOPIC, "*"))
        .await
        .expect("pull subscribe");
    bounded("pull consumer start", pull.start()).await.expect("pull consumer start");
    let mut pull_got = Vec::new();
    bounded(&format!("lite pull consumer to receive {} messages", sent.len()), async {
        while pull_got.len() < sent.len() {
            pull_got.extend(pull.poll_with_timeout(1000).await.iter().map(Received::from_ext));
        }
    })
    .await;
    let extra = pull.poll_with_timeout(SETTLE.as_millis() as u64).await;
    pull_got.extend(extra.iter().map(Received::from_ext));
    let everything: Vec<&Sent> = sent.iter().collect();
    assert_received_exactly("lite pull consumer (*)", &everything, &pull_got);

    pull.shutdown().await;
    push.shutdown().await;
    producer.shutdown().await;
}
