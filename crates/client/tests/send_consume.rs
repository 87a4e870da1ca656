//! Sends of every kind, then push consumption of exactly what was sent.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use client::{
    ConsumeConcurrentlyStatus, ConsumeFromWhere, Message, MessageExt, Producer, PushConsumer,
    SendStatus,
};
use common::*;

type Received = Arc<Mutex<Vec<MessageExt>>>;

fn collecting_consumer(config: client::ClientConfig, group: &str) -> (PushConsumer, Received) {
    let consumer = PushConsumer::new(group, config);
    consumer.set_consume_from_where(ConsumeFromWhere::FirstOffset);
    let got: Received = Arc::default();
    let sink = got.clone();
    consumer.register_message_listener_concurrently(move |msgs, _ctx| {
        sink.lock().unwrap().extend(msgs.iter().cloned());
        ConsumeConcurrentlyStatus::ConsumeSuccess
    });
    (consumer, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_send_kind_is_consumed_exactly_as_sent() {
    let cluster = Cluster::start(1).await;
    let producer = Producer::new("PG", cluster.config());
    producer.start().await.unwrap();

    // The topic is unknown: the first send goes by TBW102's route and auto-creates it.
    let topic = "SendKinds";
    let mut sent: BTreeMap<String, Message> = BTreeMap::new();
    for i in 0..10 {
        let m = Message::new(topic, format!("sync-{i}"))
            .with_tags(if i % 2 == 0 { "TagA" } else { "TagB" })
            .with_keys([format!("key-{i}"), "common".into()])
            .with_property("seq", i.to_string())
            .with_flag(i);
        let r = producer.send(m.clone()).await.unwrap();
        assert_eq!(r.send_status, SendStatus::SendOk);
        assert_eq!(r.message_queue.topic, topic);
        assert_eq!(r.offset_msg_id.len(), 32);
        sent.insert(r.msg_id.clone(), m);
    }
    // A large body is compressed on the wire and arrives inflated.
    let big = Message::new(topic, vec![b'z'; 10_000]).with_tags("Big");
    sent.insert(producer.send(big.clone()).await.unwrap().msg_id, big);

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..5 {
        let m = Message::new(topic, format!("async-{i}")).with_tags("Async");
        let tx = tx.clone();
        let mm = m.clone();
        producer.send_with_callback(m, move |r| {
            let _ = tx.send((r.unwrap().msg_id, mm));
        });
    }
    for _ in 0..5 {
        let (id, m) = rx.recv().await.unwrap();
        sent.insert(id, m);
    }

    let batch: Vec<Message> =
        (0..4).map(|i| Message::new(topic, format!("batch-{i}")).with_tags("Batch")).collect();
    let r = producer.send_batch(batch.clone()).await.unwrap();
    let ids: Vec<&str> = r.msg_id.split(',').collect();
    assert_eq!(ids.len(), 4);
    for (id, m) in ids.iter().zip(batch) {
        sent.insert((*id).to_owned(), m);
    }

    let oneway = Message::new(topic, "oneway").with_tags("Oneway").with_key("ow");
    producer.send_oneway(oneway.clone()).await.unwrap();

    let (consumer, got) = collecting_consumer(cluster.config(), "CG-kinds");
    consumer.subscribe(topic, "*").unwrap();
    consumer.start().await.unwrap();
    let expected = sent.len() + 1;
    wait_until("everything consumed", || async { got.lock().unwrap().len() >= expected }).await;
    // Nothing more arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), expected);

    let mut oneway_seen = false;
    for m in &got {
        let id = m.uniq_key().unwrap();
        let Some(want) = sent.get(id) else {
            assert_eq!(&m.body[..], b"oneway");
            assert_eq!(m.tags(), Some("Oneway"));
            assert_eq!(m.keys(), Some("ow"));
            oneway_seen = true;
            continue;
        };
        assert_eq!(m.topic, topic);
        assert_eq!(m.body, want.body, "{id}");
        assert_eq!(m.flag, want.flag);
        assert_eq!(m.tags(), want.tags());
        assert_eq!(m.keys(), want.keys());
        assert_eq!(m.property("seq"), want.property("seq"));
    }
    assert!(oneway_seen);

    consumer.shutdown().await;
    producer.shutdown().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_subscription_filters_and_v1_sends_work() {
    let cluster = Cluster::start(1).await;
    cluster.create_topic("Tagged", 4).await;
    let options = client::ProducerOptions { send_message_v1: true, ..Default::default() };
    let producer = Producer::with_options("PG1", cluster.config(), options);
    producer.start().await.unwrap();
    for i in 0..12 {
        let tag = ["TagA", "TagB", "TagC"][i % 3];
        producer.send(Message::new("Tagged", format!("m{i}")).with_tags(tag)).await.unwrap();
    }
    let (consumer, got) = collecting_consumer(cluster.config(), "CG-tags");
    consumer.subscribe("Tagged", "TagA || TagC").unwrap();
    consumer.start().await.unwrap();
    wait_until("tagged consumed", || async { got.lock().unwrap().len() >= 8 }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 8);
    assert!(got.iter().all(|m| matches!(m.tags(), Some("TagA") | Some("TagC"))));
    consumer.shutdown().await;
    producer.shutdown().await;
    cluster.shutdown().await;
}
