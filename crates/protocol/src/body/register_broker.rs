//! The REGISTER_BROKER body, plain JSON or (header `compressed=true`) a zlib stream of
//! length-prefixed parts (RocketMQ `RegisterBrokerBody.encode(true)`/`decode`).

use std::io::{Read, Write};

use bytes::{BufMut, BytesMut};
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};

use crate::body::fastjson::{self, JsonBody, JsonStyle};
use crate::body::topic_config::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use crate::error::{ProtocolError, Result};
use crate::reader::Reader;

/// Largest inflated compressed body accepted: a zip bomb must not exhaust memory.
pub const MAX_INFLATED_LEN: usize = 64 * 1024 * 1024;

/// What a broker registers with the name server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterBrokerBody {
    pub filter_server_list: Vec<String>,
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

impl JsonBody for RegisterBrokerBody {}

fn compression_err(e: impl ToString) -> ProtocolError {
    ProtocolError::Compression(e.to_string())
}

impl RegisterBrokerBody {
    /// Decodes a body in the form the request header says.
    pub fn decode_body(bytes: &[u8], compressed: bool) -> Result<Self> {
        if compressed {
            Self::decode_compressed(bytes)
        } else {
            fastjson::parse(bytes)
        }
    }

    /// Encodes the body in the requested form.
    pub fn encode_body(&self, compressed: bool) -> Result<Vec<u8>> {
        if compressed {
            self.encode_compressed()
        } else {
            self.encode()
        }
    }

    /// Inflates and parses the compressed form. The topic-queue-mapping section may be absent
    /// (brokers older than 5.0 stop after the filter server list).
    pub fn decode_compressed(bytes: &[u8]) -> Result<Self> {
        let mut raw = Vec::new();
        ZlibDecoder::new(bytes)
            .take(MAX_INFLATED_LEN as u64 + 1)
            .read_to_end(&mut raw)
            .map_err(compression_err)?;
        if raw.len() > MAX_INFLATED_LEN {
            return Err(ProtocolError::TooLong {
                what: "inflated register body",
                len: raw.len(),
                max: MAX_INFLATED_LEN,
            });
        }
        let mut r = Reader::new(&raw);
        let part = |r: &mut Reader<'_>, what: &'static str| -> Result<Vec<u8>> {
            let len = r.len_i32(what)?;
            Ok(r.take(len, what)?.to_vec())
        };
        let data_version: DataVersion = fastjson::parse(&part(&mut r, "data version")?)?;
        let mut wrapper = TopicConfigSerializeWrapper { data_version, ..Default::default() };
        let topics = r.len_i32("topic count")?;
        for _ in 0..topics {
            let text = part(&mut r, "topic config")?;
            let text =
                std::str::from_utf8(&text).map_err(|_| ProtocolError::InvalidUtf8("topic"))?;
            let config = TopicConfig::decode_text(text)?;
            wrapper.topic_config_table.insert(config.topic_name.clone(), config);
        }
        let filter_server_list = fastjson::parse(&part(&mut r, "filter server list")?)?;
        if r.remaining() > 0 {
            let mappings = r.len_i32("topic queue mapping count")?;
            for _ in 0..mappings {
                let info: serde_json::Value = fastjson::parse(&part(&mut r, "mapping info")?)?;
                let topic = info.get("topic").and_then(|t| t.as_str()).unwrap_or_default();
                wrapper.topic_queue_mapping_info_map.insert(topic.to_owned(), info);
            }
        }
        Ok(Self { filter_server_list, topic_config_serialize_wrapper: wrapper })
    }

    /// Writes the compressed form (always with the mapping section, as 5.x brokers do).
    pub fn encode_compressed(&self) -> Result<Vec<u8>> {
        let mut raw = BytesMut::new();
        let put = |raw: &mut BytesMut, bytes: &[u8]| -> Result<()> {
            let len = i32::try_from(bytes.len()).map_err(|_| ProtocolError::TooLong {
                what: "register body part",
                len: bytes.len(),
                max: i32::MAX as usize,
            })?;
            raw.put_i32(len);
            raw.put_slice(bytes);
            Ok(())
        };
        let w = &self.topic_config_serialize_wrapper;
        put(&mut raw, &fastjson::to_json(&w.data_version, JsonStyle::Legacy)?)?;
        raw.put_i32(count(w.topic_config_table.len())?);
        for config in w.topic_config_table.values() {
            put(&mut raw, config.encode_text()?.as_bytes())?;
        }
        put(&mut raw, &fastjson::to_json(&self.filter_server_list, JsonStyle::Legacy)?)?;
        raw.put_i32(count(w.topic_queue_mapping_info_map.len())?);
        for info in w.topic_queue_mapping_info_map.values() {
            put(&mut raw, &fastjson::to_json(info, JsonStyle::Legacy)?)?;
        }
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&raw).map_err(compression_err)?;
        enc.finish().map_err(compression_err)
    }
}

fn count(n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|_| ProtocolError::TooLong {
        what: "register body count",
        len: n,
        max: i32::MAX as usize,
    })
}
