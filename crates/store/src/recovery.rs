//! Recovery at open (RocketMQ `recoverNormally` / `recoverAbnormally` with
//! `checkMessageAndReturnSize`, `truncateDirtyLogicFiles` and the re-dispatch).
//!
//! Invariants this code establishes, asserted below (an error refuses to open the store) and
//! checked by the model and simulation tests:
//! 1. Every record acknowledged under SYNC_FLUSH is readable after any crash: its bytes lie below
//!    a `flushed_where` that was reached before the acknowledgement, the checkpoint never claims
//!    more than was synced, and the scan starts no later than the checkpoint, so the valid end
//!    found here is at or past every acknowledged record.
//! 2. No record failing its CRC is ever served: every byte past the checkpoint is re-checked by
//!    magic, size, layout, body CRC and PHYSICALOFFSET (which must equal the record's position,
//!    so stale bytes from an earlier life of the file are never taken for records); the first
//!    failure is the valid end, and everything after it is zeroed or removed durably.
//! 3. ConsumeQueues never point past the valid end, and a ConsumeQueue rebuilt from the CommitLog
//!    equals the one recovered: entries for records past the checkpoint's logics offset (or past
//!    the valid end) are dropped and re-dispatched from the CommitLog; a re-dispatched entry that
//!    already exists must be identical.
//!
//! Normal recovery (no `abort` marker: the last run shut down cleanly) and abnormal recovery
//! (marker present) run the same steps; after a clean shutdown the checkpoint equals the end, so
//! there is nothing to scan or rebuild, and the newest index file is trusted instead of rebuilt.

use rt::disk::Disk;

use crate::checkpoint::{abort_file_exists, StoreCheckpoint};
use crate::commit_log::CommitLog;
use crate::consume_queue_table::ConsumeQueueTable;
use crate::dispatch::{DispatchMode, DispatchTargets, Dispatcher};
use crate::error::{Result, StoreError};
use crate::index_service::IndexService;
use crate::record::{check_record, read_i32, RecordCheck, BLANK_MAGIC};

/// What recovery found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The `abort` marker was present: the previous run crashed.
    pub abnormal: bool,
    /// The checkpoint read at start (`None`: missing or damaged).
    pub checkpoint: Option<StoreCheckpoint>,
    /// Where the CRC scan began.
    pub scanned_from: u64,
    /// End of the valid records; the CommitLog was truncated here.
    pub valid_end: u64,
    /// ConsumeQueue entries for records at or past this offset were dropped and rebuilt.
    pub logics_cut: u64,
    /// Index entries for records at or past this offset were rebuilt.
    pub index_from: u64,
    /// Where the re-dispatch began.
    pub redispatched_from: u64,
}

impl RecoveryReport {
    /// Bytes of CommitLog read and CRC-checked by the scan.
    pub fn scanned_bytes(&self) -> u64 {
        self.valid_end.saturating_sub(self.scanned_from)
    }
}

/// Runs recovery over freshly loaded structures.
pub(crate) fn recover(
    disk: &dyn Disk,
    commit_log: &CommitLog,
    queues: &ConsumeQueueTable,
    index: Option<&IndexService>,
    dispatcher: &Dispatcher,
) -> Result<RecoveryReport> {
    let abnormal = abort_file_exists(disk)?;
    let checkpoint = StoreCheckpoint::load(disk)?;
    let ck = checkpoint.unwrap_or_default();
    let files = commit_log.files();
    let file_size = commit_log.file_size();
    let min_phy = files.min_offset().unwrap_or(0);
    let files_end = files.last().map_or(0, |f| f.start() + file_size);
    let ck_physic = u64::try_from(ck.physic_offset).unwrap_or(0);
    if ck_physic > files_end && ck_physic > 0 {
        return Err(StoreError::Invariant(format!(
            "the checkpoint says {ck_physic} CommitLog bytes are durable but the segments end at \
             {files_end}"
        )));
    }
    let scanned_from = ck_physic.max(min_phy);

    // 1. The valid end of the CommitLog, then make it the end durably.
    let valid_end = scan(commit_log, scanned_from);
    files.truncate_from(valid_end)?;
    // Reads below are bounded by the written end; the queue table comes at the end.
    commit_log.set_recovered(valid_end, Default::default());
    if valid_end != files_end {
        tracing::info!(scanned_from, valid_end, abnormal, "CommitLog recovered");
    }

    // 2. ConsumeQueues: keep the durable prefix that points below the valid end.
    let logics_cut = u64::try_from(ck.logics_offset).unwrap_or(0).clamp(min_phy, valid_end);
    let matches = |cq: &crate::consume_queue::ConsumeQueue, queue_offset, entry: &_| {
        dispatcher.entry_matches(commit_log, cq, queue_offset, entry)
    };
    for cq in queues.all() {
        cq.recover(logics_cut as i64, min_phy as i64, &matches)?;
    }

    // 3. Index: after a crash the newest file may hold slots pointing at lost entries.
    let index_from = match index {
        None => valid_end,
        Some(index) => {
            let last_indexed = if abnormal {
                index.drop_unsealed()?
            } else {
                index
                    .files()
                    .iter()
                    .rev()
                    .find(|f| f.header().index_count > 1)
                    .map(|f| f.header().end_phy_offset)
            };
            // Continue after the last record the kept files index (it is whole: it lies below the
            // valid end, or the scan would have stopped before it).
            let after_last = |p: i64| {
                let p = u64::try_from(p).ok()?;
                let rec = commit_log.read_record(p)?;
                Some(p + rec.len() as u64)
            };
            let mut from = last_indexed.and_then(after_last).unwrap_or(min_phy);
            if !abnormal && !index.lost_newest() {
                from = from.max(u64::try_from(ck.index_offset).unwrap_or(0));
            }
            from.clamp(min_phy, valid_end)
        }
    };

    // 4. Re-dispatch what lies past the cuts.
    let redispatched_from = logics_cut.min(index_from);
    dispatcher.reset(redispatched_from);
    let targets = DispatchTargets { commit_log, queues, index, listener: None };
    dispatcher.run(&targets, valid_end, DispatchMode::Recovery { index_from })?;

    // Invariant 3: no entry points past the valid end.
    for cq in queues.all() {
        let max = cq.max_offset();
        if max > cq.min_offset() {
            if let Some(last) = cq.entry(max - 1) {
                let end = last.commit_log_offset as u64 + last.size as u64;
                if end > valid_end {
                    return Err(StoreError::Invariant(format!(
                        "{}/{} entry {} ends at {end}, past the valid end {valid_end}",
                        cq.topic(),
                        cq.queue_id(),
                        max - 1
                    )));
                }
            }
        }
    }
    commit_log.set_recovered(valid_end, queues.next_offsets());

    // 5. Make the recovered state durable and say so, so the next recovery starts here.
    queues.flush()?;
    if let Some(index) = index {
        index.flush()?;
    }
    let ts = dispatcher.last_store_timestamp().max(ck.physic_msg_timestamp);
    let end = valid_end as i64;
    StoreCheckpoint {
        physic_msg_timestamp: ts,
        logics_msg_timestamp: ts,
        index_msg_timestamp: ts,
        physic_offset: end,
        logics_offset: end,
        index_offset: end,
    }
    .store(disk)?;

    tracing::debug!(
        abnormal,
        scanned_from,
        valid_end,
        logics_cut,
        index_from,
        redispatched_from,
        "recovered"
    );
    Ok(RecoveryReport {
        abnormal,
        checkpoint,
        scanned_from,
        valid_end,
        logics_cut,
        index_from,
        redispatched_from,
    })
}

/// Most bytes the scan reads at once; a record cut by the limit is read whole on the next pass.
const SCAN_READ_LIMIT: u64 = 16 * 1024 * 1024;

/// Walks the records from `from` and returns the end of the last valid one (invariant 2).
fn scan(commit_log: &CommitLog, from: u64) -> u64 {
    let files = commit_log.files();
    let file_size = commit_log.file_size();
    let crc = commit_log.crc_check();
    let mut pos = from;
    'segments: while let Some(seg) = files.find(pos) {
        let seg_end = seg.start() + file_size;
        let chunk_end = seg_end.min(pos + SCAN_READ_LIMIT);
        let Ok(chunk) = seg.read(pos, (chunk_end - pos) as usize) else { break };
        let mut at = 0usize;
        loop {
            let rest = &chunk[at..];
            let here = pos + at as u64;
            let (Some(size), Some(magic)) = (read_i32(rest, 0), read_i32(rest, 4)) else {
                if chunk_end < seg_end && at > 0 {
                    pos = here;
                    continue 'segments;
                }
                return here;
            };
            if magic == BLANK_MAGIC {
                if size < 0 || size as u64 != seg_end - here {
                    return here;
                }
                pos = seg_end;
                continue 'segments;
            }
            let Ok(size) = usize::try_from(size) else { return here };
            if size < 8 || size as u64 > seg_end - here {
                return here;
            }
            if size > rest.len() {
                if at == 0 {
                    return here;
                }
                // Cut by the read limit: read again from this record.
                pos = here;
                continue 'segments;
            }
            match check_record(&rest[..size], Some(here as i64), crc) {
                RecordCheck::Record(_) => at += size,
                RecordCheck::Blank | RecordCheck::Invalid(_) => return here,
            }
        }
    }
    pos
}
