//! The consumers: a lite pull consumer assigned every queue of a topic (orderly reads, one
//! tenure per queue), and push consumers of a group that rebalances as members come and go.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use checker::{ProcessId, QueueId};
use client::{
    ConsumeConcurrentlyStatus, ConsumeFromWhere, LitePullConsumer, LitePullConsumerOptions,
    MessageQueue, PushConsumer, PushConsumerOptions,
};

use super::Ctx;
use crate::cluster::broker_name;

/// How long one poll waits for records.
const POLL_TIMEOUT: Duration = Duration::from_millis(500);
/// Pause before retrying a consumer start that failed (no route yet, name servers down).
const START_RETRY: Duration = Duration::from_secs(1);

/// Every queue of `topic`: `queues` per broker group.
pub fn all_queues(ctx: &Ctx, topic: &str, queues: i32) -> Vec<MessageQueue> {
    let mut out = Vec::new();
    for n in 0..ctx.cluster.spec().brokers {
        for queue_id in 0..queues {
            out.push(MessageQueue {
                topic: topic.to_owned(),
                broker_name: broker_name(n),
                queue_id,
            });
        }
    }
    out
}

fn queue_id(mq: &MessageQueue) -> QueueId {
    QueueId::new(mq.topic.clone(), mq.broker_name.clone(), mq.queue_id)
}

/// A lite pull consumer of `group` assigned every queue of `topic`, polling until consumers
/// stop: records every receipt, commits after every non-empty poll and checks the committed
/// offsets.
pub async fn pull_consumer(
    ctx: Ctx,
    ip: IpAddr,
    process: ProcessId,
    group: String,
    topic: String,
    queues: i32,
) {
    let options = LitePullConsumerOptions {
        consume_from_where: ConsumeFromWhere::FirstOffset,
        auto_commit: false,
        ..LitePullConsumerOptions::default()
    };
    let config = ctx.cluster.client_config(&format!("pull-{process}"), ip);
    let consumer = LitePullConsumer::with_options(group.clone(), config, options);
    let mqs = all_queues(&ctx, &topic, queues);
    let ids: Vec<QueueId> = mqs.iter().map(queue_id).collect();
    if let Err(e) = consumer.assign(mqs).await {
        panic!("assigning queues to a fresh lite pull consumer failed: {e}");
    }
    while consumer.start().await.is_err() {
        tokio::time::sleep(START_RETRY).await;
    }
    ctx.rec.assign(process, &group, ids.clone());
    while !ctx.consumers_stopped() {
        let batch = consumer.poll(POLL_TIMEOUT).await;
        for m in &batch {
            ctx.on_receive(process, &group, m, None);
        }
        if !batch.is_empty() && consumer.commit_sync().await.is_ok() {
            ctx.check_committed(&group, &topic, &ids);
        }
    }
    consumer.shutdown().await;
}

/// A push consumer of `group` on `topic` that records every message and runs until `stop`
/// resolves (a clean leave: it persists its offsets and unregisters, so the group rebalances).
pub async fn push_consumer(
    ctx: Ctx,
    ip: IpAddr,
    process: ProcessId,
    group: String,
    topic: String,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let options = PushConsumerOptions {
        consume_from_where: ConsumeFromWhere::FirstOffset,
        consume_thread_max: 4,
        ..PushConsumerOptions::default()
    };
    let config = ctx.cluster.client_config(&format!("push-{process}"), ip);
    let consumer = PushConsumer::with_options(group.clone(), config, options);
    if let Err(e) = consumer.subscribe(&topic, "*") {
        panic!("subscribing a fresh push consumer failed: {e}");
    }
    let listener_ctx = ctx.clone();
    let listener_group = group.clone();
    consumer.register_message_listener_concurrently(move |msgs, context| {
        let broker = Some(context.message_queue.broker_name.clone());
        for m in msgs {
            listener_ctx.on_receive(process, &listener_group, m, broker.clone());
        }
        ConsumeConcurrentlyStatus::ConsumeSuccess
    });
    while consumer.start().await.is_err() {
        tokio::time::sleep(START_RETRY).await;
    }
    ctx.rec.note(&format!("p{process} push consumer of {group} started"));
    let ids: Vec<QueueId> = {
        let queues: BTreeSet<QueueId> = consumer.assignment().iter().map(queue_id).collect();
        queues.into_iter().collect()
    };
    ctx.check_committed(&group, &topic, &ids);
    let _ = stop.await;
    consumer.shutdown().await;
    ctx.rec.note(&format!("p{process} push consumer of {group} left"));
}

/// Keeps `ctx`'s push consumers' committed offsets under watch: the push consumer persists on
/// its own schedule, so the check runs from the driver between membership changes.
pub fn check_group(ctx: &Ctx, group: &str, topic: &str, queues: i32) {
    let ids: Vec<QueueId> = all_queues(ctx, topic, queues).iter().map(queue_id).collect();
    ctx.check_committed(group, topic, &ids);
}
