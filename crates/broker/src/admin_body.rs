//! JSON bodies of the admin answers. TopicStatsTable and ConsumeStats are maps keyed by
//! MessageQueue, which fastjson writes with the key as a raw JSON object
//! (`{{"brokerName":"b","queueId":0,"topic":"T"}:{...}}`); the Java admin tools read exactly
//! that, so it is written by hand here.

use std::collections::BTreeMap;

use protocol::body::{ConsumeFromWhere, ConsumeType, MessageModel, MessageQueue, SubscriptionData};
use serde::{Deserialize, Serialize};

/// One queue's offsets in TopicStatsTable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicOffset {
    pub last_update_timestamp: i64,
    pub max_offset: i64,
    pub min_offset: i64,
}

/// One queue's progress in ConsumeStats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetWrapper {
    pub broker_offset: i64,
    pub consumer_offset: i64,
    pub last_timestamp: i64,
    pub pull_offset: i64,
}

/// One consumer connection in ConsumerConnection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub client_addr: String,
    pub client_id: String,
    pub language: String,
    pub version: i32,
}

/// GET_CONSUMER_CONNECTION_LIST body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerConnection {
    pub connection_set: Vec<Connection>,
    pub consume_from_where: ConsumeFromWhere,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub subscription_table: BTreeMap<String, SubscriptionData>,
}

/// `{key:value,...}` with each key written as a raw JSON object.
fn mq_keyed_map<V: Serialize>(
    out: &mut Vec<u8>,
    entries: &[(MessageQueue, V)],
) -> serde_json::Result<()> {
    out.push(b'{');
    for (i, (mq, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, mq)?;
        out.push(b':');
        serde_json::to_writer(&mut *out, v)?;
    }
    out.push(b'}');
    Ok(())
}

/// TopicStatsTable: `{"offsetTable":{mq:TopicOffset,...}}`.
pub fn topic_stats_json(entries: &[(MessageQueue, TopicOffset)]) -> serde_json::Result<Vec<u8>> {
    let mut out = b"{\"offsetTable\":".to_vec();
    mq_keyed_map(&mut out, entries)?;
    out.push(b'}');
    Ok(out)
}

/// ConsumeStats: `{"consumeTps":x,"offsetTable":{mq:OffsetWrapper,...}}`.
pub fn consume_stats_json(
    entries: &[(MessageQueue, OffsetWrapper)],
    consume_tps: f64,
) -> serde_json::Result<Vec<u8>> {
    let mut out = b"{\"consumeTps\":".to_vec();
    serde_json::to_writer(&mut out, &consume_tps)?;
    out.extend_from_slice(b",\"offsetTable\":");
    mq_keyed_map(&mut out, entries)?;
    out.push(b'}');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastjson_object_keys() {
        let mq = MessageQueue { broker_name: "b".into(), queue_id: 1, topic: "T".into() };
        let t = TopicOffset { last_update_timestamp: 5, max_offset: 3, min_offset: 0 };
        let json = String::from_utf8(topic_stats_json(&[(mq.clone(), t)]).unwrap()).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"offsetTable":{{"brokerName":"b","queueId":1,"topic":"T"}:"#,
                r#"{"lastUpdateTimestamp":5,"maxOffset":3,"minOffset":0}}}"#
            )
        );
        let w = OffsetWrapper {
            broker_offset: 3,
            consumer_offset: 2,
            last_timestamp: 0,
            pull_offset: 2,
        };
        let json = String::from_utf8(consume_stats_json(&[(mq, w)], 0.0).unwrap()).unwrap();
        assert!(json.starts_with(r#"{"consumeTps":0.0,"offsetTable":{{"brokerName""#), "{json}");
    }
}
