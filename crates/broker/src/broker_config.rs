//! The broker's settings (RocketMQ `BrokerConfig`), named after RocketMQ's property keys so a
//! `broker.conf` written for RocketMQ configures Apogee the same way. The store's settings are
//! `store::MessageStoreConfig`; `broker_config_loader` reads both from one properties file.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use protocol::body::perm;

/// Master or slave, and how a master acknowledges (`brokerRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BrokerRole {
    /// Acknowledges once stored locally.
    #[default]
    AsyncMaster,
    /// Acknowledges once the in-sync slaves hold the message.
    SyncMaster,
    /// A replica.
    Slave,
}

impl BrokerRole {
    /// Parses RocketMQ's property value.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "ASYNC_MASTER" => Some(Self::AsyncMaster),
            "SYNC_MASTER" => Some(Self::SyncMaster),
            "SLAVE" => Some(Self::Slave),
            _ => None,
        }
    }

    /// RocketMQ's property value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AsyncMaster => "ASYNC_MASTER",
            Self::SyncMaster => "SYNC_MASTER",
            Self::Slave => "SLAVE",
        }
    }
}

/// Settings of one broker. `Default` is RocketMQ's defaults, except `brokerIP1` (see there).
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerConfig {
    /// `brokerClusterName`.
    pub broker_cluster_name: String,
    /// `brokerName`: the broker group (master and its slaves share it).
    pub broker_name: String,
    /// `brokerId`: 0 for the master.
    pub broker_id: i64,
    /// `brokerRole`.
    pub broker_role: BrokerRole,
    /// `listenPort` (10911). The VIP channel listens on `listenPort - 2`. 0 binds an ephemeral
    /// port (tests), and the VIP channel then gets one too.
    pub listen_port: u16,
    /// `brokerIP1`: the address registered with the name servers and stamped into offsetMsgIds.
    /// RocketMQ defaults to the first non-loopback IPv4 of the host; Apogee defaults to
    /// 127.0.0.1 so a single-machine quickstart works without configuration. Set it to a
    /// reachable address for any multi-host deployment.
    pub broker_ip1: IpAddr,
    /// `namesrvAddr`: name servers, `host:port` separated by `;`.
    pub namesrv_addr: Vec<String>,
    /// `storePathRootDir`: root of the store and of `config/`.
    pub store_path_root_dir: PathBuf,
    /// `brokerPermission`: PermName bits of the whole broker (6 = read + write).
    pub broker_permission: i32,
    /// `autoCreateTopicEnable`: create unknown topics on send from TBW102.
    pub auto_create_topic_enable: bool,
    /// `autoCreateSubscriptionGroup`: create unknown groups on heartbeat and pull.
    pub auto_create_subscription_group: bool,
    /// `defaultTopicQueueNums`: queues of TBW102 (8).
    pub default_topic_queue_nums: i32,
    /// `clusterTopicEnable`: a topic named after the cluster (for `mqadmin` sends).
    pub cluster_topic_enable: bool,
    /// `brokerTopicEnable`: a topic named after the broker.
    pub broker_topic_enable: bool,
    /// `registerNameServerPeriod`: ms between registrations (30 s, clamped to 10-60 s).
    pub register_name_server_period: u64,
    /// `registerBrokerTimeoutMills`: timeout of one registration request (6 s).
    pub register_broker_timeout_mills: u64,
    /// `longPollingEnable`: hold pulls until a message arrives or `suspendTimeoutMillis`.
    pub long_polling_enable: bool,
    /// `shortPollingTimeMills`: hold time when long polling is disabled (1 s).
    pub short_polling_time_mills: u64,
    /// `flushConsumerOffsetInterval`: ms between consumer offset persists (5 s).
    pub flush_consumer_offset_interval: u64,
    /// `flushDelayOffsetInterval`: ms between persists of `config/delayOffset.json` (10 s).
    pub flush_delay_offset_interval: u64,
    /// `channelExpiredTimeout`: a client silent this long is unregistered (120 s).
    pub channel_expired_timeout: u64,
    /// Most pull requests held at once by long polling; beyond it a pull is answered
    /// SYSTEM_BUSY and the client backs off.
    pub max_held_pull_requests: usize,
    /// Most consumer (and, separately, producer) groups tracked; heartbeats for new groups
    /// beyond it are refused with SYSTEM_BUSY.
    pub max_client_groups: usize,
    /// Most client channels per group; beyond it a new client's heartbeat is refused.
    pub max_channels_per_group: usize,
    /// Most `topic@group` entries in the consumer offset table; commits for new entries beyond it
    /// are refused.
    pub max_consumer_offset_entries: usize,
    /// Most queue locks held by orderly consumers; beyond it new locks are not granted.
    pub max_queue_locks: usize,
    /// Most topics on this broker; creating one more is refused.
    pub max_topics: usize,
    /// Most subscription groups on this broker.
    pub max_subscription_groups: usize,
    /// `maxMsgNumsPerPull`-style cap on one pull request's `maxMsgNums`.
    pub max_pull_msg_nums: i32,
    /// `defaultQueryMaxNum`: messages returned by QUERY_MESSAGE at most (32).
    pub default_query_max_num: i32,
    /// `traceOn`: the TRACE_ON value put in send responses.
    pub trace_on: bool,
    /// `regionId`: the MSG_REGION value put in send responses.
    pub region_id: String,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            broker_cluster_name: "DefaultCluster".to_owned(),
            broker_name: "broker-a".to_owned(),
            broker_id: 0,
            broker_role: BrokerRole::AsyncMaster,
            listen_port: 10911,
            broker_ip1: IpAddr::V4(Ipv4Addr::LOCALHOST),
            namesrv_addr: Vec::new(),
            store_path_root_dir: PathBuf::from("./data/store"),
            broker_permission: perm::READ | perm::WRITE,
            auto_create_topic_enable: true,
            auto_create_subscription_group: true,
            default_topic_queue_nums: 8,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            register_name_server_period: 30_000,
            register_broker_timeout_mills: 6_000,
            long_polling_enable: true,
            short_polling_time_mills: 1_000,
            flush_consumer_offset_interval: 5_000,
            flush_delay_offset_interval: 10_000,
            channel_expired_timeout: 120_000,
            max_held_pull_requests: 100_000,
            max_client_groups: 10_000,
            max_channels_per_group: 10_000,
            max_consumer_offset_entries: 1_000_000,
            max_queue_locks: 1_000_000,
            max_topics: 100_000,
            max_subscription_groups: 100_000,
            max_pull_msg_nums: 1024,
            default_query_max_num: 32,
            trace_on: true,
            region_id: "DefaultRegion".to_owned(),
        }
    }
}

impl BrokerConfig {
    /// Whether this broker is a master.
    pub fn is_master(&self) -> bool {
        self.broker_role != BrokerRole::Slave
    }

    /// The registration period, clamped to RocketMQ's 10-60 s.
    pub fn register_period(&self) -> Duration {
        Duration::from_millis(self.register_name_server_period.clamp(10_000, 60_000))
    }

    /// Parses `namesrvAddr` (`a:9876;b:9876`), dropping blanks.
    pub fn parse_namesrv_addr(value: &str) -> Vec<String> {
        value.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }

    /// Checks values that are individually valid but unusable.
    pub fn validate(&self) -> Result<(), String> {
        if self.broker_name.is_empty() || self.broker_cluster_name.is_empty() {
            return Err("brokerName and brokerClusterName must not be empty".to_owned());
        }
        if self.broker_id < 0 {
            return Err(format!("brokerId {} must not be negative", self.broker_id));
        }
        if self.listen_port != 0 && self.listen_port < 2 {
            return Err(format!("listenPort {} leaves no room for the VIP port", self.listen_port));
        }
        if self.default_topic_queue_nums <= 0 {
            return Err("defaultTopicQueueNums must be positive".to_owned());
        }
        for addr in &self.namesrv_addr {
            if addr.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()).is_none() {
                return Err(format!("namesrvAddr entry {addr:?} is not host:port"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let c = BrokerConfig::default();
        assert!(c.validate().is_ok());
        assert!(c.is_master());
        assert_eq!(c.register_period(), Duration::from_secs(30));
        assert_eq!(
            BrokerConfig::parse_namesrv_addr(" a:1; ;b:2;"),
            vec!["a:1".to_owned(), "b:2".to_owned()]
        );
        let bad = BrokerConfig { namesrv_addr: vec!["nope".into()], ..c.clone() };
        assert!(bad.validate().is_err());
        let slave = BrokerConfig { broker_role: BrokerRole::Slave, ..c };
        assert!(!slave.is_master());
        assert_eq!(BrokerRole::parse("SYNC_MASTER"), Some(BrokerRole::SyncMaster));
    }
}
