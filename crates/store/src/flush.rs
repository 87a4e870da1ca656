//! Flushing the CommitLog (RocketMQ `GroupCommitService` and `FlushRealTimeService`), and the
//! periodic ConsumeQueue/index flush that advances the checkpoint (`FlushConsumeQueueService`).
//!
//! Group commit (SYNC_FLUSH): a writer appends, then enqueues `(end offset, oneshot)` on a
//! bounded queue and waits. The flush task takes every request waiting at that moment and syncs
//! the CommitLog up to its current end (which covers them all, since each was enqueued after its
//! append); the group is acknowledged once that sync and every earlier one have returned `Ok`.
//! While a sync runs, the next group gathers and may start its own sync (two in flight at most);
//! so under load one sync serves many writers.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rt::sync::Latch;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinError, JoinHandle};

use crate::checkpoint::StoreCheckpoint;
use crate::message_store::StoreInner;

/// Most SYNC_FLUSH writers waiting for a flush; further writers wait to enqueue (back-pressure).
pub const GROUP_COMMIT_QUEUE_LIMIT: usize = 16 * 1024;
/// Yields in a row that bring no new request before a group is flushed (see `group_commit_loop`).
const GATHER_QUIET_YIELDS: u32 = 2;
/// Most CommitLog syncs of SYNC_FLUSH groups running at once (see `group_commit_loop`).
const SYNCS_IN_FLIGHT: usize = 2;

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

/// Flushes once, on the blocking pool, and completes the requests it covered (the last group,
/// at shutdown).
async fn flush_and_complete(store: &Arc<StoreInner>, batch: &mut Vec<GroupCommitRequest>) {
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

/// One group whose sync is running: the range `..to` is durable once this sync and every sync
/// started before it have returned `Ok`.
struct InFlight {
    to: u64,
    batch: Vec<GroupCommitRequest>,
    sync: JoinHandle<Result<(), String>>,
}

/// The result of the oldest sync in flight (pending forever if there is none; the caller
/// disables the branch then).
async fn oldest_done(in_flight: &mut VecDeque<InFlight>) -> Result<Result<(), String>, JoinError> {
    match in_flight.front_mut() {
        Some(f) => (&mut f.sync).await,
        None => std::future::pending().await,
    }
}

/// Completes the oldest group. `failed` holds the reason once a sync in flight failed: every
/// group started before that failure was known fails with it, whatever its own sync returned,
/// because its range may sit above bytes that were lost.
fn complete_oldest(
    store: &StoreInner,
    group: InFlight,
    result: Result<Result<(), String>, JoinError>,
    failed: &mut Option<String>,
) {
    if failed.is_none() {
        match result {
            Ok(Ok(())) => store.commit_log.mark_flushed(group.to),
            // `CommitLog::sync_range` poisoned the store.
            Ok(Err(e)) => *failed = Some(e),
            // The sync did not run to the end (runtime shutting down): nothing is known durable.
            Err(e) => *failed = Some(format!("flush task failed: {e}")),
        }
    }
    store.dispatch_notify.notify_one();
    let flushed = store.commit_log.flushed_where();
    for req in group.batch {
        let outcome = match failed {
            Some(e) => Err(e.clone()),
            None if flushed >= req.end => Ok(()),
            None => Err(format!("flush reached {flushed}, short of {}", req.end)),
        };
        // The writer may have timed out and gone; nothing to do then.
        let _ = req.done.send(outcome);
    }
}

/// The SYNC_FLUSH flush task.
///
/// Pipelining: up to [`SYNCS_IN_FLIGHT`] syncs run at once, each of its own group's range
/// (`CommitLog::sync_range` from where the previous group's range ended to the group's last
/// record). On the measuring machine two syncs of 64 KiB in flight move 2-3x the bytes per
/// second of one sync of 128 KiB at a time. Groups complete in the order they started: a group's
/// writers are acknowledged, and the flushed watermark moves to its end, only once its sync and
/// every earlier one returned `Ok`. After a failure every group then in flight fails too; the
/// next sync starts again from the flushed watermark (and fails at once if the failure poisoned
/// the store).
///
/// Grouping: the writers a sync releases come straight back with their next records. Starting
/// a sync as soon as the first of them is queued would split them into small groups, each paying
/// a whole sync; so before each sync the task yields while requests keep arriving, until as many
/// writers wait (in flight or queued) as at the previous group's start, or
/// [`GATHER_QUIET_YIELDS`] yields in a row bring nothing. Yields, not a timer: they cost
/// microseconds, where a timer would cost a millisecond. A group then takes the first
/// 1/[`SYNCS_IN_FLIGHT`] of the waiting writers (or all that are queued, if fewer), so that the
/// writers settle into equal groups that alternate, one gathering while the other syncs, instead
/// of one group that holds every writer and leaves the second sync nothing to do.
pub(crate) async fn group_commit_loop(
    store: Arc<StoreInner>,
    mut requests: GroupCommitReceiver,
    stop: Arc<Latch>,
) {
    let mut batch = Vec::new();
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    // End of the range the newest sync covers.
    let mut synced_to = store.commit_log.flushed_where();
    let mut failed: Option<String> = None;
    // Writers waiting (in flight or queued) when the last group started.
    let mut last_seen = 0usize;
    loop {
        if !batch.is_empty() && in_flight.len() < SYNCS_IN_FLIGHT && failed.is_none() {
            let waiting_in_flight: usize = in_flight.iter().map(|f| f.batch.len()).sum();
            drain(&mut requests, &mut batch);
            let mut quiet = 0;
            while waiting_in_flight + batch.len() < last_seen && quiet < GATHER_QUIET_YIELDS {
                tokio::task::yield_now().await;
                if drain(&mut requests, &mut batch) == 0 {
                    quiet += 1;
                } else {
                    quiet = 0;
                }
            }
            last_seen = waiting_in_flight + batch.len();
            let take = last_seen.div_ceil(SYNCS_IN_FLIGHT).min(batch.len());
            let group: Vec<GroupCommitRequest> = batch.drain(..take).collect();
            // The group's range ends at its last record; later records go with later groups.
            let from = synced_to.max(store.commit_log.flushed_where());
            let to = group.iter().map(|r| r.end).max().unwrap_or(from).max(from);
            synced_to = to;
            let s = Arc::clone(&store);
            let sync = rt::task::spawn_blocking(move || {
                s.commit_log.sync_range(from, to).map_err(|e| e.to_string())
            });
            in_flight.push_back(InFlight { to, batch: group, sync });
            continue;
        }
        tokio::select! {
            biased;
            // Writers still queued at the stop are served below, after the loop.
            _ = stop.wait() => break,
            result = oldest_done(&mut in_flight), if !in_flight.is_empty() => {
                if let Some(group) = in_flight.pop_front() {
                    complete_oldest(&store, group, result, &mut failed);
                }
                if in_flight.is_empty() && failed.is_some() {
                    // Nothing of the failed syncs is left in flight: start over from what is
                    // known durable.
                    failed = None;
                    synced_to = store.commit_log.flushed_where();
                }
            }
            req = requests.recv() => match req {
                Some(req) => batch.push(req),
                None => break,
            },
        }
    }
    // Finish the syncs in flight, then serve whoever is still waiting, so no writer hangs on
    // shutdown.
    while !in_flight.is_empty() {
        let result = oldest_done(&mut in_flight).await;
        if let Some(group) = in_flight.pop_front() {
            complete_oldest(&store, group, result, &mut failed);
        }
    }
    // `CommitLog::flush` syncs from the flushed watermark, so it covers any range lost above.
    drain(&mut requests, &mut batch);
    if !batch.is_empty() {
        flush_and_complete(&store, &mut batch).await;
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
