//! HEART_BEAT body: the client's producer groups and consumer groups with their subscriptions.

use serde::{Deserialize, Serialize};

use crate::body::fastjson::JsonBody;

/// Pull (ACTIVELY), push (PASSIVELY) or pop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ConsumeType {
    #[serde(rename = "CONSUME_ACTIVELY")]
    ConsumeActively,
    #[default]
    #[serde(rename = "CONSUME_PASSIVELY")]
    ConsumePassively,
    #[serde(rename = "CONSUME_POP")]
    ConsumePop,
    /// A value this version does not know.
    #[serde(other, rename = "UNKNOWN")]
    Unknown,
}

/// Clustering (one consumer per message) or broadcasting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum MessageModel {
    #[serde(rename = "BROADCASTING")]
    Broadcasting,
    #[default]
    #[serde(rename = "CLUSTERING")]
    Clustering,
    #[serde(other, rename = "UNKNOWN")]
    Unknown,
}

/// Where a new consumer group starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeFromWhere {
    #[default]
    ConsumeFromLastOffset,
    ConsumeFromLastOffsetAndFromMinWhenBootFirst,
    ConsumeFromMinOffset,
    ConsumeFromMaxOffset,
    ConsumeFromFirstOffset,
    ConsumeFromTimestamp,
    #[serde(other)]
    Unknown,
}

/// One subscription of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    pub class_filter_mode: bool,
    /// Java hash codes of `tags_set`.
    pub code_set: Vec<i32>,
    /// "TAG" or "SQL92".
    pub expression_type: String,
    pub sub_string: String,
    pub sub_version: i64,
    pub tags_set: Vec<String>,
    pub topic: String,
}

impl Default for SubscriptionData {
    fn default() -> Self {
        Self {
            class_filter_mode: false,
            code_set: Vec::new(),
            expression_type: "TAG".to_owned(),
            sub_string: "*".to_owned(),
            sub_version: 0,
            tags_set: Vec::new(),
            topic: String::new(),
        }
    }
}

/// A consumer group the client runs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    pub consume_from_where: ConsumeFromWhere,
    pub consume_type: ConsumeType,
    pub group_name: String,
    pub message_model: MessageModel,
    pub subscription_data_set: Vec<SubscriptionData>,
    pub unit_mode: bool,
}

/// A producer group the client runs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    pub group_name: String,
}

/// The HEART_BEAT request body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    /// `ip@instance[@unit]`; Java's capital ID.
    #[serde(rename = "clientID")]
    pub client_id: String,
    pub consumer_data_set: Vec<ConsumerData>,
    /// Non-zero selects the broker's heartbeat-v2 path.
    pub heartbeat_fingerprint: i32,
    pub producer_data_set: Vec<ProducerData>,
    pub without_sub: bool,
}

impl JsonBody for HeartbeatData {}
