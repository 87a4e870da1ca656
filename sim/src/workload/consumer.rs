//! The consumers: a lite pull consumer assigned every queue of a topic (orderly reads, one
//! tenure per queue), and push consumers of a group that rebalances as members come and go.

use std::collections::{BTreeMap, BTreeSet};
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
/// Least time between two commits of the pull consumer (it commits after a poll that returned
/// records); a commit writes every assigned queue, so committing after every poll would spend
/// most of a run's events on offset writes.
const COMMIT_INTERVAL: Duration = Duration::from_millis(300);
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
/// offsets. Once consumers stop it commits a last time and checks that the brokers hold exactly
/// what it committed.
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
    // Where polling has reached per queue: what a commit sends for it.
    let mut positions: BTreeMap<QueueId, i64> = BTreeMap::new();
    // What the history last recorded as committed per queue.
    let mut recorded: BTreeMap<QueueId, i64> = BTreeMap::new();
    let mut uncommitted = false;
    let mut last_commit = tokio::time::Instant::now();
    while !ctx.consumers_stopped() {
        let batch = consumer.poll(POLL_TIMEOUT).await;
        for m in &batch {
            if ctx.on_receive(process, &group, m, None) {
                let q = QueueId::new(m.topic.clone(), broker_name_of(&ctx, m), m.queue_id);
                positions.insert(q, m.queue_offset + 1);
            }
        }
        uncommitted |= !batch.is_empty();
        if uncommitted && last_commit.elapsed() >= COMMIT_INTERVAL {
            last_commit = tokio::time::Instant::now();
            ctx.commit_sent(&group, &positions);
            if consumer.commit_sync().await.is_ok() {
                uncommitted = false;
                record_commits(&ctx, process, &group, &positions, &mut recorded);
                ctx.check_committed(&group, &topic, &ids, false);
            }
        }
    }
    // The last commit: stray commits have landed by now (the scenario waited), so the brokers
    // must end up holding exactly these offsets.
    ctx.commit_sent(&group, &positions);
    let mut committed = false;
    for _ in 0..FINAL_COMMIT_ATTEMPTS {
        if consumer.commit_sync().await.is_ok() {
            committed = true;
            break;
        }
        tokio::time::sleep(START_RETRY).await;
    }
    if committed {
        record_commits(&ctx, process, &group, &positions, &mut recorded);
        ctx.check_committed_exactly(&group, &topic, &positions);
    } else {
        ctx.violation(format!(
            "{group}'s last commit after healing was not acknowledged in {FINAL_COMMIT_ATTEMPTS} attempts"
        ));
    }
    consumer.shutdown().await;
}

/// Attempts of the last commit (a second apart).
const FINAL_COMMIT_ATTEMPTS: usize = 10;

/// The broker group whose store holds `m`.
fn broker_name_of(ctx: &Ctx, m: &client::MessageExt) -> String {
    ctx.cluster.broker_of_store_host(&m.store_host).unwrap_or_default()
}

/// Records the acknowledged commit of every queue whose position moved since last recorded.
fn record_commits(
    ctx: &Ctx,
    process: ProcessId,
    group: &str,
    positions: &BTreeMap<QueueId, i64>,
    recorded: &mut BTreeMap<QueueId, i64>,
) {
    for (q, &offset) in positions {
        if recorded.insert(q.clone(), offset) != Some(offset) {
            ctx.rec.commit(process, group, q.clone(), offset);
        }
    }
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
    ctx.check_committed(&group, &topic, &ids, true);
    let _ = stop.await;
    consumer.shutdown().await;
    ctx.rec.note(&format!("p{process} push consumer of {group} left"));
}

/// Keeps `ctx`'s push consumers' committed offsets under watch: the push consumer persists on
/// its own schedule, so the check runs from the driver between membership changes.
pub fn check_group(ctx: &Ctx, group: &str, topic: &str, queues: i32) {
    let ids: Vec<QueueId> = all_queues(ctx, topic, queues).iter().map(queue_id).collect();
    ctx.check_committed(group, topic, &ids, true);
}
