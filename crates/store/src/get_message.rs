//! The read paths of the store (RocketMQ `DefaultMessageStore.getMessage` and friends). Records
//! are returned as zero-copy views of the CommitLog segments.

use bytes::Bytes;

use crate::config::CQ_STORE_UNIT_SIZE;
use crate::consume_queue::CqEntry;
use crate::error::{Result, StoreError};
use crate::filter::MessageFilter;
use crate::message_store::MessageStore;
use crate::record::{check_record, read_i32, read_i64, CrcCheck, RecordCheck};
use crate::status::{BoundaryType, GetMessageResult, GetMessageStatus, QueryMessageResult};

/// Most ConsumeQueue entries one read looks at when a filter skips them (RocketMQ's 16000).
const MAX_FILTER_MESSAGE_COUNT: usize = 16_000;

impl MessageStore {
    /// Reads up to `max_count` messages (and at most `max_bytes`) of a queue from `offset`,
    /// skipping those `filter` rejects, with RocketMQ's statuses and next/min/max offsets.
    pub fn get_message(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_count: usize,
        max_bytes: usize,
        filter: Option<&dyn MessageFilter>,
    ) -> GetMessageResult {
        let inner = &self.inner;
        let config = &inner.config;
        let Some(cq) = inner.queues.find(topic, queue_id) else {
            return GetMessageResult::new(GetMessageStatus::NoMatchedLogicQueue, 0);
        };
        let min_offset = cq.min_offset();
        let max_offset = cq.max_offset();
        let mut r = GetMessageResult::new(GetMessageStatus::NoMessageInQueue, offset);
        r.min_offset = min_offset;
        r.max_offset = max_offset;
        if max_offset == 0 {
            r.status = GetMessageStatus::NoMessageInQueue;
            r.next_begin_offset = 0;
        } else if offset < min_offset {
            r.status = GetMessageStatus::OffsetTooSmall;
            r.next_begin_offset = min_offset;
        } else if offset == max_offset {
            r.status = GetMessageStatus::OffsetOverflowOne;
            r.next_begin_offset = offset;
        } else if offset > max_offset {
            r.status = GetMessageStatus::OffsetOverflowBadly;
            r.next_begin_offset = max_offset;
        } else if let Some(buf) = cq.index_buffer(offset) {
            let max_phy = inner.commit_log.max_offset();
            let memory = config.total_physical_memory_size / 100
                * u64::from(config.access_message_in_memory_max_ratio);
            let max_filter = MAX_FILTER_MESSAGE_COUNT.max(max_count * CQ_STORE_UNIT_SIZE as usize);
            let unit = CQ_STORE_UNIT_SIZE as usize;
            r.status = GetMessageStatus::NoMatchedMessage;
            let mut next_phy_file_start: Option<u64> = None;
            let mut max_phy_pulling = 0u64;
            let mut i = 0usize;
            while i + unit <= buf.len() && i < max_filter {
                let (Some(phy), Some(size), Some(tags)) =
                    (read_i64(&buf, i), read_i32(&buf, i + 8), read_i64(&buf, i + 12))
                else {
                    break;
                };
                let (phy, size) = (phy as u64, size.max(0) as usize);
                max_phy_pulling = phy;
                if next_phy_file_start.is_some_and(|s| phy < s) {
                    i += unit;
                    continue;
                }
                let in_disk = max_phy.saturating_sub(phy) > memory;
                if self.is_batch_full(size, max_count, max_bytes, &r, in_disk) {
                    break;
                }
                if filter.is_some_and(|f| !f.is_matched_by_tags_code(tags)) {
                    i += unit;
                    continue;
                }
                let Some(msg) = inner.commit_log.get_message(phy, size) else {
                    if r.buffer_total_size == 0 {
                        r.status = GetMessageStatus::MessageWasRemoving;
                    }
                    let fs = inner.commit_log.file_size();
                    next_phy_file_start = Some(phy + fs - phy % fs);
                    i += unit;
                    continue;
                };
                if filter.is_some_and(|f| !f.is_matched_by_commit_log(&msg)) {
                    i += unit;
                    continue;
                }
                r.buffer_total_size += msg.len();
                r.messages.push(msg);
                r.message_queue_offsets.push(offset + (i / unit) as i64);
                r.status = GetMessageStatus::Found;
                next_phy_file_start = None;
                i += unit;
            }
            r.next_begin_offset = offset + (i / unit) as i64;
            r.suggest_pulling_from_slave = max_phy.saturating_sub(max_phy_pulling) > memory;
        } else {
            r.status = GetMessageStatus::OffsetFoundNull;
            r.next_begin_offset = cq.roll_next_file(offset);
        }
        r
    }

    /// RocketMQ `isTheBatchFull`, plus the caller's byte cap.
    fn is_batch_full(
        &self,
        size: usize,
        max_count: usize,
        max_bytes: usize,
        r: &GetMessageResult,
        in_disk: bool,
    ) -> bool {
        let c = &self.inner.config;
        let (count, total) = (r.messages.len(), r.buffer_total_size);
        if count == 0 || total == 0 {
            return false;
        }
        if count >= max_count || total + size > max_bytes {
            return true;
        }
        let (max_transfer_bytes, max_transfer_count) = if in_disk {
            (c.max_transfer_bytes_on_message_in_disk, c.max_transfer_count_on_message_in_disk)
        } else {
            (c.max_transfer_bytes_on_message_in_memory, c.max_transfer_count_on_message_in_memory)
        };
        (total + size) as u64 > max_transfer_bytes
            || count as u64 + 1 > u64::from(max_transfer_count)
    }

    /// One past the newest queue offset (0 for an unknown queue).
    pub fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.inner.queues.find(topic, queue_id).map_or(0, |cq| cq.max_offset())
    }

    /// The oldest queue offset still served (0 for an unknown queue).
    pub fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.inner.queues.find(topic, queue_id).map_or(0, |cq| cq.min_offset())
    }

    /// The ConsumeQueue entry at `offset`.
    pub fn consume_queue_entry(&self, topic: &str, queue_id: i32, offset: i64) -> Option<CqEntry> {
        self.inner.queues.find(topic, queue_id)?.entry(offset)
    }

    /// CommitLog offset of the message at a queue offset (0 if none), RocketMQ
    /// `getCommitLogOffsetInQueue`.
    pub fn commit_log_offset_in_queue(&self, topic: &str, queue_id: i32, offset: i64) -> i64 {
        self.consume_queue_entry(topic, queue_id, offset).map_or(0, |e| e.commit_log_offset)
    }

    fn store_time_of(&self, e: CqEntry) -> Option<i64> {
        let rec = self.inner.commit_log.get_message(e.commit_log_offset as u64, e.size as usize)?;
        match check_record(&rec, None, CrcCheck::None) {
            RecordCheck::Record(v) => Some(v.store_timestamp),
            _ => None,
        }
    }

    /// Queue offset of the message stored at `timestamp` (see [`BoundaryType`]).
    pub fn offset_in_queue_by_time(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp: i64,
        boundary: BoundaryType,
    ) -> i64 {
        match self.inner.queues.find(topic, queue_id) {
            Some(cq) => cq.offset_by_time(timestamp, boundary, |e| self.store_time_of(e)),
            None => 0,
        }
    }

    /// Store time of the message at a queue offset (-1 if none).
    pub fn message_store_timestamp(&self, topic: &str, queue_id: i32, offset: i64) -> i64 {
        self.consume_queue_entry(topic, queue_id, offset)
            .and_then(|e| self.store_time_of(e))
            .unwrap_or(-1)
    }

    /// Store time of the oldest message of a queue (-1 if none).
    pub fn earliest_message_time(&self, topic: &str, queue_id: i32) -> i64 {
        self.message_store_timestamp(topic, queue_id, self.min_offset_in_queue(topic, queue_id))
    }

    /// Store time of the oldest record in the CommitLog (-1 if none).
    pub fn earliest_message_time_in_store(&self) -> i64 {
        let off = self.min_phy_offset();
        match self.inner.commit_log.read_record(off) {
            Some(rec) => match check_record(&rec, None, CrcCheck::None) {
                RecordCheck::Record(v) => v.store_timestamp,
                _ => -1,
            },
            None => -1,
        }
    }

    /// The whole record at a CommitLog offset (RocketMQ `lookMessageByOffset`).
    pub fn look_message_by_offset(&self, phy_offset: i64) -> Option<Bytes> {
        self.inner.commit_log.read_record(u64::try_from(phy_offset).ok()?)
    }

    /// `size` bytes at a CommitLog offset (RocketMQ `selectOneMessageByOffset`).
    pub fn select_one_message_by_offset(&self, phy_offset: i64, size: usize) -> Option<Bytes> {
        self.inner.commit_log.get_message(u64::try_from(phy_offset).ok()?, size)
    }

    /// Messages of `topic` with `key` (a KEYS token or the UNIQ_KEY) stored in `begin..=end`,
    /// newest first, at most `max` (RocketMQ `queryMessage`).
    pub fn query_message(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin: i64,
        end: i64,
    ) -> Result<QueryMessageResult> {
        let Some(index) = self.inner.index.as_ref() else {
            return Err(StoreError::InvalidArgument("messageIndexEnable is false".to_owned()));
        };
        let (offsets, ts, phy) = index.query(topic, key, max, begin, end)?;
        let mut result = QueryMessageResult {
            messages: Vec::new(),
            index_last_update_timestamp: ts,
            index_last_update_phyoffset: phy,
        };
        for off in offsets {
            if let Some(rec) = self.look_message_by_offset(off) {
                // The index matches on a hash; keep only records of the topic, as the
                // client would after decoding.
                if let RecordCheck::Record(v) = check_record(&rec, None, CrcCheck::None) {
                    if v.topic == topic {
                        result.messages.push(rec);
                    }
                }
            }
        }
        Ok(result)
    }

    /// End of the written CommitLog (RocketMQ `getMaxPhyOffset`).
    pub fn max_phy_offset(&self) -> u64 {
        self.inner.commit_log.max_offset()
    }

    /// Start of the oldest CommitLog segment (RocketMQ `getMinPhyOffset`).
    pub fn min_phy_offset(&self) -> u64 {
        self.inner.commit_log.min_offset()
    }

    /// End of the durable CommitLog.
    pub fn flushed_where(&self) -> u64 {
        self.inner.commit_log.flushed_where()
    }

    /// Raw CommitLog bytes from `offset`, to the end of its segment or of the written data, at
    /// most `max_len` (RocketMQ `getCommitLogData`, for replication).
    pub fn commit_log_data(&self, offset: u64, max_len: usize) -> Option<Bytes> {
        self.inner.commit_log.get_data(offset, max_len)
    }

    /// Next queue offset the appender gives a topic/queue.
    pub fn queue_next_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.inner.commit_log.queue_next_offset(topic, queue_id)
    }

    /// Checks invariant 3 of recovery on the live store: rebuilds every ConsumeQueue from the
    /// dispatched part of the CommitLog and compares it with the stored one, entry by entry.
    pub fn check_consume_queues(&self) -> Result<()> {
        use std::collections::HashMap;
        let cl = &self.inner.commit_log;
        let end = self.dispatched_offset();
        let mut rebuilt: HashMap<(String, i32), Vec<(i64, CqEntry)>> = HashMap::new();
        let mut pos = cl.min_offset();
        let fs = cl.file_size();
        while pos < end {
            let Some(head) = cl.get_message(pos, 8) else {
                return Err(StoreError::Invariant(format!("unreadable record at {pos}")));
            };
            if read_i32(&head, 4) == Some(crate::record::BLANK_MAGIC) {
                pos = pos - pos % fs + fs;
                continue;
            }
            let rec = cl.read_record(pos).ok_or_else(|| {
                StoreError::Invariant(format!("no record at {pos} below the dispatched end {end}"))
            })?;
            let RecordCheck::Record(v) = check_record(&rec, Some(pos as i64), CrcCheck::Body)
            else {
                return Err(StoreError::Invariant(format!("record at {pos} fails its checks")));
            };
            if !crate::record::is_prepared_or_rollback(v.sys_flag) {
                let e = CqEntry {
                    commit_log_offset: pos as i64,
                    size: v.total_size as i32,
                    tags_code: 0,
                };
                rebuilt
                    .entry((v.topic.to_owned(), v.queue_id))
                    .or_default()
                    .push((v.queue_offset, e));
            }
            pos += v.total_size as u64;
        }
        for cq in self.inner.queues.all() {
            let stored = cq.entries();
            let min = cq.min_offset();
            let expect: Vec<(i64, CqEntry)> = rebuilt
                .remove(&(cq.topic().to_owned(), cq.queue_id()))
                .unwrap_or_default()
                .into_iter()
                .filter(|(qo, _)| *qo >= min)
                .collect();
            let same = stored.len() == expect.len()
                && stored.iter().zip(&expect).all(|((a, x), (b, y))| {
                    a == b && x.commit_log_offset == y.commit_log_offset && x.size == y.size
                });
            if !same {
                return Err(StoreError::Invariant(format!(
                    "{}/{}: ConsumeQueue {:?} differs from the CommitLog's {:?}",
                    cq.topic(),
                    cq.queue_id(),
                    stored.iter().take(8).collect::<Vec<_>>(),
                    expect.iter().take(8).collect::<Vec<_>>()
                )));
            }
            // Dense: offsets min..max with no gap or duplicate.
            if stored.iter().enumerate().any(|(i, (qo, _))| *qo != min + i as i64)
                || min + stored.len() as i64 != cq.max_offset()
            {
                return Err(StoreError::Invariant(format!(
                    "{}/{}: queue offsets are not dense",
                    cq.topic(),
                    cq.queue_id()
                )));
            }
        }
        if let Some(((topic, qid), _)) = rebuilt.into_iter().find(|(_, v)| !v.is_empty()) {
            return Err(StoreError::Invariant(format!("{topic}/{qid} has records but no queue")));
        }
        Ok(())
    }
}
