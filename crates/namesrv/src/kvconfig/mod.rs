//! The KV config: namespaced string settings (in memory; see [`kv_config_manager`]).

pub mod kv_config_manager;

pub use kv_config_manager::{
    KvConfigError, KvConfigManager, DEFAULT_MAX_KV_ENTRIES, NAMESPACE_ORDER_TOPIC_CONFIG,
};
