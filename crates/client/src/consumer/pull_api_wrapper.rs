//! One pull and what comes back (RocketMQ `PullAPIWrapper` and `MQClientAPIImpl.pullMessage`):
//! the request, the status mapping of reference §6.1, decoding, decompression and the exact
//! client-side tag re-check that drops broker-side hash collisions.

use std::time::Duration;

use bytes::Bytes;
use protocol::body::SubscriptionData;
use protocol::header::{PullMessageRequestHeader, PullMessageResponseHeader};
use protocol::message::compression::decompress_body;
use protocol::message::properties as prop;
use protocol::message::sysflag::{self, COMPRESSED_FLAG};
use protocol::message::{decode_messages, TagFilter};
use protocol::{RequestCode, ResponseCode};
use tracing::warn;

use crate::error::{MQClientError, Result};
use crate::message::{MessageExt, MessageQueue};
use crate::mq_client_api::request;
use crate::mq_client_instance::MQClientInstance;

/// Largest body a compressed message may inflate to.
const MAX_INFLATED_BODY: usize = 64 * 1024 * 1024;

/// A consumer's subscription to one topic.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub filter: TagFilter,
    pub data: SubscriptionData,
}

impl Subscription {
    /// `expr` is `*` (everything) or `tagA || tagB`.
    pub fn new(topic: &str, expr: &str) -> Self {
        let filter = TagFilter::parse(expr);
        let (tags_set, code_set) = match &filter {
            TagFilter::All => (Vec::new(), Vec::new()),
            TagFilter::Tags { tags, codes } => {
                (tags.iter().cloned().collect(), codes.iter().copied().collect())
            }
        };
        let sub_string =
            if matches!(filter, TagFilter::All) { "*".to_owned() } else { expr.trim().to_owned() };
        let data = SubscriptionData {
            class_filter_mode: false,
            code_set,
            expression_type: "TAG".to_owned(),
            sub_string,
            sub_version: rt::clock::now_millis() as i64,
            tags_set,
            topic: topic.to_owned(),
        };
        Self { filter, data }
    }
}

/// What a pull found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    Found,
    NoNewMsg,
    NoMatchedMsg,
    OffsetIllegal,
}

/// A pull's outcome.
#[derive(Debug, Clone)]
pub struct PullResult {
    pub status: PullStatus,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    /// Decoded, decompressed, tag-filtered messages (FOUND only).
    pub msgs: Vec<MessageExt>,
}

/// The knobs of one pull.
pub(crate) struct PullParams<'a> {
    pub group: &'a str,
    pub sub: &'a Subscription,
    pub offset: i64,
    pub max_nums: i32,
    pub sys_flag: i32,
    pub commit_offset: i64,
    pub suspend: Duration,
    pub timeout: Duration,
    /// LITE_PULL_MESSAGE (361) rather than PULL_MESSAGE (11).
    pub lite: bool,
}

/// Pulls from `mq`'s broker.
pub(crate) async fn pull_kernel(
    instance: &MQClientInstance,
    mq: &MessageQueue,
    p: PullParams<'_>,
) -> Result<PullResult> {
    let addr = match instance.find_broker_address_in_subscribe(&mq.broker_name) {
        Some(addr) => addr,
        None => {
            instance.update_topic_route(&mq.topic).await?;
            instance
                .find_broker_address_in_subscribe(&mq.broker_name)
                .ok_or_else(|| MQClientError::BrokerNotFound(mq.broker_name.clone()))?
        }
    };
    let header = PullMessageRequestHeader {
        consumer_group: p.group.to_owned(),
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        queue_offset: p.offset,
        max_msg_nums: p.max_nums,
        sys_flag: p.sys_flag,
        commit_offset: p.commit_offset,
        suspend_timeout_millis: u64::try_from(p.suspend.as_millis()).unwrap_or(u64::MAX) as i64,
        subscription: Some(p.sub.data.sub_string.clone()),
        sub_version: p.sub.data.sub_version,
        expression_type: Some(p.sub.data.expression_type.clone()),
        max_msg_bytes: None,
        request_source: None,
        proxy_forward_client_id: None,
        broker_name: Some(mq.broker_name.clone()),
    };
    let code = if p.lite { RequestCode::LITE_PULL_MESSAGE } else { RequestCode::PULL_MESSAGE };
    let resp = instance.api().invoke(&addr, request(code, &header), p.timeout).await?;
    let status = match resp.code {
        ResponseCode::SUCCESS => PullStatus::Found,
        ResponseCode::PULL_NOT_FOUND => PullStatus::NoNewMsg,
        ResponseCode::PULL_RETRY_IMMEDIATELY => PullStatus::NoMatchedMsg,
        ResponseCode::PULL_OFFSET_MOVED => PullStatus::OffsetIllegal,
        _ => return Err(MQClientError::broker(&addr, &resp)),
    };
    let h: PullMessageResponseHeader = resp.decode_header()?;
    let msgs = match (status, &resp.body) {
        (PullStatus::Found, Some(body)) => process_found(body, &p.sub.filter, &h),
        _ => Vec::new(),
    };
    Ok(PullResult {
        status,
        next_begin_offset: h.next_begin_offset,
        min_offset: h.min_offset,
        max_offset: h.max_offset,
        msgs,
    })
}

/// Decodes a FOUND body: inflates compressed bodies, drops messages whose tag the
/// subscription does not name (the broker filters on tag hashes only) and notes the queue's
/// min/max offsets on each message, as the Java client does.
pub(crate) fn process_found(
    body: &Bytes,
    filter: &TagFilter,
    h: &PullMessageResponseHeader,
) -> Vec<MessageExt> {
    let (min, max) = (h.min_offset.to_string(), h.max_offset.to_string());
    decode_messages(body)
        .into_iter()
        .filter(|m| filter.matches_tag(m.tags()))
        .map(|mut m| {
            if sysflag::has(m.sys_flag, COMPRESSED_FLAG) {
                // A body that does not inflate is handed over as stored rather than dropped:
                // skipping it would move the offset past a message nobody saw.
                match decompress_body(&m.body, m.sys_flag, MAX_INFLATED_BODY) {
                    Ok(body) => m.body = body,
                    Err(e) => warn!(offset = m.queue_offset, error = %e, "body does not inflate"),
                }
            }
            m.properties.insert(prop::MIN_OFFSET.to_owned(), min.clone());
            m.properties.insert(prop::MAX_OFFSET.to_owned(), max.clone());
            m
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use bytes::BytesMut;
    use protocol::message::compression::compress_zlib;
    use protocol::message::properties::encode_properties;
    use protocol::message::MessageExtBrokerInner;

    use super::*;

    fn record(offset: i64, tag: &str, body: &[u8], sys_flag: i32, out: &mut BytesMut) {
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let inner = MessageExtBrokerInner {
            topic: "T".into(),
            queue_id: 0,
            flag: 0,
            sys_flag,
            born_timestamp: 1,
            born_host: host,
            store_timestamp: 2,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::copy_from_slice(body),
            properties: encode_properties([("TAGS", tag)]).unwrap(),
            tags_code: 0,
        };
        inner.encode(offset, offset * 1000, out).unwrap();
    }

    #[test]
    fn tag_recheck_and_decompression() {
        let mut body = BytesMut::new();
        record(0, "TagA", b"a", 0, &mut body);
        // "Aa" and "BB" share a Java hash: the broker lets "BB" through for "Aa".
        record(1, "BB", b"collision", 0, &mut body);
        record(2, "Aa", b"aa", 0, &mut body);
        let (z, flag) = compress_zlib(&[b'q'; 5000], 0, 5).unwrap();
        record(3, "TagA", &z, flag, &mut body);
        let body = body.freeze();
        let h = PullMessageResponseHeader { min_offset: 0, max_offset: 4, ..Default::default() };
        let sub = Subscription::new("T", "TagA || Aa");
        assert_eq!(sub.data.tags_set, vec!["Aa".to_owned(), "TagA".to_owned()]);
        let msgs = process_found(&body, &sub.filter, &h);
        let offsets: Vec<i64> = msgs.iter().map(|m| m.queue_offset).collect();
        assert_eq!(offsets, vec![0, 2, 3]);
        assert_eq!(msgs[2].body.len(), 5000);
        assert_eq!(msgs[0].property(prop::MAX_OFFSET), Some("4"));
        let all = process_found(&body, &Subscription::new("T", "*").filter, &h);
        assert_eq!(all.len(), 4);
        assert_eq!(Subscription::new("T", " ").data.sub_string, "*");
    }
}
