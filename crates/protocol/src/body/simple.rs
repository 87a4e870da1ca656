//! Small bodies: TopicList, KVTable and the consumer id list of GET_CONSUMER_LIST_BY_GROUP.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::body::fastjson::JsonBody;

/// A set of topic names (GET_ALL_TOPIC_LIST_FROM_NAMESERVER, GET_TOPICS_BY_CLUSTER, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicList {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    pub topic_list: BTreeSet<String>,
}

impl JsonBody for TopicList {}

/// A string map (KV config, ORDER_TOPIC_CONFIG in the REGISTER_BROKER response).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KvTable {
    pub table: BTreeMap<String, String>,
}

impl JsonBody for KvTable {}

/// The GET_CONSUMER_LIST_BY_GROUP response body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerListByGroupResponseBody {
    pub consumer_id_list: Vec<String>,
}

impl JsonBody for ConsumerListByGroupResponseBody {}

/// Consumer offsets as the broker persists them (`consumerOffset.json`): `topic@group` →
/// queue id → offset. fastjson writes the queue ids unquoted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerOffsetSerializeWrapper {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_version: Option<crate::body::topic_config::DataVersion>,
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl JsonBody for ConsumerOffsetSerializeWrapper {}
