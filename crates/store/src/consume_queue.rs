//! One ConsumeQueue (RocketMQ `ConsumeQueue`): the logical queue of a topic/queueId, a dense array
//! of 20-byte entries `commitLogOffset i64 | size i32 | tagsCode i64`, where the entry for queue
//! offset `n` lies at byte `20 n` of `consumequeue/<topic>/<queueId>/`. Derived from the
//! CommitLog by the dispatcher and rebuildable from it; the single writer is the dispatcher.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use bytes::Bytes;
use rt::disk::DiskRef;

use crate::config::CQ_STORE_UNIT_SIZE;
use crate::error::{Result, StoreError};
use crate::mapped_file_queue::MappedFileQueue;
use crate::record::{read_i32, read_i64};
use crate::status::BoundaryType;

const UNIT: u64 = CQ_STORE_UNIT_SIZE;

/// Folder of a queue's files, relative to the store root.
pub fn consume_queue_dir(topic: &str, queue_id: i32) -> PathBuf {
    PathBuf::from("consumequeue").join(topic).join(queue_id.to_string())
}

/// One decoded entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqEntry {
    pub commit_log_offset: i64,
    pub size: i32,
    pub tags_code: i64,
}

impl CqEntry {
    fn parse(b: &[u8]) -> Option<Self> {
        Some(Self {
            commit_log_offset: read_i64(b, 0)?,
            size: read_i32(b, 8)?,
            tags_code: read_i64(b, 12)?,
        })
    }

    fn encode(&self) -> [u8; UNIT as usize] {
        let mut out = [0u8; UNIT as usize];
        out[0..8].copy_from_slice(&self.commit_log_offset.to_be_bytes());
        out[8..12].copy_from_slice(&self.size.to_be_bytes());
        out[12..20].copy_from_slice(&self.tags_code.to_be_bytes());
        out
    }

    /// Zeroed (never written) entries have size 0.
    pub fn is_valid(&self) -> bool {
        self.size > 0 && self.commit_log_offset >= 0
    }
}

/// One topic/queue's ConsumeQueue.
#[derive(Debug)]
pub struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    files: MappedFileQueue,
    /// Queue offset of the first entry still served.
    min_offset: AtomicI64,
    /// Queue offset one past the last entry written.
    max_offset: AtomicI64,
    /// Queue offset up to which entries are synced.
    flushed: AtomicI64,
    /// Serialises flushes so two never sync overlapping ranges with stale watermarks.
    flush_lock: Mutex<()>,
}

impl ConsumeQueue {
    /// Opens the queue's files (if any). The offsets are set by [`Self::recover`].
    pub fn load(disk: DiskRef, topic: &str, queue_id: i32, file_size: u64) -> Result<Self> {
        let files = MappedFileQueue::load(disk, consume_queue_dir(topic, queue_id), file_size)?;
        let start = files.min_offset().map_or(0, |s| (s / UNIT) as i64);
        Ok(Self {
            topic: topic.to_owned(),
            queue_id,
            files,
            min_offset: AtomicI64::new(start),
            max_offset: AtomicI64::new(start),
            flushed: AtomicI64::new(start),
            flush_lock: Mutex::new(()),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn queue_id(&self) -> i32 {
        self.queue_id
    }

    fn units_per_file(&self) -> i64 {
        (self.files.file_size() / UNIT) as i64
    }

    pub fn min_offset(&self) -> i64 {
        self.min_offset.load(Ordering::Acquire)
    }

    pub fn max_offset(&self) -> i64 {
        self.max_offset.load(Ordering::Acquire)
    }

    /// The entry at queue offset `offset`, if it is within `min..max` and readable.
    pub fn entry(&self, offset: i64) -> Option<CqEntry> {
        if offset < self.min_offset() || offset >= self.max_offset() {
            return None;
        }
        self.raw_entry(offset)
    }

    fn raw_entry(&self, offset: i64) -> Option<CqEntry> {
        let pos = u64::try_from(offset).ok()? * UNIT;
        let f = self.files.find(pos)?;
        let b = f.read(pos, UNIT as usize).ok()?;
        CqEntry::parse(&b)
    }

    /// Entries from `offset` to the last written one in the same file (RocketMQ
    /// `getIndexBuffer`), as one zero-copy buffer; `None` if that file is gone.
    pub fn index_buffer(&self, offset: i64) -> Option<Bytes> {
        let max = self.max_offset();
        if offset < self.min_offset() || offset >= max {
            return None;
        }
        let pos = u64::try_from(offset).ok()? * UNIT;
        let f = self.files.find(pos)?;
        let file_end = f.start() + self.files.file_size();
        let end = (u64::try_from(max).ok()? * UNIT).min(file_end);
        f.read(pos, usize::try_from(end - pos).ok()?).ok()
    }

    /// First queue offset of the file after the one holding `offset` (RocketMQ `rollNextFile`).
    pub fn roll_next_file(&self, offset: i64) -> i64 {
        let per = self.units_per_file();
        offset + per - offset.rem_euclid(per)
    }

    /// Writes the entry for `queue_offset`. An entry below the current end must already be there
    /// with the same CommitLog offset (a re-dispatch during recovery); a gap is refused unless the
    /// queue is empty, when it starts at `queue_offset` (its older records are gone).
    pub fn put(&self, queue_offset: i64, entry: CqEntry) -> Result<()> {
        let max = self.max_offset();
        if queue_offset < max {
            return match self.raw_entry(queue_offset) {
                Some(e) if e == entry => Ok(()),
                other => Err(StoreError::Invariant(format!(
                    "{}/{}: entry {queue_offset} is {other:?}, the CommitLog says {entry:?}",
                    self.topic, self.queue_id
                ))),
            };
        }
        if queue_offset > max {
            if max != self.min_offset() {
                return Err(StoreError::Invariant(format!(
                    "{}/{}: queue offset {queue_offset} leaves a gap after {max}",
                    self.topic, self.queue_id
                )));
            }
            self.min_offset.store(queue_offset, Ordering::Release);
            self.flushed.store(queue_offset, Ordering::Release);
        }
        let pos = u64::try_from(queue_offset)
            .map_err(|_| StoreError::InvalidArgument(format!("queue offset {queue_offset}")))?
            * UNIT;
        let f = self.files.get_or_create(pos)?;
        f.write(pos, &entry.encode())?;
        self.max_offset.store(queue_offset + 1, Ordering::Release);
        Ok(())
    }

    /// Syncs the entries written since the last flush.
    pub fn flush(&self) -> Result<()> {
        let _guard = self.flush_lock.lock().unwrap_or_else(|e| e.into_inner());
        let from = self.flushed.load(Ordering::Acquire).max(0) as u64 * UNIT;
        let max = self.max_offset();
        let to = max.max(0) as u64 * UNIT;
        if to > from {
            self.files.sync_range(from, to)?;
        }
        self.flushed.store(max, Ordering::Release);
        Ok(())
    }

    /// Recovery: keeps the entries that point below `cut` (the CommitLog offset up to which this
    /// queue is known durable and valid), drops the rest durably, and sets min/max. Entries below
    /// the cut form a prefix (they were synced before the checkpoint that named the cut), and
    /// nothing stale lies past it (every earlier recovery zeroed its tail), so a binary search
    /// finds the end.
    pub fn recover(
        &self,
        cut: i64,
        min_phy: i64,
        matches_commit_log: &dyn Fn(&ConsumeQueue, i64, &CqEntry) -> bool,
    ) -> Result<()> {
        let Some(first) = self.files.first() else {
            return Ok(());
        };
        let Some(last) = self.files.last() else {
            return Ok(());
        };
        let file_first = (first.start() / UNIT) as i64;
        let file_end = ((last.start() + self.files.file_size()) / UNIT) as i64;
        // The first written entry: files may start with a zero prefix when the queue began at a
        // non-zero offset. Only all-zero entries are skipped: a garbled first entry is not a
        // prefix, and must end the kept entries instead.
        let mut lo = file_first;
        let first_end = file_first + self.units_per_file();
        let zero = CqEntry { commit_log_offset: 0, size: 0, tags_code: 0 };
        while lo < first_end && self.raw_entry(lo).is_some_and(|e| e == zero) {
            lo += 1;
        }
        if lo == first_end {
            lo = file_first;
        }
        let keep = |off: i64| {
            self.raw_entry(off).is_some_and(|e| e.is_valid() && e.commit_log_offset < cut)
        };
        let (mut a, mut b) = (lo, file_end);
        while a < b {
            let mid = a + (b - a) / 2;
            if keep(mid) {
                a = mid + 1;
            } else {
                b = mid;
            }
        }
        // The search assumes the kept entries form a prefix, which holds for synced entries. An
        // entry a crash garbled is never synced, yet may look valid and point below the cut; so
        // walk back until the last kept entry is one the CommitLog vouches for (usually the
        // first one tried: one record read per queue).
        let mut end = a;
        while end > lo {
            let last = end - 1;
            match self.raw_entry(last) {
                Some(e) if keep(last) && matches_commit_log(self, last, &e) => break,
                _ => end = last,
            }
        }
        self.files.truncate_from(end as u64 * UNIT)?;
        let min = if end == lo { end } else { lo };
        self.min_offset.store(min, Ordering::Release);
        self.max_offset.store(end, Ordering::Release);
        self.flushed.store(end, Ordering::Release);
        self.correct_min_offset(min_phy);
        Ok(())
    }

    /// Moves the min offset to the first entry whose record is still in the CommitLog
    /// (RocketMQ `correctMinOffset`).
    pub fn correct_min_offset(&self, min_phy: i64) {
        let max = self.max_offset();
        let (mut a, mut b) = (self.min_offset(), max);
        // Entries are ordered by CommitLog offset, so the first one still present is found by
        // binary search; unreadable entries (deleted files) count as gone.
        while a < b {
            let mid = a + (b - a) / 2;
            let gone = self.raw_entry(mid).is_none_or(|e| e.commit_log_offset < min_phy);
            if gone {
                a = mid + 1;
            } else {
                b = mid;
            }
        }
        self.min_offset.store(a, Ordering::Release);
    }

    /// Removes the files (never the last) whose entries all point below `min_phy`, then
    /// corrects the min offset. Returns the number of files removed.
    pub fn delete_expired(&self, min_phy: i64) -> Result<usize> {
        let mut removed = 0;
        let per = self.units_per_file();
        loop {
            let files = self.files.files();
            if files.len() < 2 {
                break;
            }
            let Some(first) = files.first() else { break };
            let last_entry = (first.start() / UNIT) as i64 + per - 1;
            let expired = self.raw_entry(last_entry).is_none_or(|e| e.commit_log_offset < min_phy);
            if !expired {
                break;
            }
            self.files.remove_first()?;
            removed += 1;
        }
        if let Some(first) = self.files.first() {
            let first_off = (first.start() / UNIT) as i64;
            if self.min_offset() < first_off {
                self.min_offset.store(first_off, Ordering::Release);
            }
        }
        self.correct_min_offset(min_phy);
        Ok(removed)
    }

    /// Queue offset of the message stored at `timestamp` (RocketMQ `getOffsetInQueueByTime`):
    /// `Lower` gives the first message stored at or after it, `Upper` the last at or before it.
    /// `store_time` reads a record's store time from the CommitLog.
    pub fn offset_by_time(
        &self,
        timestamp: i64,
        boundary: BoundaryType,
        store_time: impl Fn(CqEntry) -> Option<i64>,
    ) -> i64 {
        let (min, max) = (self.min_offset(), self.max_offset());
        if min >= max {
            return max;
        }
        let time_at = |off: i64| self.raw_entry(off).and_then(&store_time);
        match boundary {
            BoundaryType::Lower => {
                // First offset whose time >= timestamp; unreadable entries count as older.
                let (mut a, mut b) = (min, max);
                while a < b {
                    let mid = a + (b - a) / 2;
                    if time_at(mid).is_none_or(|t| t < timestamp) {
                        a = mid + 1;
                    } else {
                        b = mid;
                    }
                }
                if a == max {
                    max - 1
                } else {
                    a
                }
            }
            BoundaryType::Upper => {
                // Last offset whose time <= timestamp.
                let (mut a, mut b) = (min, max);
                while a < b {
                    let mid = a + (b - a) / 2;
                    if time_at(mid).is_none_or(|t| t <= timestamp) {
                        a = mid + 1;
                    } else {
                        b = mid;
                    }
                }
                if a == min {
                    min
                } else {
                    a - 1
                }
            }
        }
    }

    /// Every entry in `min..max`, for invariant checks.
    pub fn entries(&self) -> Vec<(i64, CqEntry)> {
        (self.min_offset()..self.max_offset())
            .filter_map(|o| self.raw_entry(o).map(|e| (o, e)))
            .collect()
    }
}
