//! [`ClientConfig`]: what every producer, consumer and admin of one client instance shares
//! (RocketMQ's `ClientConfig`).

use std::net::IpAddr;
use std::time::Duration;

/// The environment variable consulted when no name server address is configured.
pub const NAMESRV_ADDR_ENV: &str = "NAMESRV_ADDR";

/// Settings of a client instance. Producers and consumers built from clones of one config share
/// one [`MQClientInstance`](crate::MQClientInstance) (one set of connections, one heartbeat);
/// separately made configs never do, since each draws its own instance name.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host:port;host:port`. `None`: the `NAMESRV_ADDR` environment variable.
    pub namesrv_addr: Option<String>,
    /// The instance part of the client id. The default, `pid#<random>`, is drawn when the
    /// config is made, so clones share it and separate configs never collide (many simulated
    /// clients run in one process with one pid).
    pub instance_name: String,
    /// The IP this client reports in its client id and message ids. `None`: the local address
    /// of the first connection to a name server, or 127.0.0.1.
    pub client_ip: Option<IpAddr>,
    /// Appended to the client id when set (`ip@instance@unit`).
    pub unit_name: Option<String>,
    /// How often routes of known topics are refreshed (30 s).
    pub poll_name_server_interval: Duration,
    /// How often the client heartbeats every broker (30 s).
    pub heartbeat_broker_interval: Duration,
    /// How often consumer offsets are written to the brokers (5 s).
    pub persist_consumer_offset_interval: Duration,
    /// How often consumers rebalance without being told to (20 s).
    pub rebalance_interval: Duration,
    /// Timeout of ordinary requests to name servers and brokers (3 s).
    pub mq_client_api_timeout: Duration,
    /// Transport limits.
    pub remoting: remoting::ClientConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            namesrv_addr: None,
            instance_name: format!("{}#{}", rt::process_local::pid(), rt::rand::u64()),
            client_ip: None,
            unit_name: None,
            poll_name_server_interval: Duration::from_secs(30),
            heartbeat_broker_interval: Duration::from_secs(30),
            persist_consumer_offset_interval: Duration::from_secs(5),
            rebalance_interval: Duration::from_secs(20),
            mq_client_api_timeout: Duration::from_secs(3),
            remoting: remoting::ClientConfig::default(),
        }
    }
}

impl ClientConfig {
    /// A default config for the given name servers (`host:port;host:port`).
    pub fn new(namesrv_addr: impl Into<String>) -> Self {
        Self { namesrv_addr: Some(namesrv_addr.into()), ..Self::default() }
    }

    /// The name server addresses: the configured ones, else those of `NAMESRV_ADDR`.
    pub fn namesrv_addrs(&self) -> Vec<String> {
        let raw = match &self.namesrv_addr {
            Some(s) if !s.trim().is_empty() => s.clone(),
            _ => std::env::var(NAMESRV_ADDR_ENV).unwrap_or_default(),
        };
        split_addrs(&raw)
    }

    /// `ip@instance[@unit]`, RocketMQ's client id.
    pub fn build_client_id(&self, ip: IpAddr) -> String {
        match &self.unit_name {
            Some(unit) if !unit.is_empty() => format!("{ip}@{}@{unit}", self.instance_name),
            _ => format!("{ip}@{}", self.instance_name),
        }
    }
}

/// Splits `a;b` (commas and whitespace tolerated) into addresses.
pub(crate) fn split_addrs(raw: &str) -> Vec<String> {
    raw.split([';', ',']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addrs_and_ids() {
        let c = ClientConfig::new("a:9876; b:9876;");
        assert_eq!(c.namesrv_addrs(), vec!["a:9876", "b:9876"]);
        let d = ClientConfig::default();
        assert!(d.instance_name.starts_with(&format!("{}#", rt::process_local::pid())));
        assert_ne!(d.instance_name, ClientConfig::default().instance_name);
        let ip: IpAddr = "10.0.0.5".parse().unwrap();
        let mut c = ClientConfig { instance_name: "i".into(), ..c };
        assert_eq!(c.build_client_id(ip), "10.0.0.5@i");
        c.unit_name = Some("u".into());
        assert_eq!(c.build_client_id(ip), "10.0.0.5@i@u");
    }
}
