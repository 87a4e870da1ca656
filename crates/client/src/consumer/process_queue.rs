//! [`ProcessQueue`]: the messages pulled from one queue and not yet consumed (RocketMQ
//! `ProcessQueue`). It bounds what a consumer holds (flow control) and gives the offset that
//! is safe to commit: the lowest message still in flight.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::time::Instant;

use crate::message::MessageExt;

#[derive(Default)]
struct Inner {
    /// Queue offset -> message, for messages pulled but not consumed.
    msgs: BTreeMap<i64, MessageExt>,
    msg_size: usize,
    /// The highest offset ever put.
    queue_offset_max: i64,
}

/// The in-flight messages of one queue.
pub struct ProcessQueue {
    inner: Mutex<Inner>,
    dropped: AtomicBool,
    last_pull: Mutex<Option<Instant>>,
}

impl Default for ProcessQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(Inner { queue_offset_max: -1, ..Inner::default() }),
            dropped: AtomicBool::new(false),
            last_pull: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds pulled messages (a message already held is not counted twice).
    pub fn put_messages(&self, msgs: &[MessageExt]) {
        let mut inner = self.lock();
        for m in msgs {
            if inner.msgs.insert(m.queue_offset, m.clone()).is_none() {
                inner.msg_size += m.body.len();
            }
            inner.queue_offset_max = inner.queue_offset_max.max(m.queue_offset);
        }
    }

    /// Removes consumed messages and returns the offset to commit: the lowest offset still
    /// held, or one past the highest ever put when nothing is held. `None` if nothing was
    /// ever put.
    pub fn remove_messages(&self, offsets: impl IntoIterator<Item = i64>) -> Option<i64> {
        let mut inner = self.lock();
        for offset in offsets {
            if let Some(m) = inner.msgs.remove(&offset) {
                inner.msg_size = inner.msg_size.saturating_sub(m.body.len());
            }
        }
        if inner.queue_offset_max < 0 {
            return None;
        }
        Some(inner.msgs.keys().next().copied().unwrap_or(inner.queue_offset_max + 1))
    }

    /// Messages held.
    pub fn msg_count(&self) -> usize {
        self.lock().msgs.len()
    }

    /// Body bytes held.
    pub fn msg_size(&self) -> usize {
        self.lock().msg_size
    }

    /// Distance between the lowest and highest offsets held (a slow message holding back the
    /// commit while later ones race ahead).
    pub fn max_span(&self) -> i64 {
        let inner = self.lock();
        match (inner.msgs.keys().next(), inner.msgs.keys().next_back()) {
            (Some(lo), Some(hi)) => hi - lo,
            _ => 0,
        }
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.lock().msgs.is_empty()
    }

    /// Forgets everything held (a seek).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.msgs.clear();
        inner.msg_size = 0;
        inner.queue_offset_max = -1;
    }

    /// Marks the queue as no longer ours (rebalanced away, shut down): its pull loop stops and
    /// results of in-flight consumption no longer move its offset.
    pub fn set_dropped(&self) {
        self.dropped.store(true, Ordering::SeqCst);
    }

    /// Whether the queue was dropped.
    pub fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }

    /// Notes a pull.
    pub fn touch_pull(&self) {
        *self.last_pull.lock().unwrap_or_else(PoisonError::into_inner) = Some(rt::clock::now());
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::net::SocketAddr;

    use bytes::Bytes;
    use protocol::message::MessageVersion;

    use super::*;

    pub(crate) fn msg(offset: i64, body: &str) -> MessageExt {
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        MessageExt {
            store_size: 0,
            version: MessageVersion::V1,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset: offset,
            commit_log_offset: offset * 100,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: host,
            store_timestamp: 0,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::copy_from_slice(body.as_bytes()),
            topic: "T".into(),
            properties: Default::default(),
        }
    }

    #[test]
    fn commit_offset_is_lowest_in_flight() {
        let pq = ProcessQueue::new();
        assert_eq!(pq.remove_messages([]), None);
        pq.put_messages(&[msg(5, "aa"), msg(6, "b"), msg(7, "ccc")]);
        assert_eq!((pq.msg_count(), pq.msg_size(), pq.max_span()), (3, 6, 2));
        // 6 done first: 5 still in flight, so the commit stays at 5.
        assert_eq!(pq.remove_messages([6]), Some(5));
        assert_eq!(pq.remove_messages([5]), Some(7));
        assert_eq!(pq.remove_messages([7]), Some(8));
        assert!(pq.is_empty());
        assert_eq!(pq.msg_size(), 0);
        // Re-putting a held message does not double count.
        pq.put_messages(&[msg(8, "x")]);
        pq.put_messages(&[msg(8, "x")]);
        assert_eq!((pq.msg_count(), pq.msg_size()), (1, 1));
        pq.set_dropped();
        assert!(pq.is_dropped());
    }
}
