//! KvConfigManager: namespaced string settings kept by the name server (PUT_KV_CONFIG and
//! friends). The one namespace RocketMQ itself reads is `ORDER_TOPIC_CONFIG` (topic →
//! `brokerName:queueNum;...`), which feeds `orderTopicConf` in routes and goes back to every
//! registering broker.
//!
//! Kept in memory only: the name server is stateless by design (DESIGN.md §5) — any number run
//! side by side and brokers re-register with all of them — so a restarted name server starts
//! empty and operators re-put what they need. Java persists this table to `kvConfig.json`; that
//! is deliberately not reproduced.

use std::collections::BTreeMap;

/// The namespace of ordered-topic queue layouts.
pub const NAMESPACE_ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// Default cap on the number of entries over all namespaces, so that a client looping on
/// PUT_KV_CONFIG cannot grow the name server without bound.
pub const DEFAULT_MAX_KV_ENTRIES: usize = 100_000;

/// Why a put was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvConfigError {
    #[error("the KV config is full ({max} entries); delete some before adding more")]
    Full { max: usize },
    #[error("the KV config namespace and key must not be empty")]
    EmptyName,
}

/// Namespaced string settings, bounded in total entries.
#[derive(Debug, Clone)]
pub struct KvConfigManager {
    config_table: BTreeMap<String, BTreeMap<String, String>>,
    entries: usize,
    max_entries: usize,
}

impl Default for KvConfigManager {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_KV_ENTRIES)
    }
}

impl KvConfigManager {
    pub fn new(max_entries: usize) -> Self {
        Self { config_table: BTreeMap::new(), entries: 0, max_entries }
    }

    /// Sets a value; replacing an existing key always succeeds, a new key only below the cap.
    pub fn put_kv_config(
        &mut self,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> Result<(), KvConfigError> {
        if namespace.is_empty() || key.is_empty() {
            return Err(KvConfigError::EmptyName);
        }
        let exists = self.config_table.get(namespace).is_some_and(|t| t.contains_key(key));
        if !exists && self.entries >= self.max_entries {
            return Err(KvConfigError::Full { max: self.max_entries });
        }
        let table = self.config_table.entry(namespace.to_owned()).or_default();
        if table.insert(key.to_owned(), value.to_owned()).is_none() {
            self.entries += 1;
        }
        tracing::info!(namespace, key, value, "KV config put");
        Ok(())
    }

    /// A value, if set.
    pub fn get_kv_config(&self, namespace: &str, key: &str) -> Option<&str> {
        self.config_table.get(namespace)?.get(key).map(String::as_str)
    }

    /// Removes a value; removing what is not there is not an error (RocketMQ answers SUCCESS).
    pub fn delete_kv_config(&mut self, namespace: &str, key: &str) {
        let Some(table) = self.config_table.get_mut(namespace) else { return };
        if table.remove(key).is_some() {
            self.entries -= 1;
            tracing::info!(namespace, key, "KV config deleted");
        }
        if table.is_empty() {
            self.config_table.remove(namespace);
        }
    }

    /// Every value of a namespace, if it has any.
    pub fn get_kv_list_by_namespace(&self, namespace: &str) -> Option<&BTreeMap<String, String>> {
        self.config_table.get(namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bound() {
        let mut kv = KvConfigManager::new(2);
        kv.put_kv_config("ns", "a", "1").unwrap();
        kv.put_kv_config("ns", "a", "2").unwrap();
        kv.put_kv_config("other", "b", "3").unwrap();
        assert_eq!(kv.get_kv_config("ns", "a"), Some("2"));
        assert_eq!(kv.put_kv_config("ns", "c", "x"), Err(KvConfigError::Full { max: 2 }));
        // Replacing at the cap is fine; deleting frees room.
        kv.put_kv_config("other", "b", "4").unwrap();
        kv.delete_kv_config("ns", "a");
        kv.delete_kv_config("ns", "a");
        assert_eq!(kv.get_kv_config("ns", "a"), None);
        assert!(kv.get_kv_list_by_namespace("ns").is_none());
        kv.put_kv_config("ns", "c", "x").unwrap();
        assert_eq!(kv.get_kv_list_by_namespace("ns").map(BTreeMap::len), Some(1));
        assert_eq!(kv.put_kv_config("", "c", "x"), Err(KvConfigError::EmptyName));
    }
}
