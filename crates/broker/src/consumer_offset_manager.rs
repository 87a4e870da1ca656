//! Committed consumer offsets (RocketMQ `ConsumerOffsetManager`): `topic@group` → queue id →
//! next offset to consume. Updated by UPDATE_CONSUMER_OFFSET and pulls with the COMMIT_OFFSET
//! flag; persisted to `config/consumerOffset.json` every `flushConsumerOffsetInterval` and at
//! shutdown (only when something changed).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use protocol::body::ConsumerOffsetSerializeWrapper;
use rt::disk::DiskRef;

use crate::config_file::{config_path, load_json, persist_json};
use crate::error::Result;

/// File name of the offset table.
pub const CONSUMER_OFFSET_FILE: &str = "consumerOffset.json";
/// Separator of the table's keys, as RocketMQ writes them.
pub const TOPIC_GROUP_SEPARATOR: &str = "@";

/// Why an offset was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitError {
    /// The table holds `max` `topic@group` keys already.
    TableFull { max: usize },
}

/// The offset table.
pub struct ConsumerOffsetManager {
    disk: DiskRef,
    path: PathBuf,
    max_entries: usize,
    table: Mutex<BTreeMap<String, BTreeMap<i32, i64>>>,
    dirty: AtomicBool,
}

impl std::fmt::Debug for ConsumerOffsetManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerOffsetManager").field("keys", &self.lock().len()).finish()
    }
}

fn key(topic: &str, group: &str) -> String {
    format!("{topic}{TOPIC_GROUP_SEPARATOR}{group}")
}

impl ConsumerOffsetManager {
    /// Loads `config/consumerOffset.json`.
    pub fn load(disk: DiskRef, max_entries: usize) -> Result<Self> {
        let path = config_path(CONSUMER_OFFSET_FILE);
        let stored: Option<ConsumerOffsetSerializeWrapper> = load_json(disk.as_ref(), &path)?;
        let table = stored.map(|w| w.offset_table).unwrap_or_default();
        Ok(Self {
            disk,
            path,
            max_entries,
            table: Mutex::new(table),
            dirty: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, BTreeMap<i32, i64>>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `offset` as the group's position in a queue.
    pub fn commit_offset(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<(), CommitError> {
        let k = key(topic, group);
        let mut table = self.lock();
        if !table.contains_key(&k) && table.len() >= self.max_entries {
            return Err(CommitError::TableFull { max: self.max_entries });
        }
        table.entry(k).or_default().insert(queue_id, offset);
        self.dirty.store(true, Ordering::Release);
        Ok(())
    }

    /// The stored offset, or -1 if none.
    pub fn query_offset(&self, group: &str, topic: &str, queue_id: i32) -> i64 {
        self.lock().get(&key(topic, group)).and_then(|q| q.get(&queue_id)).copied().unwrap_or(-1)
    }

    /// All stored offsets of a group in a topic.
    pub fn query_offsets(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.lock().get(&key(topic, group)).cloned().unwrap_or_default()
    }

    /// Topics the group has offsets in.
    pub fn which_topic_by_consumer(&self, group: &str) -> Vec<String> {
        self.lock()
            .keys()
            .filter_map(|k| k.rsplit_once(TOPIC_GROUP_SEPARATOR))
            .filter(|(_, g)| *g == group)
            .map(|(t, _)| t.to_owned())
            .collect()
    }

    /// Groups with offsets in `topic`.
    pub fn which_group_by_topic(&self, topic: &str) -> Vec<String> {
        self.lock()
            .keys()
            .filter_map(|k| k.split_once(TOPIC_GROUP_SEPARATOR))
            .filter(|(t, _)| *t == topic)
            .map(|(_, g)| g.to_owned())
            .collect()
    }

    /// Forgets every offset in `topic` (the topic was deleted).
    pub fn clean_offset_by_topic(&self, topic: &str) {
        let mut table = self.lock();
        let before = table.len();
        table.retain(|k, _| k.split_once(TOPIC_GROUP_SEPARATOR).is_none_or(|(t, _)| t != topic));
        if table.len() != before {
            self.dirty.store(true, Ordering::Release);
        }
    }

    /// The whole table, as GET_ALL_CONSUMER_OFFSET serves it.
    pub fn serialize_wrapper(&self) -> ConsumerOffsetSerializeWrapper {
        ConsumerOffsetSerializeWrapper { data_version: None, offset_table: self.lock().clone() }
    }

    /// Writes the table if it changed since the last persist.
    pub fn persist(&self) -> Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let wrapper = self.serialize_wrapper();
        persist_json(self.disk.as_ref(), &self.path, &wrapper).inspect_err(|_| {
            // Try again next time.
            self.dirty.store(true, Ordering::Release);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn commit_query_persist_reload() {
        let dir = tempfile::tempdir().unwrap();
        let disk: DiskRef = Arc::new(rt::disk::FsDisk::new(dir.path()).unwrap());
        let m = ConsumerOffsetManager::load(disk.clone(), 2).unwrap();
        assert_eq!(m.query_offset("G", "T", 0), -1);
        m.commit_offset("G", "T", 0, 5).unwrap();
        m.commit_offset("G", "T", 1, 7).unwrap();
        m.commit_offset("G2", "T", 0, 1).unwrap();
        assert_eq!(m.commit_offset("G3", "T", 0, 1), Err(CommitError::TableFull { max: 2 }));
        assert_eq!(m.query_offset("G", "T", 1), 7);
        assert_eq!(m.which_topic_by_consumer("G"), vec!["T".to_owned()]);
        let mut groups = m.which_group_by_topic("T");
        groups.sort();
        assert_eq!(groups, vec!["G".to_owned(), "G2".to_owned()]);
        m.persist().unwrap();
        let text = std::fs::read_to_string(dir.path().join("config/consumerOffset.json")).unwrap();
        assert!(text.contains("\"T@G\""), "{text}");
        let m2 = ConsumerOffsetManager::load(disk, 10).unwrap();
        assert_eq!(m2.query_offset("G", "T", 0), 5);
        m2.clean_offset_by_topic("T");
        assert_eq!(m2.query_offset("G", "T", 0), -1);
    }

    #[test]
    fn reads_fastjson_unquoted_queue_ids() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(
            dir.path().join("config/consumerOffset.json"),
            r#"{"offsetTable":{"T@G":{0:12,1:3}}}"#,
        )
        .unwrap();
        let disk: DiskRef = Arc::new(rt::disk::FsDisk::new(dir.path()).unwrap());
        let m = ConsumerOffsetManager::load(disk, 10).unwrap();
        assert_eq!(m.query_offset("G", "T", 0), 12);
    }
}
