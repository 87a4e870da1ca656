//! The lite pull consumer (assign, seek, commit; subscribe) and the admin API.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use client::{
    Admin, ConsumeConcurrentlyStatus, ConsumeFromWhere, LitePullConsumer, Message, MessageExt,
    Producer, PushConsumer,
};
use common::*;

async fn poll_n(c: &LitePullConsumer, n: usize) -> Vec<MessageExt> {
    let mut out = Vec::new();
    for _ in 0..200 {
        if out.len() >= n {
            break;
        }
        out.extend(c.poll(Duration::from_millis(100)).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lite_pull_assign_seek_commit_and_subscribe() {
    let cluster = Cluster::start(1).await;
    cluster.create_topic("Lite", 2).await;
    let producer = Producer::new("PG-lite", cluster.config());
    producer.start().await.unwrap();
    for i in 0..20 {
        producer.send(Message::new("Lite", format!("m{i}")).with_tags("T")).await.unwrap();
    }

    let assign = LitePullConsumer::new("LG-assign", cluster.config());
    assign.set_consume_from_where(ConsumeFromWhere::FirstOffset);
    assign.set_auto_commit(false);
    assign.start().await.unwrap();
    let mqs = assign.fetch_message_queues("Lite").await.unwrap();
    assert_eq!(mqs.len(), 2);
    assign.assign(mqs.clone()).await.unwrap();
    let got = poll_n(&assign, 20).await;
    assert_eq!(got.len(), 20);
    let ids: BTreeSet<_> = got.iter().map(|m| m.uniq_key().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 20);

    // Nothing committed yet; commit_sync writes what was polled.
    let mq = mqs[0].clone();
    // (A broker answers 0 for a group with no offset while the queue's start is in memory.)
    assert!(matches!(assign.committed(&mq).await.unwrap(), None | Some(0)));
    assign.commit_sync().await.unwrap();
    let in_q0 = got.iter().filter(|m| m.queue_id == mq.queue_id).count() as i64;
    assert_eq!(assign.committed(&mq).await.unwrap(), Some(in_q0));

    // Seek back to the start of one queue: its messages come again.
    assign.seek(&mq, 0).await.unwrap();
    let again = poll_n(&assign, in_q0 as usize).await;
    assert_eq!(again.len() as i64, in_q0);
    assert!(again.iter().all(|m| m.queue_id == mq.queue_id));
    assert_eq!(again[0].queue_offset, 0);
    assert!(assign.subscribe("Lite", "*").is_err());
    assign.shutdown().await;

    // Subscribe: the group's rebalance hands this consumer both queues.
    let sub = LitePullConsumer::new("LG-sub", cluster.config());
    sub.set_consume_from_where(ConsumeFromWhere::FirstOffset);
    sub.subscribe("Lite", "T").unwrap();
    sub.start().await.unwrap();
    let got = poll_n(&sub, 20).await;
    assert_eq!(got.len(), 20);
    sub.commit_sync().await.unwrap();
    let total: i64 = {
        let mut t = 0;
        for mq in &mqs {
            t += sub.committed(mq).await.unwrap().unwrap_or(0);
        }
        t
    };
    assert_eq!(total, 20);
    sub.shutdown().await;
    producer.shutdown().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_calls() {
    let cluster = Cluster::start(1).await;
    let admin = Admin::new(cluster.config());
    let info = admin.cluster_info().await.unwrap();
    assert!(info.cluster_addr_table[CLUSTER].contains("broker-0"));

    cluster.create_topic("AdminTopic", 3).await;
    assert!(admin.topic_list().await.unwrap().contains("AdminTopic"));
    let route = admin.topic_route("AdminTopic").await.unwrap();
    assert_eq!(route.queue_datas[0].write_queue_nums, 3);

    let producer = Producer::new("PG-admin", cluster.config());
    producer.start().await.unwrap();
    let mut results = Vec::new();
    for i in 0..9 {
        let m = Message::new("AdminTopic", format!("body-{i}")).with_key(format!("k{i}"));
        results.push(producer.send(m).await.unwrap());
    }

    // The consume queues are built from the CommitLog in the background.
    wait_until("stats show every message", || async {
        let stats = admin.topic_stats("AdminTopic").await.unwrap();
        stats.offset_table.values().map(|o| o.max_offset).sum::<i64>() == 9
    })
    .await;
    let stats = admin.topic_stats("AdminTopic").await.unwrap();
    assert_eq!(stats.offset_table.len(), 3);
    let mq = results[0].message_queue.clone();
    let max = admin.max_offset(&mq).await.unwrap();
    assert_eq!(max, stats.offset_table[&mq].max_offset);
    assert_eq!(admin.min_offset(&mq).await.unwrap(), 0);

    // By offsetMsgId, by key, by UNIQ_KEY.
    let viewed = admin.view_message(&results[4].offset_msg_id).await.unwrap();
    assert_eq!(&viewed.body[..], b"body-4");
    assert_eq!(viewed.uniq_key(), Some(results[4].msg_id.as_str()));
    let by_key = admin.query_message("AdminTopic", "k7", 32, 0, i64::MAX).await.unwrap();
    assert_eq!(by_key.len(), 1);
    assert_eq!(&by_key[0].body[..], b"body-7");
    let by_id = admin.query_message_by_unique_key("AdminTopic", &results[2].msg_id).await.unwrap();
    assert_eq!(&by_id[0].body[..], b"body-2");

    // Consumer progress and connections.
    let consumer = PushConsumer::new("CG-admin", cluster.config());
    consumer.set_consume_from_where(ConsumeFromWhere::FirstOffset);
    consumer.subscribe("AdminTopic", "*").unwrap();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c2 = count.clone();
    consumer.register_message_listener_concurrently(move |msgs, _| {
        c2.fetch_add(msgs.len(), std::sync::atomic::Ordering::SeqCst);
        ConsumeConcurrentlyStatus::ConsumeSuccess
    });
    consumer.start().await.unwrap();
    wait_until("consumed", || async { count.load(std::sync::atomic::Ordering::SeqCst) >= 9 }).await;
    let conn = admin.examine_consumer_connection("CG-admin").await.unwrap();
    assert_eq!(conn.connection_set.len(), 1);
    assert_eq!(conn.connection_set[0].client_id, consumer.client_id().unwrap());
    // Offsets reach the broker within the 5 s persist period.
    wait_until("consume stats caught up", || async {
        admin
            .consume_stats("CG-admin", Some("AdminTopic"))
            .await
            .is_ok_and(|s| s.offset_table.len() == 3 && s.total_diff() == 0)
    })
    .await;

    consumer.shutdown().await;
    producer.shutdown().await;
    admin.shutdown().await;
    cluster.shutdown().await;
}
