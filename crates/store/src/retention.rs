//! Retention (RocketMQ `CleanCommitLogService` / `CleanConsumeQueueService`): deletes whole
//! CommitLog segments that expired (`fileReservedTime` hours after their last write) at the hours
//! listed in `deleteWhen`, or the oldest ones whatever their age when the device is fuller than
//! `diskMaxUsedSpaceRatio`; then the ConsumeQueue and index files that only point below the new
//! min physical offset. The segment being written is never deleted, and neither is a segment the
//! dispatcher or the flusher has not finished with.

use rt::disk::Disk;

use crate::commit_log::CommitLog;
use crate::config::MessageStoreConfig;
use crate::consume_queue_table::ConsumeQueueTable;
use crate::error::Result;
use crate::index_service::{hour_of_day, IndexService};
use crate::record::{check_record, CrcCheck, RecordCheck};

/// Most CommitLog segments deleted in one pass (RocketMQ `DELETE_FILES_BATCH_MAX`), so one
/// pass never stalls the disk.
pub const DELETE_FILES_BATCH_MAX: usize = 10;

/// What one pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanResult {
    pub commit_log_files: usize,
    pub consume_queue_files: usize,
    pub index_files: usize,
    /// The device was fuller than `diskMaxUsedSpaceRatio`.
    pub space_full: bool,
}

/// When a segment was last written: the store time of the first record of the next segment
/// (written right after this one was closed). The disk seam has no mtime, and this also keeps
/// the decision a function of the data, so it behaves the same in simulation.
fn last_write_time(commit_log: &CommitLog, next_start: u64) -> Option<i64> {
    let rec = commit_log.read_record(next_start)?;
    match check_record(&rec, Some(next_start as i64), CrcCheck::None) {
        RecordCheck::Record(v) => Some(v.store_timestamp),
        _ => None,
    }
}

/// True if `now_millis` falls in one of the `deleteWhen` hours, in the machine's local time.
fn is_delete_time(config: &MessageStoreConfig, now_millis: i64) -> bool {
    let local_millis = now_millis.saturating_add(i64::from(config.utc_offset_seconds) * 1000);
    config.delete_hours().contains(&hour_of_day(local_millis))
}

/// One retention pass at time `now_millis`.
pub(crate) fn clean_expired(
    disk: &dyn Disk,
    config: &MessageStoreConfig,
    commit_log: &CommitLog,
    queues: &ConsumeQueueTable,
    index: Option<&IndexService>,
    dispatched: u64,
    now_millis: i64,
) -> Result<CleanResult> {
    let mut result = CleanResult::default();
    let time_up = is_delete_time(config, now_millis);
    let limit = f64::from(config.disk_max_used_space_ratio.min(100)) / 100.0;
    result.space_full = match disk.space() {
        Ok(space) => space.total_bytes > 0 && space.used_ratio() > limit,
        Err(e) => {
            tracing::warn!(error = %e, "disk space unknown; retention goes by time only");
            false
        }
    };
    if time_up || result.space_full {
        let reserved_ms = (config.file_reserved_time as i64).saturating_mul(3_600_000);
        let safe_end = dispatched.min(commit_log.flushed_where());
        let file_size = commit_log.file_size();
        while result.commit_log_files < DELETE_FILES_BATCH_MAX {
            let files = commit_log.files().files();
            let (Some(first), Some(next)) = (files.first(), files.get(1)) else { break };
            if first.start() + file_size > safe_end {
                break;
            }
            let expired = last_write_time(commit_log, next.start())
                .is_some_and(|t| now_millis >= t.saturating_add(reserved_ms));
            if !(expired || result.space_full) {
                break;
            }
            tracing::info!(segment = first.start(), space_full = result.space_full, "deleting");
            commit_log.files().remove_first()?;
            result.commit_log_files += 1;
        }
    }
    let min_phy = commit_log.min_offset() as i64;
    for cq in queues.all() {
        result.consume_queue_files += cq.delete_expired(min_phy)?;
    }
    if let Some(index) = index {
        result.index_files += index.delete_expired(min_phy)?;
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_when_is_local_time() {
        // 2021-03-04 02:30 UTC.
        let now = 1_614_825_000_000;
        let mut config = MessageStoreConfig { delete_when: "04".to_owned(), ..Default::default() };
        assert!(!is_delete_time(&config, now), "02:30 UTC is not 04");
        config.utc_offset_seconds = 2 * 3600; // 04:30 local, two hours east of UTC
        assert!(is_delete_time(&config, now));
        config.utc_offset_seconds = -3 * 3600; // 23:30 the day before
        config.delete_when = "23;04".to_owned();
        assert!(is_delete_time(&config, now));
    }
}
