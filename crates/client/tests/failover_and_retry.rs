//! Sends that fail over to another broker when one goes away, and consumption failures that
//! come back through the group's retry topic.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use client::{
    ConsumeConcurrentlyStatus, ConsumeFromWhere, Message, Producer, ProducerOptions, PushConsumer,
    SendStatus,
};
use common::*;

/// UNIQ_KEY -> (topic, reconsume times) of each delivery.
type Deliveries = BTreeMap<String, Vec<(String, i32)>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_retry_on_the_other_broker_when_one_goes_away() {
    let mut cluster = Cluster::start(2).await;
    cluster.create_topic("Failover", 4).await;
    let options = ProducerOptions { send_latency_fault_enable: true, ..Default::default() };
    let producer = Producer::with_options("PG-failover", cluster.config(), options);
    producer.start().await.unwrap();
    let mut brokers = std::collections::BTreeSet::new();
    for i in 0..16 {
        let r = producer.send(Message::new("Failover", format!("before-{i}"))).await.unwrap();
        brokers.insert(r.message_queue.broker_name);
    }
    assert_eq!(brokers.len(), 2, "round robin covers both brokers");

    // broker-0 stops; the producer's cached route still names it.
    let gone = cluster.brokers[0].handle.take().unwrap();
    gone.shutdown().await.unwrap();
    for i in 0..16 {
        let r = producer.send(Message::new("Failover", format!("after-{i}"))).await.unwrap();
        assert_eq!(r.send_status, SendStatus::SendOk);
        assert_eq!(r.message_queue.broker_name, "broker-1");
    }
    producer.shutdown().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconsume_later_comes_back_through_the_retry_topic() {
    let cluster = Cluster::start(1).await;
    cluster.create_topic("RetryMe", 2).await;
    let producer = Producer::new("PG-retry", cluster.config());
    producer.start().await.unwrap();
    let mut sent = Vec::new();
    for i in 0..3 {
        let m = Message::new("RetryMe", format!("m{i}")).with_tags("T");
        sent.push(producer.send(m).await.unwrap().msg_id);
    }

    // Every message fails once, then succeeds.
    let deliveries: Arc<Mutex<Deliveries>> = Arc::default();
    let log = deliveries.clone();
    let consumer = PushConsumer::new("CG-retry", cluster.config());
    consumer.set_consume_from_where(ConsumeFromWhere::FirstOffset);
    consumer.subscribe("RetryMe", "*").unwrap();
    consumer.register_message_listener_concurrently(move |msgs, _| {
        let mut log = log.lock().unwrap();
        let mut status = ConsumeConcurrentlyStatus::ConsumeSuccess;
        for m in msgs {
            let seen = log.entry(m.uniq_key().unwrap().to_owned()).or_default();
            seen.push((m.topic.clone(), m.reconsume_times));
            if seen.len() == 1 {
                status = ConsumeConcurrentlyStatus::ReconsumeLater;
            }
        }
        status
    });
    consumer.start().await.unwrap();
    wait_until("every message delivered twice", || async {
        let log = deliveries.lock().unwrap();
        sent.iter().all(|id| log.get(id).is_some_and(|d| d.len() >= 2))
    })
    .await;
    let log = deliveries.lock().unwrap().clone();
    for id in &sent {
        let d = &log[id];
        assert_eq!(d[0], ("RetryMe".to_owned(), 0));
        // The retry copy is shown under its original topic.
        assert_eq!(d[1], ("RetryMe".to_owned(), 1));
    }
    consumer.shutdown().await;
    producer.shutdown().await;
    cluster.shutdown().await;
}
