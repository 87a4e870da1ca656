//! Admin response bodies the protocol crate does not define: TopicStatsTable, ConsumeStats and
//! ConsumerConnection. fastjson writes MessageQueue-keyed maps with the key as a raw JSON
//! object (`{{"brokerName":"b","queueId":0,"topic":"T"}:{...}}`), which no JSON parser
//! accepts, so those maps are read by hand here, one JSON value at a time.

use std::collections::BTreeMap;

use protocol::body::{ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{MQClientError, Result};
use crate::message::MessageQueue;

/// One queue's offsets (TopicStatsTable entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOffset {
    pub min_offset: i64,
    pub max_offset: i64,
    pub last_update_timestamp: i64,
}

/// GET_TOPIC_STATS_INFO: offsets of every queue of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicStatsTable {
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
}

/// One queue's consumption progress (ConsumeStats entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OffsetWrapper {
    /// The queue's max offset.
    pub broker_offset: i64,
    /// The group's committed offset.
    pub consumer_offset: i64,
    pub pull_offset: i64,
    /// Store time of the last consumed message.
    pub last_timestamp: i64,
}

impl OffsetWrapper {
    /// Messages not yet consumed.
    pub fn diff(&self) -> i64 {
        (self.broker_offset - self.consumer_offset).max(0)
    }
}

/// GET_CONSUME_STATS: a group's progress per queue.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConsumeStats {
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
    pub consume_tps: f64,
}

impl ConsumeStats {
    /// Messages not yet consumed, over every queue.
    pub fn total_diff(&self) -> i64 {
        self.offset_table.values().map(OffsetWrapper::diff).sum()
    }
}

/// One client connection of a group.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    pub client_id: String,
    pub client_addr: String,
    pub language: String,
    pub version: i32,
}

/// GET_CONSUMER_CONNECTION_LIST: who consumes a group, and how.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerConnection {
    pub connection_set: Vec<Connection>,
    pub subscription_table: BTreeMap<String, SubscriptionData>,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
}

impl ConsumerConnection {
    /// Parses the body.
    pub fn decode(body: &[u8]) -> Result<Self> {
        Ok(protocol::body::parse(body)?)
    }
}

impl TopicStatsTable {
    /// Parses the body.
    pub fn decode(body: &[u8]) -> Result<Self> {
        Ok(Self { offset_table: mq_map(body, "offsetTable")? })
    }
}

impl ConsumeStats {
    /// Parses the body.
    pub fn decode(body: &[u8]) -> Result<Self> {
        let rest: serde_json::Value = parse_top_level(body, "offsetTable")?;
        let consume_tps = rest.get("consumeTps").and_then(serde_json::Value::as_f64).unwrap_or(0.0);
        Ok(Self { offset_table: mq_map(body, "offsetTable")?, consume_tps })
    }
}

fn bad(what: impl Into<String>) -> MQClientError {
    MQClientError::Protocol(protocol::ProtocolError::Json(what.into()))
}

/// The top-level object with the MessageQueue-keyed `field` blanked out, so the other fields
/// can be read by serde.
fn parse_top_level(body: &[u8], field: &str) -> Result<serde_json::Value> {
    let Some((start, end)) = find_field_value(body, field)? else {
        return serde_json::from_slice(body).map_err(|e| bad(e.to_string()));
    };
    let mut blanked = body[..start].to_vec();
    blanked.extend_from_slice(b"null");
    blanked.extend_from_slice(&body[end..]);
    serde_json::from_slice(&blanked).map_err(|e| bad(e.to_string()))
}

/// The byte range of `field`'s value in the top-level object, if present.
fn find_field_value(body: &[u8], field: &str) -> Result<Option<(usize, usize)>> {
    let key = format!("\"{field}\"");
    let Some(pos) = find(body, key.as_bytes()) else { return Ok(None) };
    let mut i = pos + key.len();
    i = skip_ws(body, i);
    if body.get(i) != Some(&b':') {
        return Err(bad(format!("no value for {field}")));
    }
    let start = skip_ws(body, i + 1);
    let end = value_end(body, start)?;
    Ok(Some((start, end)))
}

/// Reads `{key:value,...}` where keys are MessageQueue objects (fastjson) or JSON strings
/// holding one (a strict writer).
fn mq_map<V: DeserializeOwned>(body: &[u8], field: &str) -> Result<BTreeMap<MessageQueue, V>> {
    let mut out = BTreeMap::new();
    let Some((start, end)) = find_field_value(body, field)? else { return Ok(out) };
    let map = &body[start..end];
    if map.first() != Some(&b'{') {
        return Err(bad(format!("{field} is not an object")));
    }
    let mut i = skip_ws(map, 1);
    while i < map.len() && map.get(i) != Some(&b'}') {
        let key_end = value_end(map, i)?;
        let key_bytes = &map[i..key_end];
        let mq: MessageQueue = match key_bytes.first() {
            Some(b'"') => {
                let s: String =
                    serde_json::from_slice(key_bytes).map_err(|e| bad(e.to_string()))?;
                serde_json::from_str(&s).map_err(|e| bad(e.to_string()))?
            }
            _ => serde_json::from_slice(key_bytes).map_err(|e| bad(e.to_string()))?,
        };
        i = skip_ws(map, key_end);
        if map.get(i) != Some(&b':') {
            return Err(bad("expected ':' in a MessageQueue map"));
        }
        let vstart = skip_ws(map, i + 1);
        let vend = value_end(map, vstart)?;
        let v: V = serde_json::from_slice(&map[vstart..vend]).map_err(|e| bad(e.to_string()))?;
        out.insert(mq, v);
        i = skip_ws(map, vend);
        if map.get(i) == Some(&b',') {
            i = skip_ws(map, i + 1);
        }
    }
    Ok(out)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// One past the end of the JSON value starting at `start` (objects and arrays may nest and
/// contain strings; keys inside may themselves be objects).
fn value_end(b: &[u8], start: usize) -> Result<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => {
                i += 1;
                while let Some(&s) = b.get(i) {
                    match s {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                if i >= b.len() {
                    return Err(bad("unterminated JSON string"));
                }
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 0 {
                    return Ok(i);
                }
                depth -= 1;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            b',' | b':' if depth == 0 => return Ok(i),
            _ => {}
        }
        i += 1;
    }
    if depth == 0 && i > start {
        Ok(i)
    } else {
        Err(bad("truncated JSON value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastjson_object_keys() {
        let body = br#"{"offsetTable":{{"brokerName":"b","queueId":1,"topic":"T"}:{"lastUpdateTimestamp":5,"maxOffset":3,"minOffset":0},{"brokerName":"b","queueId":0,"topic":"T"}:{"lastUpdateTimestamp":0,"maxOffset":0,"minOffset":0}}}"#;
        let t = TopicStatsTable::decode(body).unwrap();
        assert_eq!(t.offset_table.len(), 2);
        let mq = MessageQueue { topic: "T".into(), broker_name: "b".into(), queue_id: 1 };
        assert_eq!(t.offset_table[&mq].max_offset, 3);
        assert_eq!(t.offset_table[&mq].last_update_timestamp, 5);
        let body = br#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":10,"consumerOffset":4,"lastTimestamp":0,"pullOffset":4}}}"#;
        let s = ConsumeStats::decode(body).unwrap();
        assert_eq!(s.consume_tps, 1.5);
        assert_eq!(s.total_diff(), 6);
        // Quoted keys (a strict writer) and an empty table.
        let body = br#"{"offsetTable":{"{\"brokerName\":\"b\",\"queueId\":2,\"topic\":\"T\"}":{"maxOffset":9}}}"#;
        assert_eq!(TopicStatsTable::decode(body).unwrap().offset_table.len(), 1);
        assert!(TopicStatsTable::decode(br#"{"offsetTable":{}}"#).unwrap().offset_table.is_empty());
        assert!(TopicStatsTable::decode(br#"{"offsetTable":{{"brokerName""#).is_err());
        assert!(TopicStatsTable::decode(br#"{"offsetTable":{"\"#).is_err());
        assert!(TopicStatsTable::decode(br#"{"offsetTable":{{"queueId":1}:"#).is_err());
    }
}
