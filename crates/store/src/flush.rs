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

use rt::sync::Latch;
use tokio::sync::{mpsc, oneshot};

use crate::checkpoint::StoreCheckpoint;
use crate::message_store::StoreInner;

/// Most SYNC_FLUSH writers waiting for a flush; further writers wait to enqueue (back-pressure).
pub const GROUP_COMMIT_QUEUE_LIMIT: usize = 16 * 1024;
/// Yields in a row that bring no new request before a group is flushed (see `group_commit_loop`).
const GATHER_QUIET_YIELDS: u32 = 2;

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

/// Flushes once, on the blocking pool, and completes the requests it covered.
///
/// The msync/fsync blocks for as long as the disk takes (0.3-4 ms on the measuring machine); on
/// an async worker it would stall every writer queued on that worker, so fewer writers would
/// reach the next group.
async fn complete(store: &Arc<StoreInner>, batch: &mut Vec<GroupCommitRequest>) {
    let s = Arc::clone(store);
    let result = match rt::task::spawn_blocking(move || s.commit_log.flush()).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        // The flush did not run to the end (runtime shutting down): nothing is known durable.
        Err(e) => Err(format!("flush task failed: {e}")),
    };
    store.dispatch_notify.notify_one();
    for req in batch.drain(..) {
        let outcome = match &result {
            Ok(flushed) if *flushed >= req.end => Ok(()),
            Ok(flushed) => Err(format!("flush reached {flushed}, short of {}", req.end)),
            Err(e) => Err(e.clone()),
        };
        // The writer may have timed out and gone; nothing to do then.
        let _ = req.done.send(outcome);
    }
}

/// Moves every request already queued into `batch`; returns how many.
fn drain(requests: &mut GroupCommitReceiver, batch: &mut Vec<GroupCommitRequest>) -> usize {
    let before = batch.len();
    while batch.len() < GROUP_COMMIT_QUEUE_LIMIT {
        match requests.try_recv() {
            Ok(req) => batch.push(req),
            Err(_) => break,
        }
    }
    batch.len() - before
}

/// The SYNC_FLUSH flush task.
///
/// Gathering: the writers a flush releases come straight back with their next records. Flushing
/// as soon as the first of them is queued would split them into two groups that alternate, each
/// paying a whole fsync; so before each flush the task yields while requests keep arriving, until
/// the group is as large as the previous one or [`GATHER_QUIET_YIELDS`] yields in a row bring
/// nothing. Yields, not a timer: they cost microseconds, where a timer would cost a millisecond.
pub(crate) async fn group_commit_loop(
    store: Arc<StoreInner>,
    mut requests: GroupCommitReceiver,
    stop: Arc<Latch>,
) {
    let mut batch = Vec::new();
    let mut last_group = 0usize;
    loop {
        tokio::select! {
            biased;
            // Writers still queued at the stop are served below, after the loop.
            _ = stop.wait() => break,
            req = requests.recv() => match req {
                Some(req) => batch.push(req),
                None => break,
            },
        }
        drain(&mut requests, &mut batch);
        let mut quiet = 0;
        while batch.len() < last_group && quiet < GATHER_QUIET_YIELDS {
            tokio::task::yield_now().await;
            if drain(&mut requests, &mut batch) == 0 {
                quiet += 1;
            } else {
                quiet = 0;
            }
        }
        last_group = batch.len();
        complete(&store, &mut batch).await;
    }
    // Serve whoever is still waiting, so no writer hangs on shutdown.
    drain(&mut requests, &mut batch);
    if !batch.is_empty() {
        complete(&store, &mut batch).await;
    }
}

/// The ASYNC_FLUSH flush task: sync every `flushIntervalCommitLog`, on the blocking pool (an
/// interval's worth of data can take a second to write).
pub(crate) async fn async_flush_loop(store: Arc<StoreInner>, stop: Arc<Latch>) {
    let period = Duration::from_millis(store.config.flush_interval_commit_log.max(1));
    loop {
        tokio::select! {
            biased;
            _ = stop.wait() => break,
            _ = tokio::time::sleep(period) => {}
        }
        let s = Arc::clone(&store);
        let result = match rt::task::spawn_blocking(move || s.commit_log.flush()).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(e) => Err(format!("flush task failed: {e}")),
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "CommitLog flush failed");
            break;
        }
    }
}

/// The ConsumeQueue/index flush and checkpoint task.
pub(crate) async fn checkpoint_loop(store: Arc<StoreInner>, stop: Arc<Latch>) {
    let period = Duration::from_millis(store.config.flush_interval_consume_queue.max(1));
    loop {
        tokio::select! {
            biased;
            _ = stop.wait() => break,
            _ = tokio::time::sleep(period) => {}
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
