//! All ConsumeQueues of the store, by topic and queue id (RocketMQ `consumeQueueTable`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use rt::disk::DiskRef;

use crate::consume_queue::ConsumeQueue;
use crate::error::{IoContext, Result};

const CONSUME_QUEUE_DIR: &str = "consumequeue";

type Table = HashMap<String, HashMap<i32, Arc<ConsumeQueue>>>;

/// The ConsumeQueues, created on first use.
#[derive(Debug)]
pub struct ConsumeQueueTable {
    disk: DiskRef,
    file_size: u64,
    queues: RwLock<Table>,
}

impl ConsumeQueueTable {
    /// Opens every queue found under `consumequeue/<topic>/<queueId>/`.
    pub fn load(disk: DiskRef, file_size: u64) -> Result<Self> {
        let root = Path::new(CONSUME_QUEUE_DIR);
        let mut table: Table = HashMap::new();
        for topic in disk.list(root).ctx("list", root)? {
            let topic_dir = root.join(&topic);
            for qid in disk.list(&topic_dir).ctx("list", &topic_dir)? {
                let Ok(queue_id) = qid.parse::<i32>() else { continue };
                let cq = ConsumeQueue::load(disk.clone(), &topic, queue_id, file_size)?;
                table.entry(topic.clone()).or_default().insert(queue_id, Arc::new(cq));
            }
        }
        Ok(Self { disk, file_size, queues: RwLock::new(table) })
    }

    /// The queue, if it exists.
    pub fn find(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        let t = self.queues.read().unwrap_or_else(|e| e.into_inner());
        t.get(topic).and_then(|q| q.get(&queue_id)).cloned()
    }

    /// The queue, created (empty, no files yet) if missing.
    pub fn find_or_create(&self, topic: &str, queue_id: i32) -> Result<Arc<ConsumeQueue>> {
        if let Some(cq) = self.find(topic, queue_id) {
            return Ok(cq);
        }
        let mut t = self.queues.write().unwrap_or_else(|e| e.into_inner());
        if let Some(cq) = t.get(topic).and_then(|q| q.get(&queue_id)) {
            return Ok(Arc::clone(cq));
        }
        let cq = Arc::new(ConsumeQueue::load(self.disk.clone(), topic, queue_id, self.file_size)?);
        t.entry(topic.to_owned()).or_default().insert(queue_id, Arc::clone(&cq));
        Ok(cq)
    }

    /// Every queue.
    pub fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        let t = self.queues.read().unwrap_or_else(|e| e.into_inner());
        t.values().flat_map(|q| q.values().cloned()).collect()
    }

    /// The queue table for the appender: next offset of every queue.
    pub fn next_offsets(&self) -> HashMap<String, HashMap<i32, i64>> {
        let t = self.queues.read().unwrap_or_else(|e| e.into_inner());
        t.iter()
            .map(|(topic, qs)| {
                (topic.clone(), qs.iter().map(|(id, cq)| (*id, cq.max_offset())).collect())
            })
            .collect()
    }

    /// Syncs every queue.
    pub fn flush(&self) -> Result<()> {
        for cq in self.all() {
            cq.flush()?;
        }
        Ok(())
    }
}
