//! Topic configuration: TopicConfig (JSON and the space-separated text form of compressed
//! registrations), DataVersion and TopicConfigSerializeWrapper (`topics.json`, the
//! REGISTER_BROKER body's core).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::body::fastjson::{self, JsonBody, JsonStyle};
use crate::body::route::perm;
use crate::error::{ProtocolError, Result};

/// A change counter with the time of the last change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataVersion {
    pub counter: i64,
    pub state_version: i64,
    pub timestamp: i64,
}

impl JsonBody for DataVersion {}

/// One topic's configuration on a broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfig {
    pub attributes: BTreeMap<String, String>,
    pub order: bool,
    pub perm: i32,
    pub read_queue_nums: i32,
    /// "SINGLE_TAG" or "MULTI_TAG".
    pub topic_filter_type: String,
    pub topic_name: String,
    pub topic_sys_flag: i32,
    pub write_queue_nums: i32,
}

/// Java's defaults: 16 queues, read+write, single tag.
impl Default for TopicConfig {
    fn default() -> Self {
        Self {
            attributes: BTreeMap::new(),
            order: false,
            perm: perm::READ | perm::WRITE,
            read_queue_nums: 16,
            topic_filter_type: "SINGLE_TAG".to_owned(),
            topic_name: String::new(),
            topic_sys_flag: 0,
            write_queue_nums: 16,
        }
    }
}

impl JsonBody for TopicConfig {}

impl TopicConfig {
    /// The text form (`TopicConfig.encode`): `name read write perm filterType[ attributesJson]`.
    pub fn encode_text(&self) -> Result<String> {
        let mut s = format!(
            "{} {} {} {} {}",
            self.topic_name,
            self.read_queue_nums,
            self.write_queue_nums,
            self.perm,
            self.topic_filter_type
        );
        if !self.attributes.is_empty() {
            let json = fastjson::to_json(&self.attributes, JsonStyle::Legacy)?;
            s.push(' ');
            s.push_str(&String::from_utf8_lossy(&json));
        }
        Ok(s)
    }

    /// Parses the text form; five fields, or six with the attributes JSON.
    pub fn decode_text(s: &str) -> Result<Self> {
        let bad = |why: &str| ProtocolError::Json(format!("topic config {s:?}: {why}"));
        let mut parts = s.splitn(6, ' ');
        let mut next = |what: &str| parts.next().ok_or_else(|| bad(what));
        let topic_name = next("no topic name")?.to_owned();
        let num = |v: &str| v.parse::<i32>().map_err(|_| bad("bad number"));
        let read_queue_nums = num(next("no read queue count")?)?;
        let write_queue_nums = num(next("no write queue count")?)?;
        let perm = num(next("no perm")?)?;
        let topic_filter_type = next("no filter type")?.to_owned();
        let attributes = match parts.next() {
            Some(json) => fastjson::parse(json.as_bytes())?,
            None => BTreeMap::new(),
        };
        Ok(Self {
            attributes,
            order: false,
            perm,
            read_queue_nums,
            topic_filter_type,
            topic_name,
            topic_sys_flag: 0,
            write_queue_nums,
        })
    }
}

/// A broker's topic table with its version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigSerializeWrapper {
    pub data_version: DataVersion,
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    /// Static-topic mapping info, kept as raw JSON (5.x brokers send `{}`).
    pub topic_queue_mapping_info_map: BTreeMap<String, serde_json::Value>,
}

impl JsonBody for TopicConfigSerializeWrapper {}
