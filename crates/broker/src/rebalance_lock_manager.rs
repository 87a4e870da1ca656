//! Queue locks of orderly consumers (RocketMQ `RebalanceLockManager`): LOCK_BATCH_MQ grants a
//! client the queues nobody else holds (or whose holder went silent for the lease time), and
//! UNLOCK_BATCH_MQ releases them. Clients renew their locks every 20 s.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use protocol::body::MessageQueue;

/// How long a lock lasts without renewal (`rocketmq.broker.rebalance.lockMaxLiveTime`, 60 s).
pub const LOCK_MAX_LIVE_TIME_MILLIS: i64 = 60_000;

struct LockEntry {
    client_id: String,
    last_update: i64,
}

/// The locks, bounded in total by `max_locks`: beyond it, new locks are not granted (the
/// client retries on its next rebalance) and expired ones are swept first.
pub struct RebalanceLockManager {
    max_locks: usize,
    table: Mutex<HashMap<String, HashMap<MessageQueue, LockEntry>>>,
}

impl std::fmt::Debug for RebalanceLockManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RebalanceLockManager").field("groups", &self.lock().len()).finish()
    }
}

impl RebalanceLockManager {
    /// An empty lock table.
    pub fn new(max_locks: usize) -> Self {
        Self { max_locks, table: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, HashMap<MessageQueue, LockEntry>>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks what it can of `mqs` for `client_id`; returns the queues the client now holds.
    pub fn try_lock_batch(
        &self,
        group: &str,
        mqs: &BTreeSet<MessageQueue>,
        client_id: &str,
        now: i64,
    ) -> BTreeSet<MessageQueue> {
        let mut table = self.lock();
        let mut total: usize = table.values().map(HashMap::len).sum();
        if total + mqs.len() > self.max_locks {
            for locks in table.values_mut() {
                locks.retain(|_, e| now - e.last_update <= LOCK_MAX_LIVE_TIME_MILLIS);
            }
            table.retain(|_, locks| !locks.is_empty());
            total = table.values().map(HashMap::len).sum();
        }
        let locks = table.entry(group.to_owned()).or_default();
        let mut granted = BTreeSet::new();
        for mq in mqs {
            match locks.get_mut(mq) {
                Some(e) if e.client_id == client_id => {
                    e.last_update = now;
                    granted.insert(mq.clone());
                }
                Some(e) if now - e.last_update > LOCK_MAX_LIVE_TIME_MILLIS => {
                    tracing::info!(group, ?mq, old = %e.client_id, new = client_id,
                        "expired queue lock taken over");
                    *e = LockEntry { client_id: client_id.to_owned(), last_update: now };
                    granted.insert(mq.clone());
                }
                Some(_) => {}
                None if total < self.max_locks => {
                    locks.insert(
                        mq.clone(),
                        LockEntry { client_id: client_id.to_owned(), last_update: now },
                    );
                    total += 1;
                    granted.insert(mq.clone());
                }
                None => {}
            }
        }
        granted
    }

    /// Releases the queues of `mqs` that `client_id` holds.
    pub fn unlock_batch(&self, group: &str, mqs: &BTreeSet<MessageQueue>, client_id: &str) {
        let mut table = self.lock();
        if let Some(locks) = table.get_mut(group) {
            for mq in mqs {
                if locks.get(mq).is_some_and(|e| e.client_id == client_id) {
                    locks.remove(mq);
                }
            }
            if locks.is_empty() {
                table.remove(group);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(q: i32) -> MessageQueue {
        MessageQueue { broker_name: "b".into(), queue_id: q, topic: "T".into() }
    }

    #[test]
    fn lock_renew_expire_unlock_and_bound() {
        let m = RebalanceLockManager::new(3);
        let all: BTreeSet<_> = (0..2).map(mq).collect();
        assert_eq!(m.try_lock_batch("G", &all, "c1", 0), all);
        assert!(m.try_lock_batch("G", &all, "c2", 1000).is_empty());
        assert_eq!(m.try_lock_batch("G", &all, "c1", 30_000), all);
        assert_eq!(m.try_lock_batch("G", &all, "c2", 30_000 + 60_001), all);
        m.unlock_batch("G", &all, "c1");
        assert!(m.try_lock_batch("G", &all, "c1", 100_000).is_empty());
        m.unlock_batch("G", &all, "c2");
        let four: BTreeSet<_> = (0..4).map(mq).collect();
        assert_eq!(m.try_lock_batch("G", &four, "c1", 200_000).len(), 3);
    }
}
