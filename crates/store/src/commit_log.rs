//! The CommitLog (RocketMQ `CommitLog`): every message of every topic, appended in arrival order
//! to fixed-size segments under `commitlog/`. Physical offsets are global across segments. A
//! record never straddles two segments: when a record plus the 8-byte blank header does not fit
//! in what is left of a segment, the rest is marked by a blank record (TOTALSIZE = bytes left,
//! MAGIC = BLANK_MAGIC) and the record goes to the next segment.
//!
//! One appender at a time (a mutex held only while encoding and copying, never across an await).
//! Readers, the flusher and the dispatcher work from two watermarks:
//! - `wrote_where`: end of the records fully written; nothing past it is ever read or flushed.
//! - `flushed_where`: end of the bytes known durable (a sync covering them returned `Ok`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use protocol::message::MessageExtBrokerInner;
use rt::disk::DiskRef;

use crate::error::{Result, StoreError};
use crate::mapped_file_queue::{MappedFile, MappedFileQueue};
use crate::prefault::Prefaulter;
use crate::record::{
    is_prepared_or_rollback, read_i32, CrcCheck, BLANK_MAGIC, END_FILE_MIN_BLANK_LENGTH,
    PROP_CRC_LEN,
};
use crate::record_encoder::{encode_record, Encoded, Placement, INLINE_LIMIT};
use crate::status::PutMessageStatus;

pub const COMMIT_LOG_DIR: &str = "commitlog";
/// RocketMQ's limit on the properties string (a 16-bit length).
const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;
/// Longest topic the store accepts (RocketMQ `TopicValidator.TOPIC_MAX_LENGTH`).
const MAX_TOPIC_LEN: usize = 127;

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    pub wrote_offset: u64,
    pub wrote_bytes: u64,
    pub store_timestamp: i64,
    pub first_queue_offset: i64,
    pub msg_num: usize,
}

impl AppendOutcome {
    /// End of the appended bytes: what a flush must reach to cover them.
    pub fn end(&self) -> u64 {
        self.wrote_offset + self.wrote_bytes
    }
}

#[derive(Debug)]
struct Appender {
    /// The "topicQueueTable": next queue offset of every topic/queue.
    topic_queue_table: HashMap<String, HashMap<i32, i64>>,
    /// A record being encoded (`record_encoder`), reused between puts.
    scratch: Vec<u8>,
    /// Queue offset of each record of the batch being appended, reused between puts.
    queue_offsets: Vec<i64>,
    /// How far the prefaulter has been asked to warm the log.
    prefault_requested: u64,
    /// The segment being appended to, kept here so a put touches no shared list or refcount
    /// (readers and the dispatcher clone the same `Arc`s; sharing the cache line costs more
    /// than the copy of the record).
    current: Option<Arc<MappedFile>>,
    /// Newest store timestamp given out; timestamps never go backwards in the log, which keeps
    /// the offset-by-time search meaningful if the wall clock steps back.
    last_store_timestamp: i64,
}

/// The CommitLog.
#[derive(Debug)]
pub struct CommitLog {
    files: MappedFileQueue,
    file_size: u64,
    max_message_size: usize,
    /// Append the whole-record CRC property to every record (`enabledAppendPropCRC`).
    append_prop_crc: bool,
    appender: Mutex<Appender>,
    /// Warms the pages ahead of the appender (`prefault.rs`).
    pub(crate) prefault: Prefaulter,
    wrote_where: AtomicU64,
    flushed_where: AtomicU64,
    flush_lock: Mutex<()>,
    poisoned: AtomicBool,
    poison_reason: Mutex<Option<String>>,
}

/// RocketMQ's topic rule (`TopicValidator`): `[%|a-zA-Z0-9_-]`, 1..=127 characters. The topic
/// also names a folder, so this keeps paths like `..` out.
pub fn valid_topic(topic: &str) -> bool {
    !topic.is_empty()
        && topic.len() <= MAX_TOPIC_LEN
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
}

impl CommitLog {
    /// Opens the segments on disk. The watermarks are set by recovery.
    pub fn load(
        disk: DiskRef,
        file_size: u64,
        max_message_size: u32,
        append_prop_crc: bool,
    ) -> Result<Self> {
        let files = MappedFileQueue::load(disk, COMMIT_LOG_DIR, file_size)?;
        Ok(Self {
            files,
            file_size,
            max_message_size: max_message_size as usize,
            append_prop_crc,
            appender: Mutex::new(Appender {
                topic_queue_table: HashMap::new(),
                scratch: Vec::with_capacity(INLINE_LIMIT),
                queue_offsets: Vec::new(),
                prefault_requested: 0,
                current: None,
                last_store_timestamp: 0,
            }),
            prefault: Prefaulter::new(file_size),
            wrote_where: AtomicU64::new(0),
            flushed_where: AtomicU64::new(0),
            flush_lock: Mutex::new(()),
            poisoned: AtomicBool::new(false),
            poison_reason: Mutex::new(None),
        })
    }

    pub(crate) fn files(&self) -> &MappedFileQueue {
        &self.files
    }

    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// How much the recovery scan must verify: with CRC properties on, every record written
    /// past the checkpoint carries one, and one without is a torn write.
    pub fn crc_check(&self) -> CrcCheck {
        if self.append_prop_crc {
            CrcCheck::Full
        } else {
            CrcCheck::Body
        }
    }

    /// Bytes `m` takes in the log.
    pub fn record_len(&self, m: &MessageExtBrokerInner) -> usize {
        m.encoded_len() + if self.append_prop_crc { PROP_CRC_LEN } else { 0 }
    }

    fn lock_appender(&self) -> MutexGuard<'_, Appender> {
        self.appender.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Recovery sets where the valid data ends (and that it is durable) and the queue table.
    pub(crate) fn set_recovered(&self, end: u64, table: HashMap<String, HashMap<i32, i64>>) {
        let mut a = self.lock_appender();
        a.topic_queue_table = table;
        a.current = None;
        a.prefault_requested = 0;
        self.wrote_where.store(end, Ordering::Release);
        self.flushed_where.store(end, Ordering::Release);
    }

    /// End of the fully written records (RocketMQ `getMaxOffset`).
    pub fn max_offset(&self) -> u64 {
        self.wrote_where.load(Ordering::Acquire)
    }

    /// End of the durable bytes.
    pub fn flushed_where(&self) -> u64 {
        self.flushed_where.load(Ordering::Acquire)
    }

    /// Start of the oldest segment (RocketMQ `getMinOffset`); the end when there is none.
    pub fn min_offset(&self) -> u64 {
        self.files.min_offset().unwrap_or_else(|| self.max_offset())
    }

    /// The reason the store was poisoned, if it was.
    pub fn poison_reason(&self) -> Option<String> {
        if !self.poisoned.load(Ordering::Acquire) {
            return None;
        }
        self.poison_reason.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    pub(crate) fn poison(&self, reason: String) {
        tracing::error!(%reason, "CommitLog poisoned: no further put will be acknowledged");
        let mut r = self.poison_reason.lock().unwrap_or_else(|e| e.into_inner());
        if r.is_none() {
            *r = Some(reason);
        }
        self.poisoned.store(true, Ordering::Release);
    }

    /// Next queue offset of a topic/queue.
    pub fn queue_next_offset(&self, topic: &str, queue_id: i32) -> i64 {
        let a = self.lock_appender();
        a.topic_queue_table.get(topic).and_then(|q| q.get(&queue_id)).copied().unwrap_or(0)
    }

    /// Drops a topic's entries from the queue table (topic deleted).
    pub fn remove_topic(&self, topic: &str) {
        self.lock_appender().topic_queue_table.remove(topic);
    }

    /// Checks what can be checked before taking the lock.
    fn validate(&self, msgs: &[MessageExtBrokerInner]) -> Result<usize, PutMessageStatus> {
        if msgs.is_empty() {
            return Err(PutMessageStatus::MessageIllegal);
        }
        let mut total = 0usize;
        for m in msgs {
            if !valid_topic(&m.topic) || m.queue_id < 0 {
                return Err(PutMessageStatus::MessageIllegal);
            }
            let crc_len = if self.append_prop_crc { PROP_CRC_LEN } else { 0 };
            if m.properties.len() + crc_len > MAX_PROPERTIES_LEN {
                return Err(PutMessageStatus::PropertiesSizeExceeded);
            }
            total = total.saturating_add(self.record_len(m));
        }
        if total > self.max_message_size
            || total > i32::MAX as usize
            || total as u64 + END_FILE_MIN_BLANK_LENGTH > self.file_size
        {
            return Err(PutMessageStatus::MessageIllegal);
        }
        Ok(total)
    }

    /// Appends `msgs` as consecutive records with consecutive queue offsets per queue, under one
    /// lock acquisition. Prepared and rolled-back transaction records take queue offset 0 and do
    /// not advance the queue (they never reach a ConsumeQueue).
    ///
    /// Where the batch lands is settled first (closing the segment with a blank record if it does
    /// not fit), so each record is encoded once with its final offsets and store time, its body
    /// copied once, straight into the segment (`record_encoder`).
    pub fn append(
        &self,
        msgs: &[MessageExtBrokerInner],
        now_millis: i64,
    ) -> Result<AppendOutcome, PutMessageStatus> {
        let total = self.validate(msgs)?;
        let mut guard = self.lock_appender();
        if self.is_poisoned() {
            return Err(PutMessageStatus::ServiceNotAvailable);
        }
        let a = &mut *guard;
        let store_timestamp = now_millis.max(a.last_store_timestamp);
        let start = self.place(a, total as u64)?;
        a.queue_offsets.clear();
        for m in msgs {
            let queue_offset = if is_prepared_or_rollback(m.sys_flag) {
                0
            } else {
                let next = match a.topic_queue_table.get_mut(m.topic.as_str()) {
                    Some(q) => q.entry(m.queue_id).or_insert(0),
                    None => a
                        .topic_queue_table
                        .entry(m.topic.clone())
                        .or_default()
                        .entry(m.queue_id)
                        .or_insert(0),
                };
                let q = *next;
                *next += 1;
                q
            };
            a.queue_offsets.push(queue_offset);
        }
        if let Err(status) = self.write_records(a, msgs, start, store_timestamp) {
            rollback_queue_offsets(a, msgs);
            return Err(status);
        }
        a.last_store_timestamp = store_timestamp;
        let end = start + total as u64;
        self.wrote_where.store(end, Ordering::Release);
        self.prefault.appended(&mut a.prefault_requested, end);
        Ok(AppendOutcome {
            wrote_offset: start,
            wrote_bytes: total as u64,
            store_timestamp,
            first_queue_offset: a.queue_offsets.first().copied().unwrap_or(0),
            msg_num: msgs.len(),
        })
    }

    /// Where `total` bytes go: the write position, or the start of the next segment after a
    /// blank record closes the current one (a record never straddles segments).
    fn place(&self, a: &mut Appender, total: u64) -> Result<u64, PutMessageStatus> {
        let start = self.wrote_where.load(Ordering::Acquire);
        let seg_start = start - start % self.file_size;
        let remaining = seg_start + self.file_size - start;
        if total + END_FILE_MIN_BLANK_LENGTH <= remaining {
            return Ok(start);
        }
        let seg = self.segment_for_write(&mut a.current, start)?;
        let mut blank = [0u8; 8];
        blank[0..4].copy_from_slice(&(remaining as i32).to_be_bytes());
        blank[4..8].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
        seg.write(start, &blank).map_err(|e| {
            tracing::error!(error = %e, "writing the end-of-segment blank record failed");
            PutMessageStatus::UnknownError
        })?;
        Ok(seg_start + self.file_size)
    }

    /// Encodes and writes the records from `start` (which `place` made fit in one segment).
    fn write_records(
        &self,
        a: &mut Appender,
        msgs: &[MessageExtBrokerInner],
        start: u64,
        store_timestamp: i64,
    ) -> Result<(), PutMessageStatus> {
        let Appender { current, queue_offsets, scratch, .. } = a;
        let seg = self.segment_for_write(current, start)?;
        let failed = |e| {
            tracing::error!(error = %e, "CommitLog write failed");
            PutMessageStatus::UnknownError
        };
        let mut pos = start;
        for (m, &queue_offset) in msgs.iter().zip(queue_offsets.iter()) {
            let at = Placement { queue_offset, physical_offset: pos as i64, store_timestamp };
            match encode_record(m, at, self.append_prop_crc, self.record_len(m), scratch) {
                Encoded::Whole(rec) => {
                    seg.write(pos, rec).map_err(failed)?;
                    pos += rec.len() as u64;
                }
                Encoded::Pieces(pieces) => {
                    for piece in pieces {
                        seg.write(pos, piece).map_err(failed)?;
                        pos += piece.len() as u64;
                    }
                }
            }
        }
        Ok(())
    }

    fn segment_for_write<'a>(
        &self,
        current: &'a mut Option<Arc<MappedFile>>,
        offset: u64,
    ) -> Result<&'a MappedFile, PutMessageStatus> {
        let covers =
            |seg: &MappedFile| offset >= seg.start() && offset < seg.start() + self.file_size;
        if !current.as_deref().is_some_and(covers) {
            let seg = self.files.get_or_create(offset).map_err(|e| {
                tracing::error!(error = %e, offset, "creating a CommitLog segment failed");
                // A failed fsync of the new file or its folder is fatal like any failed fsync:
                // the file keeps failing its syncs (fsyncgate), so without poisoning every later
                // put would fail here while the store still looked healthy, and nothing would
                // restart it.
                if e.is_sync_failure() {
                    self.poison(e.to_string());
                }
                PutMessageStatus::CreateMappedFileFailed
            })?;
            *current = Some(seg);
        }
        current.as_deref().ok_or(PutMessageStatus::CreateMappedFileFailed)
    }

    /// Syncs everything written so far. Returns the new flushed watermark. A failure poisons the
    /// CommitLog: the bytes it covered may be lost, so nothing past the old watermark may ever
    /// be acknowledged.
    pub fn flush(&self) -> Result<u64> {
        let _guard = self.flush_lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(reason) = self.poison_reason() {
            return Err(StoreError::Poisoned(reason));
        }
        let from = self.flushed_where();
        let to = self.max_offset();
        if to > from {
            if let Err(e) = self.files.sync_range(from, to) {
                let reason = e.to_string();
                self.poison(reason.clone());
                return Err(StoreError::Poisoned(reason));
            }
            self.flushed_where.fetch_max(to, Ordering::AcqRel);
        }
        Ok(to)
    }

    /// Syncs the bytes in `from..to` without moving the flushed watermark: for the group commit,
    /// which keeps syncs of adjacent ranges in flight at once and moves the watermark itself, in
    /// order, with [`CommitLog::mark_flushed`]. A failure poisons the CommitLog, as in `flush`.
    pub(crate) fn sync_range(&self, from: u64, to: u64) -> Result<()> {
        if let Some(reason) = self.poison_reason() {
            return Err(StoreError::Poisoned(reason));
        }
        if to > from {
            if let Err(e) = self.files.sync_range(from, to) {
                let reason = e.to_string();
                self.poison(reason.clone());
                return Err(StoreError::Poisoned(reason));
            }
        }
        Ok(())
    }

    /// Records that every byte below `to` is durable (syncs covering all of `..to` returned
    /// `Ok`). The watermark never moves back.
    pub(crate) fn mark_flushed(&self, to: u64) {
        self.flushed_where.fetch_max(to, Ordering::AcqRel);
    }

    /// The `size` bytes of the record at `offset`, if they lie within the written data.
    pub fn get_message(&self, offset: u64, size: usize) -> Option<Bytes> {
        if offset.checked_add(size as u64)? > self.max_offset() {
            return None;
        }
        let seg = self.files.find(offset)?;
        if offset + size as u64 > seg.start() + self.file_size {
            return None;
        }
        seg.read(offset, size).ok()
    }

    /// The whole record at `offset` (RocketMQ `lookMessageByOffset`), if one starts there.
    pub fn read_record(&self, offset: u64) -> Option<Bytes> {
        let head = self.get_message(offset, 8)?;
        let size = usize::try_from(read_i32(&head, 0)?).ok()?;
        if read_i32(&head, 4)? == BLANK_MAGIC || size < 8 {
            return None;
        }
        self.get_message(offset, size)
    }

    /// Raw bytes from `offset` to the end of the written data within its segment, at most
    /// `max_len` (RocketMQ `getData`; used to ship the log to replicas).
    pub fn get_data(&self, offset: u64, max_len: usize) -> Option<Bytes> {
        let end = self.max_offset();
        if offset >= end {
            return None;
        }
        let seg = self.files.find(offset)?;
        let seg_end = (seg.start() + self.file_size).min(end);
        let len = usize::try_from(seg_end - offset).ok()?.min(max_len);
        seg.read(offset, len).ok()
    }

    /// The folder of the segments.
    pub fn dir(&self) -> &Path {
        self.files.dir()
    }
}

/// Restores the queue table after a failed append: walking the batch backwards, each queue is
/// reset to the offset its first record of the batch took.
fn rollback_queue_offsets(a: &mut Appender, msgs: &[MessageExtBrokerInner]) {
    for (m, &qo) in msgs.iter().zip(a.queue_offsets.iter()).rev() {
        if is_prepared_or_rollback(m.sys_flag) {
            continue;
        }
        if let Some(q) = a.topic_queue_table.get_mut(m.topic.as_str()) {
            q.insert(m.queue_id, qo);
        }
    }
}
