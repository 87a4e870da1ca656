//! Ordered sends, a group of two push consumers sharing a topic, and a consumer restart that
//! resumes from the committed offset.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use client::{
    ConsumeConcurrentlyStatus, ConsumeFromWhere, Message, MessageExt, MessageQueue, Producer,
    PushConsumer, PushConsumerOptions,
};
use common::*;

type Received = Arc<Mutex<Vec<MessageExt>>>;

fn consumer(
    cluster: &Cluster,
    group: &str,
    topic: &str,
    threads: usize,
) -> (PushConsumer, Received) {
    let options = PushConsumerOptions {
        consume_from_where: ConsumeFromWhere::FirstOffset,
        consume_thread_max: threads,
        ..Default::default()
    };
    let c = PushConsumer::with_options(group, cluster.config(), options);
    c.subscribe(topic, "*").unwrap();
    let got: Received = Arc::default();
    let sink = got.clone();
    c.register_message_listener_concurrently(move |msgs, _| {
        sink.lock().unwrap().extend(msgs.iter().cloned());
        ConsumeConcurrentlyStatus::ConsumeSuccess
    });
    (c, got)
}

fn topic_queues(c: &PushConsumer, topic: &str) -> BTreeSet<MessageQueue> {
    c.assignment().into_iter().filter(|mq| mq.topic == topic).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_sends_by_key_land_in_one_queue_in_order() {
    let cluster = Cluster::start(1).await;
    cluster.create_topic("Ordered", 8).await;
    let producer = Producer::new("PG-order", cluster.config());
    producer.start().await.unwrap();
    let mut by_key: BTreeMap<String, Vec<(MessageQueue, i64)>> = BTreeMap::new();
    for i in 0..30 {
        let key = format!("order-{}", i % 3);
        let m = Message::new("Ordered", format!("{key}:{i}"));
        let r = producer.send_orderly(m, &key).await.unwrap();
        by_key.entry(key).or_default().push((r.message_queue, r.queue_offset));
    }
    for (key, sends) in &by_key {
        let queue = &sends[0].0;
        assert!(sends.iter().all(|(q, _)| q == queue), "{key} spread over queues");
        assert!(sends.windows(2).all(|w| w[0].1 < w[1].1), "{key} out of order");
    }

    // Consumed, each key's messages lie in one queue in send order. (A concurrent listener
    // may see them out of order; the queue order is what an orderly consumer relies on.)
    let (c, got) = consumer(&cluster, "CG-order", "Ordered", 4);
    c.start().await.unwrap();
    wait_until("ordered consumed", || async { got.lock().unwrap().len() >= 30 }).await;
    let mut got = got.lock().unwrap().clone();
    got.sort_by_key(|m| (m.queue_id, m.queue_offset));
    let mut seen: BTreeMap<String, Vec<(i32, usize)>> = BTreeMap::new();
    for m in &got {
        let body = String::from_utf8(m.body.to_vec()).unwrap();
        let (key, i) = body.split_once(':').unwrap();
        seen.entry(key.to_owned()).or_default().push((m.queue_id, i.parse().unwrap()));
    }
    for (key, seq) in seen {
        assert_eq!(seq.len(), 10);
        assert!(seq.iter().all(|(q, _)| *q == seq[0].0), "{key}");
        assert!(seq.windows(2).all(|w| w[0].1 < w[1].1), "{key}: {seq:?}");
    }
    c.shutdown().await;
    producer.shutdown().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_of_a_group_split_the_queues_and_consume_each_message_once() {
    let cluster = Cluster::start(1).await;
    cluster.create_topic("Shared", 8).await;
    let (a, got_a) = consumer(&cluster, "CG-shared", "Shared", 4);
    let (b, got_b) = consumer(&cluster, "CG-shared", "Shared", 4);
    a.start().await.unwrap();
    b.start().await.unwrap();
    wait_until("queues split 4/4", || async {
        let (qa, qb) = (topic_queues(&a, "Shared"), topic_queues(&b, "Shared"));
        qa.len() == 4 && qb.len() == 4 && qa.is_disjoint(&qb)
    })
    .await;

    let producer = Producer::new("PG-shared", cluster.config());
    producer.start().await.unwrap();
    let mut sent = BTreeSet::new();
    for i in 0..80 {
        sent.insert(producer.send(Message::new("Shared", format!("m{i}"))).await.unwrap().msg_id);
    }
    let total = || got_a.lock().unwrap().len() + got_b.lock().unwrap().len();
    wait_until("all consumed", || async { total() >= 80 }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(total(), 80);
    let (ga, gb) = (got_a.lock().unwrap().clone(), got_b.lock().unwrap().clone());
    assert!(!ga.is_empty() && !gb.is_empty());
    let ids: BTreeSet<String> =
        ga.iter().chain(&gb).map(|m| m.uniq_key().unwrap().to_owned()).collect();
    assert_eq!(ids, sent);
    // Each consumer only saw its own queues.
    let qa = topic_queues(&a, "Shared");
    assert!(ga.iter().all(|m| qa.iter().any(|q| q.queue_id == m.queue_id)));

    // When one leaves, the other takes every queue.
    a.shutdown().await;
    wait_until("b owns all", || async { topic_queues(&b, "Shared").len() == 8 }).await;
    b.shutdown().await;
    producer.shutdown().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_consumer_resumes_from_the_committed_offset() {
    let cluster = Cluster::start(1).await;
    cluster.create_topic("Resume", 4).await;
    let producer = Producer::new("PG-resume", cluster.config());
    producer.start().await.unwrap();
    for i in 0..20 {
        producer.send(Message::new("Resume", format!("first-{i}"))).await.unwrap();
    }
    let (c1, got1) = consumer(&cluster, "CG-resume", "Resume", 4);
    c1.start().await.unwrap();
    wait_until("first round", || async { got1.lock().unwrap().len() >= 20 }).await;
    // Shutdown writes the offsets to the broker.
    c1.shutdown().await;

    for i in 0..10 {
        producer.send(Message::new("Resume", format!("second-{i}"))).await.unwrap();
    }
    let (c2, got2) = consumer(&cluster, "CG-resume", "Resume", 4);
    c2.start().await.unwrap();
    wait_until("second round", || async { got2.lock().unwrap().len() >= 10 }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got2 = got2.lock().unwrap().clone();
    assert_eq!(got2.len(), 10);
    assert!(got2.iter().all(|m| m.body.starts_with(b"second-")));
    c2.shutdown().await;
    producer.shutdown().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasting_consumers_each_receive_everything() {
    let cluster = Cluster::start(1).await;
    cluster.create_topic("Broadcast", 4).await;
    let (a, got_a) = consumer(&cluster, "CG-bcast", "Broadcast", 4);
    a.set_message_model(client::MessageModel::Broadcasting);
    // The second one with an async listener.
    let b = PushConsumer::new("CG-bcast", cluster.config());
    b.set_message_model(client::MessageModel::Broadcasting);
    b.set_consume_from_where(ConsumeFromWhere::FirstOffset);
    b.subscribe("Broadcast", "*").unwrap();
    let got_b: Received = Arc::default();
    let sink = got_b.clone();
    b.register_message_listener_async(move |msgs, _| {
        let sink = sink.clone();
        async move {
            tokio::task::yield_now().await;
            sink.lock().unwrap().extend(msgs);
            ConsumeConcurrentlyStatus::ConsumeSuccess
        }
    });
    a.start().await.unwrap();
    b.start().await.unwrap();
    assert_eq!(topic_queues(&a, "Broadcast").len(), 4);
    assert_eq!(topic_queues(&b, "Broadcast").len(), 4);
    let producer = Producer::new("PG-bcast", cluster.config());
    producer.start().await.unwrap();
    for i in 0..12 {
        producer.send(Message::new("Broadcast", format!("m{i}"))).await.unwrap();
    }
    wait_until("both got everything", || async {
        got_a.lock().unwrap().len() >= 12 && got_b.lock().unwrap().len() >= 12
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(got_a.lock().unwrap().len(), 12);
    assert_eq!(got_b.lock().unwrap().len(), 12);
    a.shutdown().await;
    b.shutdown().await;
    producer.shutdown().await;
    cluster.shutdown().await;
}
