//! NamesrvConfig: the name server's settings, read from a RocketMQ-format `namesrv.conf` with
//! RocketMQ's key names (Java's NamesrvConfig and NettyServerConfig share one file).
//!
//! Keys Java knows but that mean nothing here (thread pools, Netty buffers, the KV file path:
//! see [`IGNORED_KEYS`]) are accepted so that an existing file loads unchanged; anything else
//! unknown is reported by the binary as a warning with its file and line.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use remoting::{ConfigError, Properties, ServerConfig};

use crate::kvconfig::DEFAULT_MAX_KV_ENTRIES;
use crate::routeinfo::RouteInfoOptions;

/// The name server's default port.
pub const DEFAULT_LISTEN_PORT: u16 = 9876;

/// Default of `maxLiveBrokers`: far more broker addresses than any real cluster registers.
pub const DEFAULT_MAX_LIVE_BROKERS: usize = 4096;

/// Keys this implementation reads.
pub const KNOWN_KEYS: &[&str] = &[
    "listenPort",
    "bindAddress",
    "orderMessageEnable",
    "returnOrderTopicConfigToBroker",
    "scanNotActiveBrokerInterval",
    "enableAllTopicList",
    "enableTopicList",
    "supportActingMaster",
    "deleteTopicWithBrokerRegistration",
    "serverChannelMaxIdleTimeSeconds",
    "kvConfigMaxEntries",
    "maxLiveBrokers",
];

/// Keys of Java's NamesrvConfig/NettyServerConfig that are accepted and have no effect here.
pub const IGNORED_KEYS: &[&str] = &[
    "rocketmqHome",
    "kvConfigPath",
    "configStorePath",
    "productEnvName",
    "clusterTest",
    "clientRequestThreadPoolNums",
    "defaultThreadPoolNums",
    "clientRequestThreadPoolQueueCapacity",
    "defaultThreadPoolQueueCapacity",
    "unRegisterBrokerQueueCapacity",
    "notifyMinBrokerIdChanged",
    "enableControllerInNamesrv",
    "needWaitForService",
    "waitSecondsForService",
    "configBlackList",
    "serverWorkerThreads",
    "serverCallbackExecutorThreads",
    "serverSelectorThreads",
    "serverOnewaySemaphoreValue",
    "serverAsyncSemaphoreValue",
    "serverSocketSndBufSize",
    "serverSocketRcvBufSize",
    "serverSocketBacklog",
    "writeBufferHighWaterMark",
    "writeBufferLowWaterMark",
    "serverPooledByteBufAllocatorEnable",
    "useEpollNativeSelector",
];

/// The name server's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamesrvConfig {
    /// `listenPort` (9876).
    pub listen_port: u16,
    /// `bindAddress` (0.0.0.0).
    pub bind_address: IpAddr,
    /// `orderMessageEnable`: put `orderTopicConf` from the ORDER_TOPIC_CONFIG namespace into
    /// routes (false).
    pub order_message_enable: bool,
    /// `returnOrderTopicConfigToBroker`: answer REGISTER_BROKER with the ORDER_TOPIC_CONFIG
    /// table (true).
    pub return_order_topic_config_to_broker: bool,
    /// `scanNotActiveBrokerInterval`: millis between expiry scans (5000).
    pub scan_not_active_broker_interval_millis: u64,
    /// `enableAllTopicList`: serve GET_ALL_TOPIC_LIST_FROM_NAMESERVER (true).
    pub enable_all_topic_list: bool,
    /// `enableTopicList`: serve GET_TOPICS_BY_CLUSTER (true).
    pub enable_topic_list: bool,
    /// `supportActingMaster` (false).
    pub support_acting_master: bool,
    /// `deleteTopicWithBrokerRegistration` (false).
    pub delete_topic_with_broker_registration: bool,
    /// `serverChannelMaxIdleTimeSeconds`: close connections idle this long (120; 0 = never).
    pub server_channel_max_idle_time_seconds: u64,
    /// `kvConfigMaxEntries`: cap on KV config entries over all namespaces (100000).
    pub kv_config_max_entries: usize,
    /// `maxLiveBrokers` (Apogee's own key): cap on registered broker addresses (4096). A
    /// registration from a new address past it is refused with SYSTEM_ERROR, so that a client
    /// registering made-up brokers cannot grow the route table without bound; registrations
    /// already in the table always go through.
    pub max_live_brokers: usize,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        Self {
            listen_port: DEFAULT_LISTEN_PORT,
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            order_message_enable: false,
            return_order_topic_config_to_broker: true,
            scan_not_active_broker_interval_millis: 5_000,
            enable_all_topic_list: true,
            enable_topic_list: true,
            support_acting_master: false,
            delete_topic_with_broker_registration: false,
            server_channel_max_idle_time_seconds: 120,
            kv_config_max_entries: DEFAULT_MAX_KV_ENTRIES,
            max_live_brokers: DEFAULT_MAX_LIVE_BROKERS,
        }
    }
}

impl NamesrvConfig {
    /// Reads every known key of `props` over the defaults. A malformed or out-of-range value is
    /// an error naming the file, line and key; unknown keys are left to
    /// [`unknown_keys`](Self::unknown_keys).
    pub fn from_properties(props: &Properties) -> Result<Self, ConfigError> {
        let mut c = Self::default();
        if let Some(v) = props.get_u16("listenPort")? {
            c.listen_port = v;
        }
        if let Some(v) = props.get_with("bindAddress", |v| {
            v.parse::<IpAddr>().map_err(|_| format!("expected an IP address, found {v:?}"))
        })? {
            c.bind_address = v;
        }
        let flags: [(&str, &mut bool); 6] = [
            ("orderMessageEnable", &mut c.order_message_enable),
            ("returnOrderTopicConfigToBroker", &mut c.return_order_topic_config_to_broker),
            ("enableAllTopicList", &mut c.enable_all_topic_list),
            ("enableTopicList", &mut c.enable_topic_list),
            ("supportActingMaster", &mut c.support_acting_master),
            ("deleteTopicWithBrokerRegistration", &mut c.delete_topic_with_broker_registration),
        ];
        for (key, slot) in flags {
            if let Some(v) = props.get_bool(key)? {
                *slot = v;
            }
        }
        if let Some(v) = props.get_u64("scanNotActiveBrokerInterval")? {
            if v == 0 {
                return Err(props.error("scanNotActiveBrokerInterval", "must be at least 1 ms"));
            }
            c.scan_not_active_broker_interval_millis = v;
        }
        if let Some(v) = props.get_u64("serverChannelMaxIdleTimeSeconds")? {
            c.server_channel_max_idle_time_seconds = v;
        }
        if let Some(v) = props.get_u64("kvConfigMaxEntries")? {
            c.kv_config_max_entries = usize::try_from(v)
                .map_err(|_| props.error("kvConfigMaxEntries", "too large for this platform"))?;
        }
        if let Some(v) = props.get_u64("maxLiveBrokers")? {
            if v == 0 {
                return Err(props.error("maxLiveBrokers", "must be at least 1"));
            }
            c.max_live_brokers = usize::try_from(v)
                .map_err(|_| props.error("maxLiveBrokers", "too large for this platform"))?;
        }
        Ok(c)
    }

    /// Keys of `props` this implementation neither reads nor knows to ignore: (line, key).
    pub fn unknown_keys(props: &Properties) -> Vec<(usize, String)> {
        let known: Vec<&str> = KNOWN_KEYS.iter().chain(IGNORED_KEYS).copied().collect();
        props.unknown_keys(&known)
    }

    /// Keys of `props` that Java reads and this implementation ignores: (line, key).
    pub fn ignored_keys(props: &Properties) -> Vec<(usize, String)> {
        let mut keys: Vec<(usize, String)> = props
            .iter()
            .filter(|(k, _, _)| IGNORED_KEYS.contains(k))
            .map(|(k, _, line)| (line, k.to_owned()))
            .collect();
        keys.sort();
        keys
    }

    /// The address to listen on.
    pub fn listen_addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind_address, self.listen_port)
    }

    /// The route table switches.
    pub fn route_info_options(&self) -> RouteInfoOptions {
        RouteInfoOptions {
            support_acting_master: self.support_acting_master,
            delete_topic_with_broker_registration: self.delete_topic_with_broker_registration,
        }
    }

    /// The transport settings.
    pub fn server_config(&self) -> ServerConfig {
        let mut server = ServerConfig::default();
        server.connection.max_idle = (self.server_channel_max_idle_time_seconds > 0)
            .then(|| Duration::from_secs(self.server_channel_max_idle_time_seconds));
        server
    }

    /// Every setting as `(key, value)`, in [`KNOWN_KEYS`] order.
    pub fn items(&self) -> Vec<(&'static str, String)> {
        vec![
            ("listenPort", self.listen_port.to_string()),
            ("bindAddress", self.bind_address.to_string()),
            ("orderMessageEnable", self.order_message_enable.to_string()),
            (
                "returnOrderTopicConfigToBroker",
                self.return_order_topic_config_to_broker.to_string(),
            ),
            (
                "scanNotActiveBrokerInterval",
                self.scan_not_active_broker_interval_millis.to_string(),
            ),
            ("enableAllTopicList", self.enable_all_topic_list.to_string()),
            ("enableTopicList", self.enable_topic_list.to_string()),
            ("supportActingMaster", self.support_acting_master.to_string()),
            (
                "deleteTopicWithBrokerRegistration",
                self.delete_topic_with_broker_registration.to_string(),
            ),
            (
                "serverChannelMaxIdleTimeSeconds",
                self.server_channel_max_idle_time_seconds.to_string(),
            ),
            ("kvConfigMaxEntries", self.kv_config_max_entries.to_string()),
            ("maxLiveBrokers", self.max_live_brokers.to_string()),
        ]
    }

    /// Every setting as `key=value` lines.
    pub fn to_properties_string(&self) -> String {
        let mut out = String::new();
        for (key, value) in self.items() {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "{key}={value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_known_keys_and_reports_the_rest() {
        let text = "# comment\nlistenPort=19876\norderMessageEnable = true\n\
                    scanNotActiveBrokerInterval: 1000\nserverWorkerThreads=8\nlistenPrt=1\n\
                    bindAddress=127.0.0.1\n";
        let props = Properties::parse(text, "namesrv.conf").unwrap();
        let c = NamesrvConfig::from_properties(&props).unwrap();
        assert_eq!(c.listen_port, 19876);
        assert!(c.order_message_enable);
        assert_eq!(c.scan_not_active_broker_interval_millis, 1000);
        assert_eq!(c.listen_addr().to_string(), "127.0.0.1:19876");
        assert_eq!(NamesrvConfig::unknown_keys(&props), vec![(6, "listenPrt".to_owned())]);
        assert_eq!(
            NamesrvConfig::ignored_keys(&props),
            vec![(5, "serverWorkerThreads".to_owned())]
        );
    }

    #[test]
    fn bad_values_name_file_and_line() {
        for (text, line, key) in [
            ("\nlistenPort=70000\n", 2, "listenPort"),
            ("orderMessageEnable=yes\n", 1, "orderMessageEnable"),
            ("a=1\n\n\nscanNotActiveBrokerInterval=0\n", 4, "scanNotActiveBrokerInterval"),
            ("bindAddress=localhost\n", 1, "bindAddress"),
        ] {
            let props = Properties::parse(text, "namesrv.conf").unwrap();
            let err = NamesrvConfig::from_properties(&props).unwrap_err();
            assert_eq!((err.line, err.key.as_str()), (line, key), "{err}");
            assert!(err.to_string().starts_with(&format!("namesrv.conf:{line}: {key}: ")), "{err}");
        }
    }

    #[test]
    fn printed_config_reads_back() {
        let c = NamesrvConfig { listen_port: 1, order_message_enable: true, ..Default::default() };
        let props = Properties::parse(&c.to_properties_string(), "printed").unwrap();
        assert_eq!(NamesrvConfig::from_properties(&props).unwrap(), c);
        assert!(NamesrvConfig::unknown_keys(&props).is_empty());
    }
}
