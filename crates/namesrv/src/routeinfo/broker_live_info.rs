//! The liveness side of the registry: which broker address registered when, on which
//! connection, and how long it may stay silent.

use protocol::body::DataVersion;

/// A connection's identity, as the transport numbers them. Registrations remember it so that a
/// closed connection can take its broker with it.
pub type ChannelId = u64;

/// How long a broker may go without registering before it is dropped, unless it says otherwise
/// in `heartbeatTimeoutMillis` (RocketMQ's `DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`).
pub const DEFAULT_BROKER_CHANNEL_EXPIRED_TIME_MILLIS: u64 = 120_000;

/// Key of the live table: a broker address is unique within a cluster, not across clusters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BrokerAddrInfo {
    pub cluster_name: String,
    pub broker_addr: String,
}

impl BrokerAddrInfo {
    pub fn new(cluster_name: impl Into<String>, broker_addr: impl Into<String>) -> Self {
        Self { cluster_name: cluster_name.into(), broker_addr: broker_addr.into() }
    }
}

/// One registered broker address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerLiveInfo {
    /// Wall-clock millis of the last REGISTER_BROKER or keep-alive.
    pub last_update_timestamp: u64,
    pub heartbeat_timeout_millis: u64,
    /// The version of the topic table last read from this broker.
    pub data_version: DataVersion,
    /// The connection it registered on, when it came over the network.
    pub channel_id: Option<ChannelId>,
    pub ha_server_addr: String,
}

impl BrokerLiveInfo {
    /// Whether the broker has been silent for longer than it promised at `now`.
    pub fn is_expired(&self, now: u64) -> bool {
        self.last_update_timestamp.saturating_add(self.heartbeat_timeout_millis) < now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_strictly_after_the_timeout() {
        let info = BrokerLiveInfo {
            last_update_timestamp: 1_000,
            heartbeat_timeout_millis: 120_000,
            data_version: DataVersion::default(),
            channel_id: None,
            ha_server_addr: String::new(),
        };
        assert!(!info.is_expired(121_000));
        assert!(info.is_expired(121_001));
        let forever = BrokerLiveInfo { heartbeat_timeout_millis: u64::MAX, ..info };
        assert!(!forever.is_expired(u64::MAX));
    }
}
