//! Helpers shared by the broker's integration tests: a broker on an ephemeral loopback port
//! over a temporary FsDisk, and hand-built requests sent with `remoting::RemotingClient`.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use broker::{BrokerConfig, BrokerController, BrokerHandle};
use bytes::{Bytes, BytesMut};
use protocol::body::{ConsumerData, HeartbeatData, JsonBody, ProducerData, SubscriptionData};
use protocol::header::{PullMessageRequestHeader, SendMessageRequestHeader};
use protocol::message::properties::encode_properties;
use protocol::message::{encode_batch, java_string_hash, BatchMessage, MessageExt};
use protocol::{RemotingCommand, RequestCode};
use remoting::{ClientConfig, RemotingClient};
use rt::disk::{DiskRef, FsDisk};
use store::MessageStoreConfig;

pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A small store so tests stay fast.
pub fn store_config() -> MessageStoreConfig {
    MessageStoreConfig {
        mapped_file_size_commit_log: 4 * 1024 * 1024,
        mapped_file_size_consume_queue: 1000 * 20,
        max_hash_slot_num: 1000,
        max_index_num: 4000,
        ..MessageStoreConfig::default()
    }
}

pub fn broker_config() -> BrokerConfig {
    BrokerConfig { listen_port: 0, namesrv_addr: Vec::new(), ..BrokerConfig::default() }
}

pub fn disk(dir: &Path) -> DiskRef {
    Arc::new(FsDisk::new(dir).unwrap())
}

pub struct TestBroker {
    pub handle: BrokerHandle,
    pub addr: String,
    pub vip: String,
    pub client: RemotingClient,
}

impl TestBroker {
    pub async fn start(dir: &Path, config: BrokerConfig) -> Self {
        let handle = BrokerController::start(config, store_config(), disk(dir)).await.unwrap();
        let addr = format!("127.0.0.1:{}", handle.addr().unwrap().port());
        let vip = format!("127.0.0.1:{}", handle.vip_addr().unwrap().port());
        Self { handle, addr, vip, client: RemotingClient::new(ClientConfig::default()) }
    }

    pub async fn invoke(&self, req: RemotingCommand) -> RemotingCommand {
        self.client.invoke(&self.addr, req, TIMEOUT).await.unwrap()
    }

    pub async fn shutdown(self) {
        self.client.close_all();
        self.handle.shutdown().await.unwrap();
    }
}

pub fn props(tags: Option<&str>, keys: Option<&str>) -> String {
    let mut pairs = vec![("WAIT", "true")];
    if let Some(t) = tags {
        pairs.push(("TAGS", t));
    }
    if let Some(k) = keys {
        pairs.push(("KEYS", k));
    }
    encode_properties(pairs).unwrap()
}

pub fn send_header(topic: &str, queue_id: i32, properties: String) -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "PG".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: rt::clock::now_millis() as i64,
        flag: 0,
        properties: Some(properties),
        ..Default::default()
    }
}

/// A V2 (code 310) single send.
pub fn send_v2(topic: &str, queue_id: i32, tags: Option<&str>, body: &str) -> RemotingCommand {
    let h = send_header(topic, queue_id, props(tags, None));
    let mut req = RemotingCommand::new_request(RequestCode::SEND_MESSAGE_V2);
    h.to_ext_v2(&mut req.ext_fields);
    req.with_body(Bytes::copy_from_slice(body.as_bytes()))
}

/// A V1 (code 10) single send.
pub fn send_v1(topic: &str, queue_id: i32, properties: String, body: &str) -> RemotingCommand {
    let h = send_header(topic, queue_id, properties);
    RemotingCommand::request(RequestCode::SEND_MESSAGE, &h)
        .with_body(Bytes::copy_from_slice(body.as_bytes()))
}

/// A batch body of `bodies`.
pub fn batch_body(bodies: &[&str]) -> Bytes {
    let msgs: Vec<BatchMessage> = bodies
        .iter()
        .map(|b| BatchMessage {
            flag: 0,
            body: Bytes::copy_from_slice(b.as_bytes()),
            properties: props(Some("B"), None),
        })
        .collect();
    let mut out = BytesMut::new();
    encode_batch(&msgs, &mut out).unwrap();
    out.freeze()
}

pub fn pull_header(
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
) -> PullMessageRequestHeader {
    PullMessageRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: 0,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: None,
        sub_version: 0,
        expression_type: None,
        max_msg_bytes: None,
        request_source: None,
        proxy_forward_client_id: None,
        broker_name: None,
    }
}

/// A pull with the SUBSCRIPTION flag and `expr` (plus `extra_flags`).
pub fn pull(
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    expr: &str,
    extra_flags: i32,
    suspend_ms: i64,
) -> RemotingCommand {
    let mut h = pull_header(group, topic, queue_id, offset);
    h.sys_flag = protocol::message::sysflag::pull::SUBSCRIPTION | extra_flags;
    h.subscription = Some(expr.into());
    h.expression_type = Some("TAG".into());
    h.suspend_timeout_millis = suspend_ms;
    RemotingCommand::request(RequestCode::PULL_MESSAGE, &h)
}

pub fn decode_body(resp: &RemotingCommand) -> Vec<MessageExt> {
    protocol::message::decode_messages(&resp.body.clone().unwrap_or_default())
}

pub fn ext_i64(resp: &RemotingCommand, key: &str) -> i64 {
    resp.ext_fields.get(key).unwrap_or_else(|| panic!("missing {key}: {resp:?}")).parse().unwrap()
}

pub fn subscription(topic: &str, expr: &str) -> SubscriptionData {
    let tags: Vec<String> = if expr == "*" {
        Vec::new()
    } else {
        expr.split("||").map(|t| t.trim().to_owned()).collect()
    };
    SubscriptionData {
        code_set: tags.iter().map(|t| java_string_hash(t)).collect(),
        tags_set: tags,
        sub_string: expr.into(),
        sub_version: 1,
        topic: topic.into(),
        ..Default::default()
    }
}

pub fn heartbeat(client_id: &str, group: &str, subs: Vec<SubscriptionData>) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            subscription_data_set: subs,
            ..Default::default()
        }],
        producer_data_set: vec![ProducerData { group_name: "PG".into() }],
        ..Default::default()
    };
    RemotingCommand::new_request(RequestCode::HEART_BEAT).with_body(data.encode().unwrap())
}
