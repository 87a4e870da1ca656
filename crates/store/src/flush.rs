//! Flushing the CommitLog (RocketMQ `GroupCommitService` and `FlushRealTimeService`), and the
//! periodic ConsumeQueue/index flush that advances the checkpoint (`FlushConsumeQueueService`).
//!
//! Group commit (SYNC_FLUSH): a writer appends, then enqueues `(end offset, oneshot)` on a
//! bounded queue and waits. The flush task takes every request waiting at that moment, syncs once
//! up to the CommitLog's current end (which covers them all, since each was enqueued after its
//! append), and completes every request the sync covered. While one fsync runs, the next group
//! gathers; so under load one fsync serves many writers.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::checkpoint::StoreCheckpoint;
use crate::message_store::StoreInner;

/// Most SYNC_FLUSH writers waiting for a flush; further writers wait to enqueue (back-pressure).
pub const GROUP_COMMIT_QUEUE_LIMIT: usize = 16 * 1024;

/// One writer waiting for its bytes to be durable.
#[derive(Debug)]
pub(crate) struct GroupCommitRequest {
    /// The flush must reach this CommitLog offset.
    pub end: u64,
    /// `Ok` once durable; `Err(reason)` if the flush failed (the store is then poisoned).
    pub done: oneshot::Sender<Result<(), String>>,
}

pub(crate) type GroupCommitSender = mpsc::Sender<GroupCommitRequest>;
pub(crate) type GroupCommitReceiver = mpsc::Receiver<GroupCommitRequest>;

pub(crate) fn group_commit_channel() -> (GroupCommitSender, GroupCommitReceiver) {
    mpsc::channel(GROUP_COMMIT_QUEUE_LIMIT)
}

/// Flushes once and completes the requests it covered.
fn complete(store: &StoreInner, batch: &mut Vec<GroupCommitRequest>) {
    let result = store.commit_log.flush();
    store.dispatch_notify.notify_one();
    for req in batch.drain(..) {
        let outcome = match &result {
            Ok(flushed) if *flushed >= req.end => Ok(()),
            Ok(flushed) => Err(format!("flush reached {flushed}, short of {}", req.end)),
            Err(e) => Err(e.to_string()),
        };
        // The writer may have timed out and gone; nothing to do then.
        let _ = req.done.send(outcome);
    }
}

/// The SYNC_FLUSH flush task.
pub(crate) async fn group_commit_loop(
    store: Arc<StoreInner>,
    mut requests: GroupCommitReceiver,
    mut stop: watch::Receiver<bool>,
) {
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            req = requests.recv() => match req {
                Some(req) => batch.push(req),
                None => break,
            },
            _ = stop.changed() => break,
        }
        while batch.len() < GROUP_COMMIT_QUEUE_LIMIT {
            match requests.try_recv() {
                Ok(req) => batch.push(req),
                Err(_) => break,
            }
        }
        complete(&store, &mut batch);
        // Let the writers just released append their next records before the next group is
        // taken; otherwise the first one back would start an fsync alone and the rest would
        // wait a whole fsync for the one after.
        tokio::task::yield_now().await;
    }
    // Serve whoever is still waiting, so no writer hangs on shutdown.
    while let Ok(req) = requests.try_recv() {
        batch.push(req);
    }
    if !batch.is_empty() {
        complete(&store, &mut batch);
    }
}

/// The ASYNC_FLUSH flush task: sync every `flushIntervalCommitLog`.
pub(crate) async fn async_flush_loop(store: Arc<StoreInner>, mut stop: watch::Receiver<bool>) {
    let period = Duration::from_millis(store.config.flush_interval_commit_log.max(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = stop.changed() => break,
        }
        if let Err(e) = store.commit_log.flush() {
            tracing::error!(error = %e, "CommitLog flush failed");
            break;
        }
    }
}

/// The ConsumeQueue/index flush and checkpoint task.
pub(crate) async fn checkpoint_loop(store: Arc<StoreInner>, mut stop: watch::Receiver<bool>) {
    let period = Duration::from_millis(store.config.flush_interval_consume_queue.max(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = stop.changed() => break,
        }
        if let Err(e) = write_checkpoint(&store) {
            tracing::error!(error = %e, "ConsumeQueue flush or checkpoint failed");
        }
    }
}

/// Syncs the ConsumeQueues and the index, then records how far they and the CommitLog are
/// durable. The offsets are taken before the syncs, so the checkpoint never claims more than
/// what was synced.
pub(crate) fn write_checkpoint(store: &StoreInner) -> crate::error::Result<StoreCheckpoint> {
    let physic = store.commit_log.flushed_where();
    let dispatched = store.dispatcher.dispatched();
    let ts = store.dispatcher.last_store_timestamp();
    store.queues.flush()?;
    if let Some(index) = store.index.as_ref() {
        index.flush()?;
    }
    let ck = StoreCheckpoint {
        physic_msg_timestamp: ts,
        logics_msg_timestamp: ts,
        index_msg_timestamp: ts,
        physic_offset: physic as i64,
        logics_offset: dispatched as i64,
        index_offset: dispatched as i64,
    };
    ck.store(store.disk.as_ref())?;
    Ok(ck)
}
