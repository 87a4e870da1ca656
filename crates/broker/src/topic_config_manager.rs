//! The broker's topic table (RocketMQ `TopicConfigManager`): system topics created at start,
//! topics created by administrators, auto-created on send from TBW102 and retry topics created
//! on heartbeat. Persisted to `config/topics.json` as a `TopicConfigSerializeWrapper` on every
//! change; every change also bumps the data version, which tells the name servers to re-read
//! the table on the next registration.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use protocol::body::{perm, DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use rt::disk::DiskRef;

use crate::broker_config::BrokerConfig;
use crate::config_file::{config_path, load_json, persist_json};
use crate::error::Result;
use crate::topic_validator::{
    self as tv, AUTO_CREATE_TOPIC_KEY_TOPIC, OFFSET_MOVED_EVENT, SCHEDULE_TOPIC, SELF_TEST_TOPIC,
    TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC,
};

/// File name of the topic table.
pub const TOPICS_FILE: &str = "topics.json";
/// Queues of a delay level topic: one per RocketMQ delay level.
const SCHEDULE_TOPIC_QUEUES: i32 = 18;

/// Why a topic could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateTopicError {
    /// The table is at `max_topics`.
    TableFull(usize),
    /// Writing `topics.json` failed; the table is unchanged.
    Persist(String),
}

struct State {
    table: BTreeMap<String, TopicConfig>,
    data_version: DataVersion,
}

/// The topic table.
pub struct TopicConfigManager {
    disk: DiskRef,
    path: PathBuf,
    max_topics: usize,
    state: Mutex<State>,
}

impl std::fmt::Debug for TopicConfigManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicConfigManager").field("topics", &self.lock().table.len()).finish()
    }
}

fn topic(name: &str, queues: i32, perm: i32) -> TopicConfig {
    TopicConfig {
        topic_name: name.to_owned(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm,
        ..TopicConfig::default()
    }
}

fn next_version(v: &DataVersion) -> DataVersion {
    DataVersion {
        counter: v.counter.saturating_add(1),
        state_version: v.state_version,
        timestamp: rt::clock::now_millis() as i64,
    }
}

impl TopicConfigManager {
    /// Loads `config/topics.json` and adds the system topics the config asks for.
    pub fn load(disk: DiskRef, config: &BrokerConfig) -> Result<Self> {
        let path = config_path(TOPICS_FILE);
        let stored: Option<TopicConfigSerializeWrapper> = load_json(disk.as_ref(), &path)?;
        let (table, data_version) = match stored {
            Some(w) => (w.topic_config_table, w.data_version),
            None => (BTreeMap::new(), DataVersion::default()),
        };
        let mgr = Self {
            disk,
            path,
            max_topics: config.max_topics,
            state: Mutex::new(State { table, data_version }),
        };
        mgr.add_system_topics(config);
        // The system topics may differ from the last run (a config change); a new version makes
        // the name servers re-read the table on the first registration.
        {
            let mut st = mgr.lock();
            st.data_version = next_version(&st.data_version);
        }
        Ok(mgr)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The system topics of RocketMQ's TopicConfigManager constructor. They are rebuilt at every
    /// start (not only when missing) so a config change (e.g. turning auto-create off) applies.
    fn add_system_topics(&self, c: &BrokerConfig) {
        let rw = perm::READ | perm::WRITE;
        let mut topics = vec![
            topic(SELF_TEST_TOPIC, 1, rw),
            topic(OFFSET_MOVED_EVENT, 1, rw),
            topic(SCHEDULE_TOPIC, SCHEDULE_TOPIC_QUEUES, rw),
            topic(TRANS_HALF_TOPIC, 1, rw),
            topic(TRANS_OP_HALF_TOPIC, 1, rw),
            topic(TRANS_CHECK_MAX_TIME_TOPIC, 1, rw),
        ];
        if c.auto_create_topic_enable {
            // perm 7: readable, writeable and inheritable, so producers route through it.
            topics.push(topic(AUTO_CREATE_TOPIC_KEY_TOPIC, c.default_topic_queue_nums, 7));
        }
        if c.cluster_topic_enable {
            topics.push(topic(&c.broker_cluster_name, 16, rw | perm::INHERIT));
        }
        if c.broker_topic_enable {
            topics.push(topic(&c.broker_name, 1, rw | perm::INHERIT));
        }
        let mut st = self.lock();
        if !c.auto_create_topic_enable {
            st.table.remove(AUTO_CREATE_TOPIC_KEY_TOPIC);
        }
        for t in topics {
            st.table.insert(t.topic_name.clone(), t);
        }
    }

    /// The config of `topic`.
    pub fn select(&self, topic: &str) -> Option<TopicConfig> {
        self.lock().table.get(topic).cloned()
    }

    /// Every topic name.
    pub fn topic_names(&self) -> Vec<String> {
        self.lock().table.keys().cloned().collect()
    }

    /// The table and its version, as registered with the name servers and served by
    /// GET_ALL_TOPIC_CONFIG.
    pub fn serialize_wrapper(&self) -> TopicConfigSerializeWrapper {
        let st = self.lock();
        TopicConfigSerializeWrapper {
            data_version: st.data_version,
            topic_config_table: st.table.clone(),
            topic_queue_mapping_info_map: BTreeMap::new(),
        }
    }

    /// The current data version.
    pub fn data_version(&self) -> DataVersion {
        self.lock().data_version
    }

    /// Writes the table as it is now.
    pub fn persist(&self) -> Result<()> {
        let wrapper = self.serialize_wrapper();
        persist_json(self.disk.as_ref(), &self.path, &wrapper)
    }

    /// Inserts or replaces `config`, bumps the version and persists. On a persist failure the
    /// old entry is restored, so memory never claims a topic the disk does not have.
    pub fn update_topic_config(&self, config: TopicConfig) -> Result<(), CreateTopicError> {
        let mut st = self.lock();
        let name = config.topic_name.clone();
        if !st.table.contains_key(&name) && st.table.len() >= self.max_topics {
            return Err(CreateTopicError::TableFull(self.max_topics));
        }
        let old = st.table.insert(name.clone(), config);
        let old_version = st.data_version;
        st.data_version = next_version(&old_version);
        let wrapper = TopicConfigSerializeWrapper {
            data_version: st.data_version,
            topic_config_table: st.table.clone(),
            topic_queue_mapping_info_map: BTreeMap::new(),
        };
        if let Err(e) = persist_json(self.disk.as_ref(), &self.path, &wrapper) {
            match old {
                Some(o) => st.table.insert(name, o),
                None => st.table.remove(&name),
            };
            st.data_version = old_version;
            return Err(CreateTopicError::Persist(e.to_string()));
        }
        Ok(())
    }

    /// Removes `topic`; true if it existed.
    pub fn delete_topic_config(&self, topic: &str) -> Result<bool> {
        let mut st = self.lock();
        if st.table.remove(topic).is_none() {
            return Ok(false);
        }
        st.data_version = next_version(&st.data_version);
        let wrapper = TopicConfigSerializeWrapper {
            data_version: st.data_version,
            topic_config_table: st.table.clone(),
            topic_queue_mapping_info_map: BTreeMap::new(),
        };
        drop(st);
        persist_json(self.disk.as_ref(), &self.path, &wrapper)?;
        Ok(true)
    }

    /// RocketMQ `createTopicInSendMessageMethod`: creates `topic` from `default_topic` (TBW102)
    /// if that exists and is inheritable, with `min(default_queue_nums, its write queues)`
    /// queues and its perm minus INHERIT. Returns the config and whether it was created now.
    pub fn create_topic_in_send_message_method(
        &self,
        topic: &str,
        default_topic: &str,
        default_queue_nums: i32,
        topic_sys_flag: i32,
    ) -> Result<Option<(TopicConfig, bool)>, CreateTopicError> {
        if let Some(existing) = self.select(topic) {
            return Ok(Some((existing, false)));
        }
        let Some(default) = self.select(default_topic) else {
            return Ok(None);
        };
        // Only the auto-create key topic may act as a template, and only when inheritable.
        if default_topic != AUTO_CREATE_TOPIC_KEY_TOPIC || !perm::is_inherited(default.perm) {
            return Ok(None);
        }
        let queues = default_queue_nums.min(default.write_queue_nums).max(1);
        let config = TopicConfig {
            topic_name: topic.to_owned(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: default.perm & !perm::INHERIT,
            topic_sys_flag,
            topic_filter_type: default.topic_filter_type.clone(),
            ..TopicConfig::default()
        };
        self.update_topic_config(config.clone())?;
        tracing::info!(topic, queues, "auto-created topic from {default_topic}");
        Ok(Some((config, true)))
    }

    /// RocketMQ `createTopicInSendMessageBackMethod`: retry and DLQ topics, created with the
    /// given queues and perm when missing. Returns the config and whether it was created now.
    pub fn create_topic_in_send_message_back_method(
        &self,
        topic: &str,
        queue_nums: i32,
        perm: i32,
    ) -> Result<(TopicConfig, bool), CreateTopicError> {
        if let Some(existing) = self.select(topic) {
            return Ok((existing, false));
        }
        let config = TopicConfig {
            topic_name: topic.to_owned(),
            read_queue_nums: queue_nums,
            write_queue_nums: queue_nums,
            perm,
            ..TopicConfig::default()
        };
        self.update_topic_config(config.clone())?;
        Ok((config, true))
    }

    /// Whether `topic` is one the broker made for itself (not created by users).
    pub fn is_system_topic(&self, topic: &str) -> bool {
        tv::is_system_topic(topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn disk() -> (tempfile::TempDir, DiskRef) {
        let dir = tempfile::tempdir().unwrap();
        let disk: DiskRef = Arc::new(rt::disk::FsDisk::new(dir.path()).unwrap());
        (dir, disk)
    }

    #[test]
    fn system_topics_and_auto_create() {
        let (_dir, disk) = disk();
        let cfg = BrokerConfig::default();
        let m = TopicConfigManager::load(disk.clone(), &cfg).unwrap();
        let tbw = m.select("TBW102").unwrap();
        assert_eq!((tbw.perm, tbw.write_queue_nums), (7, 8));
        assert!(m.select("broker-a").is_some() && m.select("DefaultCluster").is_some());
        let (t, created) =
            m.create_topic_in_send_message_method("T1", "TBW102", 4, 0).unwrap().unwrap();
        assert!(created);
        assert_eq!((t.read_queue_nums, t.write_queue_nums, t.perm), (4, 4, 6));
        let (_, again) =
            m.create_topic_in_send_message_method("T1", "TBW102", 4, 0).unwrap().unwrap();
        assert!(!again);
        let (t, _) = m.create_topic_in_send_message_method("T2", "TBW102", 16, 0).unwrap().unwrap();
        assert_eq!(t.write_queue_nums, 8);
        assert!(m.create_topic_in_send_message_method("T3", "OTHER", 4, 0).unwrap().is_none());
        let v = m.data_version().counter;
        assert!(v >= 3);
        // Reload: the created topics are on disk, and the version moves on.
        let m2 = TopicConfigManager::load(disk, &cfg).unwrap();
        assert!(m2.select("T1").is_some() && m2.select("T2").is_some());
        assert_eq!(m2.data_version().counter, v + 1);
        assert!(m2.delete_topic_config("T1").unwrap());
        assert!(m2.select("T1").is_none());
    }

    #[test]
    fn no_tbw102_without_auto_create_and_bounded_table() {
        let (_dir, disk) = disk();
        let cfg =
            BrokerConfig { auto_create_topic_enable: false, max_topics: 9, ..Default::default() };
        let m = TopicConfigManager::load(disk, &cfg).unwrap();
        assert!(m.select("TBW102").is_none());
        assert!(m.create_topic_in_send_message_method("T", "TBW102", 4, 0).unwrap().is_none());
        let n = m.topic_names().len();
        for i in n..9 {
            m.create_topic_in_send_message_back_method(&format!("%RETRY%g{i}"), 1, 6).unwrap();
        }
        assert_eq!(
            m.create_topic_in_send_message_back_method("%RETRY%x", 1, 6),
            Err(CreateTopicError::TableFull(9))
        );
    }
}
