//! Talking to the name servers (RocketMQ `BrokerOuterAPI`): REGISTER_BROKER to every name
//! server (at start, every `registerNameServerPeriod`, and at once when topics change) and
//! UNREGISTER_BROKER at shutdown. Name servers are contacted in parallel so one that is down
//! does not delay the others.

use std::time::Duration;

use protocol::body::{JsonBody, RegisterBrokerBody, TopicConfigSerializeWrapper};
use protocol::header::{RegisterBrokerRequestHeader, UnregisterBrokerRequestHeader};
use protocol::message::body_crc;
use protocol::{RemotingCommand, RequestCode, ResponseCode};
use remoting::{ClientConfig, RemotingClient};

/// Who this broker is, as the name servers know it.
#[derive(Debug, Clone)]
pub struct BrokerIdentity {
    pub cluster_name: String,
    pub broker_name: String,
    pub broker_addr: String,
    pub broker_id: i64,
    pub ha_server_addr: String,
}

/// The client side of the broker towards the name servers.
#[derive(Clone)]
pub struct BrokerOuterApi {
    client: RemotingClient,
}

impl std::fmt::Debug for BrokerOuterApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrokerOuterApi")
    }
}

impl Default for BrokerOuterApi {
    fn default() -> Self {
        Self::new()
    }
}

impl BrokerOuterApi {
    /// A client with the transport's default limits.
    pub fn new() -> Self {
        Self { client: RemotingClient::new(ClientConfig::default()) }
    }

    /// Registers with every name server in parallel; returns how many accepted.
    pub async fn register_broker_all(
        &self,
        namesrv_addrs: &[String],
        who: &BrokerIdentity,
        topics: TopicConfigSerializeWrapper,
        timeout: Duration,
    ) -> usize {
        let body = RegisterBrokerBody {
            filter_server_list: Vec::new(),
            topic_config_serialize_wrapper: topics,
        };
        let body = match body.encode() {
            Ok(b) => bytes::Bytes::from(b),
            Err(e) => {
                tracing::error!(error = %e, "cannot encode the register body");
                return 0;
            }
        };
        let header = RegisterBrokerRequestHeader {
            broker_name: who.broker_name.clone(),
            broker_addr: who.broker_addr.clone(),
            cluster_name: who.cluster_name.clone(),
            ha_server_addr: who.ha_server_addr.clone(),
            broker_id: who.broker_id,
            heartbeat_timeout_millis: None,
            enable_acting_master: Some(false),
            compressed: Some(false),
            body_crc32: Some(body_crc(&body) as i32),
            zone_name: None,
        };
        let mut tasks = Vec::with_capacity(namesrv_addrs.len());
        for addr in namesrv_addrs {
            let request = RemotingCommand::request(RequestCode::REGISTER_BROKER, &header)
                .with_body(body.clone());
            let client = self.client.clone();
            let addr = addr.clone();
            tasks.push(tokio::spawn(async move {
                match client.invoke(&addr, request, timeout).await {
                    Ok(r) if r.code == ResponseCode::SUCCESS => true,
                    Ok(r) => {
                        tracing::warn!(namesrv = %addr, code = r.code, remark = ?r.remark,
                            "name server refused the registration");
                        false
                    }
                    Err(e) => {
                        tracing::warn!(namesrv = %addr, error = %e, "registration failed");
                        false
                    }
                }
            }));
        }
        let mut ok = 0;
        for t in tasks {
            if matches!(t.await, Ok(true)) {
                ok += 1;
            }
        }
        ok
    }

    /// Unregisters from every name server in parallel; returns how many accepted.
    pub async fn unregister_broker_all(
        &self,
        namesrv_addrs: &[String],
        who: &BrokerIdentity,
        timeout: Duration,
    ) -> usize {
        let header = UnregisterBrokerRequestHeader {
            broker_name: who.broker_name.clone(),
            broker_addr: who.broker_addr.clone(),
            cluster_name: who.cluster_name.clone(),
            broker_id: who.broker_id,
        };
        let mut tasks = Vec::with_capacity(namesrv_addrs.len());
        for addr in namesrv_addrs {
            let request = RemotingCommand::request(RequestCode::UNREGISTER_BROKER, &header);
            let client = self.client.clone();
            let addr = addr.clone();
            tasks.push(tokio::spawn(async move {
                match client.invoke(&addr, request, timeout).await {
                    Ok(r) => r.code == ResponseCode::SUCCESS,
                    Err(e) => {
                        tracing::warn!(namesrv = %addr, error = %e, "unregistration failed");
                        false
                    }
                }
            }));
        }
        let mut ok = 0;
        for t in tasks {
            if matches!(t.await, Ok(true)) {
                ok += 1;
            }
        }
        ok
    }

    /// Closes the connections to the name servers.
    pub fn shutdown(&self) {
        self.client.close_all();
    }
}
