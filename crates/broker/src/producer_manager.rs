//! Producer registry (RocketMQ `ProducerManager`): producer group → its clients' channels,
//! refreshed by heartbeats, dropped on UNREGISTER_CLIENT, on close and after
//! `channelExpiredTimeout` of silence. Transaction check-backs pick a live channel from here.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use remoting::Channel;

use crate::client_channel_info::ClientChannelInfo;

/// Why a producer was not registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterError {
    /// The registry already tracks `max` groups.
    TooManyGroups { max: usize },
    /// The group already has `max` channels.
    TooManyChannels { max: usize },
}

/// The producer registry.
pub struct ProducerManager {
    max_groups: usize,
    max_channels_per_group: usize,
    groups: Mutex<BTreeMap<String, HashMap<u64, ClientChannelInfo>>>,
}

impl std::fmt::Debug for ProducerManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerManager").field("groups", &self.lock().len()).finish()
    }
}

impl ProducerManager {
    /// An empty registry with the given bounds.
    pub fn new(max_groups: usize, max_channels_per_group: usize) -> Self {
        Self { max_groups, max_channels_per_group, groups: Mutex::new(BTreeMap::new()) }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, HashMap<u64, ClientChannelInfo>>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers or refreshes a producer channel.
    pub fn register_producer(
        &self,
        group: &str,
        info: ClientChannelInfo,
    ) -> Result<(), RegisterError> {
        let mut groups = self.lock();
        // As for consumers (`ConsumerManager::register_consumer`): a heartbeat handled after
        // its connection's close event must not leave the closed channel registered.
        if info.channel.is_closed() {
            return Ok(());
        }
        if !groups.contains_key(group) && groups.len() >= self.max_groups {
            return Err(RegisterError::TooManyGroups { max: self.max_groups });
        }
        let channels = groups.entry(group.to_owned()).or_default();
        let id = info.channel.id();
        if !channels.contains_key(&id) && channels.len() >= self.max_channels_per_group {
            return Err(RegisterError::TooManyChannels { max: self.max_channels_per_group });
        }
        channels.insert(id, info);
        Ok(())
    }

    /// Removes a channel from a group.
    pub fn unregister_producer(&self, group: &str, channel: &Channel) {
        let mut groups = self.lock();
        if let Some(channels) = groups.get_mut(group) {
            channels.remove(&channel.id());
            if channels.is_empty() {
                groups.remove(group);
            }
        }
    }

    /// Removes a closed channel from every group.
    pub fn do_channel_close_event(&self, channel: &Channel) {
        let mut groups = self.lock();
        groups.retain(|_, channels| {
            channels.remove(&channel.id());
            !channels.is_empty()
        });
    }

    /// Drops channels not refreshed since `deadline_ms`; returns how many, closing them.
    pub fn scan_not_active_channel(&self, deadline_ms: i64) -> usize {
        let mut removed = Vec::new();
        let mut groups = self.lock();
        groups.retain(|_, channels| {
            channels.retain(|_, info| {
                let keep = info.last_update_timestamp >= deadline_ms;
                if !keep {
                    removed.push(info.channel.clone());
                }
                keep
            });
            !channels.is_empty()
        });
        drop(groups);
        for ch in &removed {
            tracing::info!(remote = %ch.remote_addr(), "producer channel expired");
            ch.close();
        }
        removed.len()
    }

    /// The channels of a group.
    pub fn group_channels(&self, group: &str) -> Vec<ClientChannelInfo> {
        self.lock().get(group).map(|c| c.values().cloned().collect()).unwrap_or_default()
    }

    /// Number of groups tracked.
    pub fn group_count(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Loopback;

    #[tokio::test]
    async fn register_unregister_expire_and_bounds() {
        let lo = Loopback::start().await;
        let (a, b) = (lo.channel().await, lo.channel().await);
        let info = |ch: &Channel, at| ClientChannelInfo {
            channel: ch.clone(),
            client_id: "c".into(),
            language: protocol::LanguageCode::Go,
            version: 317,
            last_update_timestamp: at,
        };
        let m = ProducerManager::new(1, 1);
        m.register_producer("PG", info(&a, 10)).unwrap();
        assert_eq!(
            m.register_producer("PG", info(&b, 10)),
            Err(RegisterError::TooManyChannels { max: 1 })
        );
        assert_eq!(
            m.register_producer("PG2", info(&b, 10)),
            Err(RegisterError::TooManyGroups { max: 1 })
        );
        assert_eq!(m.group_channels("PG").len(), 1);
        m.unregister_producer("PG", &a);
        assert_eq!(m.group_count(), 0);
        m.register_producer("PG", info(&a, 10)).unwrap();
        assert_eq!(m.scan_not_active_channel(11), 1);
        assert!(a.is_closed());
        m.register_producer("PG", info(&b, 10)).unwrap();
        m.do_channel_close_event(&b);
        assert_eq!(m.group_count(), 0);
        // A heartbeat on a channel already closed registers nothing.
        b.close();
        m.register_producer("PG", info(&b, 20)).unwrap();
        assert_eq!(m.group_count(), 0);
    }
}
