//! Consumer group settings (RocketMQ `SubscriptionGroupManager`): whether a group may consume,
//! its retry queue count and retry limit. Groups are created on first heartbeat or pull when
//! `autoCreateSubscriptionGroup` is on, or by UPDATE_AND_CREATE_SUBSCRIPTIONGROUP. Persisted to
//! `config/subscriptionGroup.json` on every change.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use protocol::body::{DataVersion, JsonBody};
use rt::disk::DiskRef;
use serde::{Deserialize, Serialize};

use crate::config_file::{config_path, load_json, persist_json};
use crate::error::Result;

/// File name of the group table.
pub const SUBSCRIPTION_GROUP_FILE: &str = "subscriptionGroup.json";

/// Groups every RocketMQ broker knows (tools and internal clients).
const SYSTEM_GROUPS: &[&str] =
    &["TOOLS_CONSUMER", "FILTERSRV_CONSUMER", "SELF_TEST_C_GROUP", "CID_SYS_RMQ_TRANS"];

/// One consumer group's settings (RocketMQ `SubscriptionGroupConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    pub group_name: String,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    pub consume_broadcast_enable: bool,
    pub consume_message_orderly: bool,
    pub retry_queue_nums: i32,
    pub retry_max_times: i32,
    pub broker_id: i64,
    pub which_broker_when_consume_slowly: i64,
    pub notify_consumer_ids_changed_enable: bool,
    pub group_sys_flag: i32,
    pub consume_timeout_minute: i32,
    pub attributes: BTreeMap<String, String>,
}

impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        Self {
            group_name: String::new(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            consume_message_orderly: false,
            retry_queue_nums: 1,
            retry_max_times: 16,
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
            group_sys_flag: 0,
            consume_timeout_minute: 15,
            attributes: BTreeMap::new(),
        }
    }
}

impl JsonBody for SubscriptionGroupConfig {}

impl SubscriptionGroupConfig {
    /// A group with default settings.
    pub fn named(group: &str) -> Self {
        Self { group_name: group.to_owned(), ..Self::default() }
    }
}

/// `subscriptionGroup.json` and the GET_ALL_SUBSCRIPTIONGROUP_CONFIG body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupWrapper {
    pub data_version: DataVersion,
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
}

impl JsonBody for SubscriptionGroupWrapper {}

/// The group table.
pub struct SubscriptionGroupManager {
    disk: DiskRef,
    path: PathBuf,
    auto_create: bool,
    max_groups: usize,
    state: Mutex<SubscriptionGroupWrapper>,
}

impl std::fmt::Debug for SubscriptionGroupManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionGroupManager")
            .field("groups", &self.lock().subscription_group_table.len())
            .finish()
    }
}

impl SubscriptionGroupManager {
    /// Loads `config/subscriptionGroup.json` and adds the system groups.
    pub fn load(disk: DiskRef, auto_create: bool, max_groups: usize) -> Result<Self> {
        let path = config_path(SUBSCRIPTION_GROUP_FILE);
        let mut state: SubscriptionGroupWrapper =
            load_json(disk.as_ref(), &path)?.unwrap_or_default();
        for g in SYSTEM_GROUPS {
            state
                .subscription_group_table
                .entry((*g).to_owned())
                .or_insert_with(|| SubscriptionGroupConfig::named(g));
        }
        Ok(Self { disk, path, auto_create, max_groups, state: Mutex::new(state) })
    }

    fn lock(&self) -> MutexGuard<'_, SubscriptionGroupWrapper> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The group's settings, creating them with defaults when auto-creation is on (RocketMQ
    /// `findSubscriptionGroupConfig`). `None`: unknown and not created (auto-create off, or
    /// the table is full, or persisting failed).
    pub fn find_subscription_group_config(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        if let Some(c) = self.lock().subscription_group_table.get(group) {
            return Some(c.clone());
        }
        if !self.auto_create {
            return None;
        }
        let config = SubscriptionGroupConfig::named(group);
        match self.update_subscription_group_config(config.clone()) {
            Ok(()) => {
                tracing::info!(group, "auto-created subscription group");
                Some(config)
            }
            Err(e) => {
                tracing::warn!(group, error = %e, "cannot create subscription group");
                None
            }
        }
    }

    /// The group's settings without creating them.
    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.lock().subscription_group_table.get(group).cloned()
    }

    /// Inserts or replaces a group's settings and persists.
    pub fn update_subscription_group_config(
        &self,
        config: SubscriptionGroupConfig,
    ) -> Result<(), String> {
        let mut st = self.lock();
        let name = config.group_name.clone();
        if !st.subscription_group_table.contains_key(&name)
            && st.subscription_group_table.len() >= self.max_groups
        {
            return Err(format!("subscription group table is full ({} groups)", self.max_groups));
        }
        let old = st.subscription_group_table.insert(name.clone(), config);
        let old_version = st.data_version;
        st.data_version = DataVersion {
            counter: old_version.counter.saturating_add(1),
            state_version: old_version.state_version,
            timestamp: rt::clock::now_millis() as i64,
        };
        if let Err(e) = persist_json(self.disk.as_ref(), &self.path, &*st) {
            match old {
                Some(o) => st.subscription_group_table.insert(name, o),
                None => st.subscription_group_table.remove(&name),
            };
            st.data_version = old_version;
            return Err(e.to_string());
        }
        Ok(())
    }

    /// Removes a group; true if it existed.
    pub fn delete_subscription_group_config(&self, group: &str) -> Result<bool> {
        let mut st = self.lock();
        if st.subscription_group_table.remove(group).is_none() {
            return Ok(false);
        }
        st.data_version.counter = st.data_version.counter.saturating_add(1);
        persist_json(self.disk.as_ref(), &self.path, &*st)?;
        Ok(true)
    }

    /// The whole table.
    pub fn wrapper(&self) -> SubscriptionGroupWrapper {
        self.lock().clone()
    }

    /// Writes the table as it is now.
    pub fn persist(&self) -> Result<()> {
        let st = self.lock().clone();
        persist_json(self.disk.as_ref(), &self.path, &st)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn auto_create_persist_reload() {
        let dir = tempfile::tempdir().unwrap();
        let disk: DiskRef = Arc::new(rt::disk::FsDisk::new(dir.path()).unwrap());
        let m = SubscriptionGroupManager::load(disk.clone(), true, 100).unwrap();
        assert!(m.get("G").is_none());
        let g = m.find_subscription_group_config("G").unwrap();
        assert_eq!((g.retry_queue_nums, g.retry_max_times), (1, 16));
        let text =
            std::fs::read_to_string(dir.path().join("config/subscriptionGroup.json")).unwrap();
        assert!(text.contains("\"subscriptionGroupTable\"") && text.contains("\"G\""), "{text}");
        let m2 = SubscriptionGroupManager::load(disk.clone(), false, 100).unwrap();
        assert!(m2.get("G").is_some());
        assert!(m2.find_subscription_group_config("H").is_none());
        assert!(m2.delete_subscription_group_config("G").unwrap());
        let full = SubscriptionGroupManager::load(disk, true, 1).unwrap();
        assert!(full.find_subscription_group_config("X").is_none());
    }
}
