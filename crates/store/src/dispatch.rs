//! The dispatcher (RocketMQ `ReputMessageService` and the `CommitLogDispatcher`s): follows the
//! CommitLog from `reput_from` and, for each record, writes its ConsumeQueue entry, indexes its
//! keys, and tells the arriving listener (long polling) that the queue grew.
//!
//! It never reads past the limit it is given, which is at most the CommitLog's `wrote_where`
//! (under SYNC_FLUSH, `flushed_where`), so it never builds an entry for a half-written record.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use crate::commit_log::CommitLog;
use crate::consume_queue::{ConsumeQueue, CqEntry};
use crate::consume_queue_table::ConsumeQueueTable;
use crate::error::{Result, StoreError};
use crate::index_service::IndexService;
use crate::record::{
    check_record, is_prepared_or_rollback, java_hash_parts, read_i32, CrcCheck, RecordCheck,
    RecordView, BLANK_MAGIC, SCHEDULE_TOPIC, TRANSACTION_ROLLBACK_TYPE,
};

const PROPERTY_TAGS: &str = "TAGS";
const PROPERTY_KEYS: &str = "KEYS";
const PROPERTY_UNIQ_KEY: &str = "UNIQ_KEY";
const PROPERTY_DELAY: &str = "DELAY";

/// Told of every record dispatched to a ConsumeQueue (RocketMQ `MessageArrivingListener`); the
/// broker's long polling wakes the pulls parked on the queue. Called on the dispatcher task: it
/// must not block.
pub trait MessageArrivingListener: Send + Sync {
    /// `logic_offset_next` is the queue's new max offset (the record's queue offset + 1).
    fn arriving(
        &self,
        topic: &str,
        queue_id: i32,
        logic_offset_next: i64,
        tags_code: i64,
        store_timestamp: i64,
    );
}

/// ConsumeQueues one dispatch pass keeps at hand. Looking a queue up in the table takes a read
/// lock, two hashes and a reference count per record, which showed in the dispatch and recovery
/// profiles; consecutive records mostly go to a few queues.
const QUEUE_CACHE_LEN: usize = 16;

/// The queues recently dispatched to, for one pass only (so a queue removed between passes is
/// never written through a stale handle by a later pass).
#[derive(Default)]
struct QueueCache {
    queues: Vec<Arc<ConsumeQueue>>,
}

impl QueueCache {
    fn get(
        &mut self,
        table: &ConsumeQueueTable,
        topic: &str,
        queue_id: i32,
    ) -> Result<&ConsumeQueue> {
        let hit = self.queues.iter().position(|q| q.queue_id() == queue_id && q.topic() == topic);
        let idx = match hit {
            Some(i) => i,
            None => {
                if self.queues.len() >= QUEUE_CACHE_LEN {
                    self.queues.remove(0);
                }
                self.queues.push(table.find_or_create(topic, queue_id)?);
                self.queues.len() - 1
            }
        };
        self.queues
            .get(idx)
            .map(|q| &**q)
            .ok_or_else(|| StoreError::Invariant("queue cache index out of range".to_owned()))
    }
}

/// Most CommitLog bytes read at once by the dispatcher (a record is at most `maxMessageSize`,
/// smaller than this, so a record cut by the limit is read whole on the next pass).
const DISPATCH_READ_LIMIT: u64 = 16 * 1024 * 1024;

/// Why the dispatcher runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DispatchMode {
    /// Following new appends: entries are new, listeners are told.
    Live,
    /// Rebuilding after a restart: entries may already exist (they must then match), index
    /// entries are added only from `index_from`, listeners are not told.
    Recovery { index_from: u64 },
}

/// What the dispatcher reaches into.
pub(crate) struct DispatchTargets<'a> {
    pub commit_log: &'a CommitLog,
    pub queues: &'a ConsumeQueueTable,
    pub index: Option<&'a IndexService>,
    pub listener: Option<Arc<dyn MessageArrivingListener>>,
}

/// The dispatcher's position and settings.
#[derive(Debug)]
pub(crate) struct Dispatcher {
    reput_from: Mutex<u64>,
    dispatched: rt::sync::Watermark,
    last_store_timestamp: AtomicI64,
    delay_levels: Vec<i64>,
}

impl Dispatcher {
    pub fn new(delay_levels: Vec<i64>) -> Self {
        Self {
            reput_from: Mutex::new(0),
            dispatched: rt::sync::Watermark::new(0),
            last_store_timestamp: AtomicI64::new(0),
            delay_levels,
        }
    }

    /// Sets where dispatching continues from.
    pub fn reset(&self, offset: u64) {
        *self.reput_from.lock().unwrap_or_else(|e| e.into_inner()) = offset;
        self.dispatched.reset(offset);
    }

    /// CommitLog offset up to which every record is dispatched.
    pub fn dispatched(&self) -> u64 {
        self.dispatched.get()
    }

    /// Store time of the last record dispatched.
    pub fn last_store_timestamp(&self) -> i64 {
        self.last_store_timestamp.load(Ordering::Acquire)
    }

    /// Resolves once every record below `offset` is dispatched.
    pub async fn wait_dispatched(&self, offset: u64) {
        self.dispatched.wait_for(offset).await;
    }

    /// Dispatches every record from the current position up to `limit`. Returns the new
    /// position. On error the position stays after the last record fully dispatched.
    pub fn run(&self, t: &DispatchTargets<'_>, limit: u64, mode: DispatchMode) -> Result<u64> {
        let mut guard = self.reput_from.lock().unwrap_or_else(|e| e.into_inner());
        let mut pos = *guard;
        let min = t.commit_log.min_offset();
        if pos < min {
            // Retention removed segments the dispatcher had not reached (it fell far behind).
            tracing::warn!(pos, min, "dispatcher skipped to the CommitLog's min offset");
            pos = min;
        }
        let file_size = t.commit_log.file_size();
        let mut queues = QueueCache::default();
        let result = (|| {
            while pos < limit {
                let seg = t.commit_log.files().find(pos).ok_or_else(|| {
                    StoreError::Invariant(format!("no CommitLog segment holds offset {pos}"))
                })?;
                // One read per segment and run (bounded), not two per record: reads hand out
                // shared views whose bookkeeping would otherwise dominate.
                let seg_end = seg.start() + file_size;
                let chunk_end = limit.min(seg_end).min(pos + DISPATCH_READ_LIMIT);
                let chunk = seg.read(pos, (chunk_end - pos) as usize)?;
                let mut at = 0usize;
                let mut blank = false;
                loop {
                    let rest = &chunk[at..];
                    if rest.is_empty() {
                        break;
                    }
                    let here = pos + at as u64;
                    if read_i32(rest, 4) == Some(BLANK_MAGIC) {
                        blank = true;
                        break;
                    }
                    let size = read_i32(rest, 0).and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
                    if size < 8 || here + size as u64 > limit {
                        return Err(StoreError::Invariant(format!(
                            "record at {here} of size {size} crosses the valid end {limit}"
                        )));
                    }
                    if size > rest.len() {
                        if at == 0 {
                            return Err(StoreError::Invariant(format!(
                                "record at {here} of size {size} exceeds the dispatch read limit"
                            )));
                        }
                        // The read limit cut the record: read again from its start.
                        break;
                    }
                    match check_record(&rest[..size], Some(here as i64), CrcCheck::None) {
                        RecordCheck::Record(view) => {
                            self.dispatch_one(t, &mut queues, &view, mode)?
                        }
                        other => {
                            return Err(StoreError::Invariant(format!(
                                "no record at {here} below the valid end {limit}: {other:?}"
                            )))
                        }
                    }
                    at += size;
                }
                pos = if blank { seg_end } else { pos + at as u64 };
            }
            Ok(())
        })();
        *guard = pos;
        // Only `reset` moves the position back; a pass starts where the last one ended.
        self.dispatched.advance(pos);
        result.map(|()| pos)
    }

    /// True if `entry` at `queue_offset` of `cq` is the entry dispatching its record would write:
    /// the CommitLog holds a record at the entry's offset, of its size, for this queue and queue
    /// offset, with its tag code. Recovery uses it to tell a garbled entry from a real one.
    pub fn entry_matches(
        &self,
        commit_log: &CommitLog,
        cq: &ConsumeQueue,
        queue_offset: i64,
        entry: &CqEntry,
    ) -> bool {
        let Some(rec) = u64::try_from(entry.commit_log_offset)
            .ok()
            .and_then(|offset| commit_log.read_record(offset))
        else {
            return false;
        };
        match check_record(&rec, Some(entry.commit_log_offset), CrcCheck::None) {
            RecordCheck::Record(view) => {
                view.topic == cq.topic()
                    && view.queue_id == cq.queue_id()
                    && view.queue_offset == queue_offset
                    && i64::from(entry.size) == view.total_size as i64
                    && entry.tags_code == self.tags_code(&view)
            }
            _ => false,
        }
    }

    fn tags_code(&self, view: &RecordView<'_>) -> i64 {
        if view.topic == SCHEDULE_TOPIC {
            if let Some(level) = view.property(PROPERTY_DELAY).and_then(|d| d.parse::<usize>().ok())
            {
                if level > 0 {
                    let idx = level.min(self.delay_levels.len()).saturating_sub(1);
                    let delay = self.delay_levels.get(idx).copied().unwrap_or(1000);
                    return view.store_timestamp + delay;
                }
            }
        }
        match view.property(PROPERTY_TAGS) {
            Some(tags) => i64::from(java_hash_parts(&[tags])),
            None => 0,
        }
    }

    fn dispatch_one(
        &self,
        t: &DispatchTargets<'_>,
        queues: &mut QueueCache,
        view: &RecordView<'_>,
        mode: DispatchMode,
    ) -> Result<()> {
        let tags_code = self.tags_code(view);
        if !is_prepared_or_rollback(view.sys_flag) {
            let cq = queues.get(t.queues, view.topic, view.queue_id)?;
            let entry = CqEntry {
                commit_log_offset: view.physical_offset,
                size: view.total_size as i32,
                tags_code,
            };
            cq.put(view.queue_offset, entry)?;
            if mode == DispatchMode::Live {
                if let Some(l) = &t.listener {
                    l.arriving(
                        view.topic,
                        view.queue_id,
                        view.queue_offset + 1,
                        tags_code,
                        view.store_timestamp,
                    );
                }
            }
        }
        let index_this = match mode {
            DispatchMode::Live => true,
            DispatchMode::Recovery { index_from } => view.physical_offset as u64 >= index_from,
        };
        if let Some(index) = t.index {
            if index_this && view.sys_flag & 0xC != TRANSACTION_ROLLBACK_TYPE {
                index.build_index(
                    view.topic,
                    view.property(PROPERTY_KEYS),
                    view.property(PROPERTY_UNIQ_KEY),
                    view.physical_offset,
                    view.store_timestamp,
                    view.store_timestamp,
                )?;
            }
        }
        self.last_store_timestamp.store(view.store_timestamp, Ordering::Release);
        Ok(())
    }
}
