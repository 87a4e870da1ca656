//! Consumer offset stores (RocketMQ `RemoteBrokerOffsetStore` for clustering, an in-memory
//! store standing in for `LocalFileOffsetStore` for broadcasting). Offsets are kept in memory
//! as consumption moves them and written to the brokers periodically and when a queue is let
//! go.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tracing::debug;

use crate::error::Result;
use crate::message::MessageQueue;
use crate::mq_client_instance::MQClientInstance;

/// Where [`OffsetStore::read_offset`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOffsetType {
    /// Memory only.
    ReadFromMemory,
    /// The broker (clustering) only.
    ReadFromStore,
    /// Memory, then the broker.
    MemoryFirstThenStore,
}

/// The in-memory offsets: what consumption has reached per queue.
#[derive(Debug, Default)]
pub struct OffsetTable {
    table: Mutex<BTreeMap<MessageQueue, i64>>,
}

impl OffsetTable {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<MessageQueue, i64>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets `mq`'s offset; with `increase_only` a lower value is ignored (late results of
    /// concurrent consumption must not move the offset back).
    pub fn update(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        let mut t = self.lock();
        match t.get_mut(mq) {
            Some(cur) if increase_only => *cur = (*cur).max(offset),
            Some(cur) => *cur = offset,
            None => {
                t.insert(mq.clone(), offset);
            }
        }
    }

    /// `mq`'s offset.
    pub fn get(&self, mq: &MessageQueue) -> Option<i64> {
        self.lock().get(mq).copied()
    }

    /// Forgets `mq`.
    pub fn remove(&self, mq: &MessageQueue) {
        self.lock().remove(mq);
    }

    /// Every offset.
    pub fn snapshot(&self) -> BTreeMap<MessageQueue, i64> {
        self.lock().clone()
    }
}

/// A consumer group's offsets: remote (clustering) or local (broadcasting).
///
/// Writes to the brokers go out one at a time (`writing`), each carrying the queue's offset as
/// it is when the write is sent. Without that, the periodic persist (which used to snapshot the
/// table, then send queue after queue, awaiting each) could send a queue's offset after a
/// commit had already sent a higher one for it on the same connection, and the broker, which
/// keeps the last commit it receives, moved back.
pub struct OffsetStore {
    group: String,
    instance: Arc<MQClientInstance>,
    remote: bool,
    table: OffsetTable,
    writing: tokio::sync::Mutex<()>,
}

impl OffsetStore {
    /// A store writing to the brokers (`remote`) or kept only in memory.
    pub(crate) fn new(group: String, instance: Arc<MQClientInstance>, remote: bool) -> Self {
        Self {
            group,
            instance,
            remote,
            table: OffsetTable::default(),
            writing: tokio::sync::Mutex::new(()),
        }
    }

    /// See [`OffsetTable::update`].
    pub fn update_offset(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        self.table.update(mq, offset, increase_only);
    }

    /// `mq`'s offset; `Ok(None)` if there is none (a new group: the consume-from-where rule
    /// decides), an error if the broker could not be asked.
    pub async fn read_offset(&self, mq: &MessageQueue, ty: ReadOffsetType) -> Result<Option<i64>> {
        if ty != ReadOffsetType::ReadFromStore {
            if let Some(offset) = self.table.get(mq) {
                return Ok(Some(offset));
            }
            if ty == ReadOffsetType::ReadFromMemory {
                return Ok(None);
            }
        }
        if !self.remote {
            return Ok(None);
        }
        let addr = self.instance.find_broker_address_refreshing(&mq.broker_name, &mq.topic).await?;
        let offset = self.instance.api().query_consumer_offset(&addr, &self.group, mq).await?;
        if let Some(offset) = offset {
            self.table.update(mq, offset, false);
        }
        Ok(offset)
    }

    /// Writes the offsets of `mqs` to their brokers (one-way for the periodic persist, awaited
    /// when a queue is let go, on a commit or when the consumer stops). Every queue is tried;
    /// the first failure is returned (for one-way writes, only a failure to send).
    pub async fn persist_all(&self, mqs: &BTreeSet<MessageQueue>, oneway: bool) -> Result<()> {
        if !self.remote {
            return Ok(());
        }
        let _one = self.writing.lock().await;
        let mut outcome = Ok(());
        for mq in mqs {
            // Read at send time: a commit that ran while this one waited is not undone.
            let Some(offset) = self.table.get(mq) else { continue };
            let res = self.persist_one(mq, offset, oneway).await;
            if outcome.is_ok() {
                outcome = res;
            }
        }
        outcome
    }

    /// Writes one queue's offset (awaited).
    pub async fn persist(&self, mq: &MessageQueue) -> Result<()> {
        if !self.remote {
            return Ok(());
        }
        let _one = self.writing.lock().await;
        match self.table.get(mq) {
            Some(offset) => self.persist_one(mq, offset, false).await,
            None => Ok(()),
        }
    }

    async fn persist_one(&self, mq: &MessageQueue, offset: i64, oneway: bool) -> Result<()> {
        let res = async {
            let addr =
                self.instance.find_broker_address_refreshing(&mq.broker_name, &mq.topic).await?;
            self.instance.api().update_consumer_offset(&addr, &self.group, mq, offset, oneway).await
        }
        .await;
        if let Err(e) = &res {
            debug!(group = %self.group, ?mq, offset, error = %e, "offset persist failed");
        }
        res
    }

    /// Forgets `mq` (after persisting it).
    pub fn remove_offset(&self, mq: &MessageQueue) {
        self.table.remove(mq);
    }

    /// Every offset held in memory.
    pub fn offsets(&self) -> BTreeMap<MessageQueue, i64> {
        self.table.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increase_only_never_moves_back() {
        let t = OffsetTable::default();
        let mq = MessageQueue { topic: "T".into(), broker_name: "b".into(), queue_id: 0 };
        assert_eq!(t.get(&mq), None);
        t.update(&mq, 10, true);
        t.update(&mq, 7, true);
        assert_eq!(t.get(&mq), Some(10));
        t.update(&mq, 12, true);
        assert_eq!(t.get(&mq), Some(12));
        // A seek may move it back.
        t.update(&mq, 3, false);
        assert_eq!(t.get(&mq), Some(3));
        assert_eq!(t.snapshot().len(), 1);
        t.remove(&mq);
        assert_eq!(t.get(&mq), None);
    }
}
