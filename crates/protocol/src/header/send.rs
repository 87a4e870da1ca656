//! SEND_MESSAGE (10, long keys), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320, short keys)
//! request headers, and the send response header.

use crate::code::RequestCode;
use crate::error::Result;
use crate::ext_fields::ExtFields;
use crate::header::{command_header, CommandHeader, FieldKind, FieldSpec, HeaderField};

command_header! {
    /// The send request with V1 (long) keys, as code 10 carries it (the Go client's form).
    pub struct SendMessageRequestHeader {
        producer_group: String = "producerGroup",
        topic: String = "topic",
        /// Topic whose config auto-created topics copy ("TBW102").
        default_topic: String = "defaultTopic",
        default_topic_queue_nums: i32 = "defaultTopicQueueNums",
        /// Negative: the broker picks a queue.
        queue_id: i32 = "queueId",
        sys_flag: i32 = "sysFlag",
        born_timestamp: i64 = "bornTimestamp",
        flag: i32 = "flag",
        /// Message properties in wire form.
        properties: Option<String> = "properties",
        reconsume_times: Option<i32> = "reconsumeTimes",
        unit_mode: Option<bool> = "unitMode",
        /// The body is a batch (§4.4); decides the batch path, not the request code.
        batch: Option<bool> = "batch",
        max_reconsume_times: Option<i32> = "maxReconsumeTimes",
        broker_name: Option<String> = "bname",
    }
}

/// V2 short key for each V1 field, in declaration order (RocketMQ `SendMessageRequestHeaderV2`).
const V2_KEYS: [(&str, &str); 14] = [
    ("producerGroup", "a"),
    ("topic", "b"),
    ("defaultTopic", "c"),
    ("defaultTopicQueueNums", "d"),
    ("queueId", "e"),
    ("sysFlag", "f"),
    ("bornTimestamp", "g"),
    ("flag", "h"),
    ("properties", "i"),
    ("reconsumeTimes", "j"),
    ("unitMode", "k"),
    ("batch", "m"),
    ("maxReconsumeTimes", "l"),
    ("bname", "n"),
];

impl SendMessageRequestHeader {
    /// Whether the body is a batch: the header flag, as stock brokers decide (the C++ client
    /// sends batches as code 310 with `m=true`).
    pub fn is_batch(&self) -> bool {
        self.batch.unwrap_or(false)
    }

    /// Parses the header of a send request: short keys for 310/320, long keys otherwise, like
    /// Java's `parseRequestHeader`. A 310/320 request that carries long keys instead is read
    /// too, so an odd client gets served rather than a missing-field error.
    pub fn parse(code: i32, ext: &ExtFields) -> Result<Self> {
        let v2 = code == RequestCode::SEND_MESSAGE_V2 || code == RequestCode::SEND_BATCH_MESSAGE;
        if v2 {
            match SendMessageRequestHeaderV2::from_ext(ext) {
                Ok(h) => Ok(h.0),
                Err(e) if !ext.contains_key("a") && ext.contains_key("producerGroup") => {
                    Self::from_ext(ext).map_err(|_| e)
                }
                Err(e) => Err(e),
            }
        } else {
            Self::from_ext(ext)
        }
    }

    /// Writes the V2 short-key form.
    pub fn to_ext_v2(&self, ext: &mut ExtFields) {
        SendMessageRequestHeaderV2(self.clone()).to_ext(ext);
    }
}

/// Whether a send request carries a batch body: the header flag or code 320.
pub fn is_batch_request(code: i32, header: &SendMessageRequestHeader) -> bool {
    header.is_batch() || code == RequestCode::SEND_BATCH_MESSAGE
}

/// The same header with V2 short keys (`a`..`n`), as codes 310 and 320 carry it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SendMessageRequestHeaderV2(pub SendMessageRequestHeader);

const fn v2_fields() -> [FieldSpec; 14] {
    let v1 = <SendMessageRequestHeader as CommandHeader>::FIELDS;
    let mut out = [FieldSpec { key: "", kind: FieldKind::Str, required: false }; 14];
    let mut i = 0;
    while i < 14 && i < v1.len() {
        out[i] = FieldSpec { key: V2_KEYS[i].1, kind: v1[i].kind, required: v1[i].required };
        i += 1;
    }
    out
}

const V2_FIELDS: [FieldSpec; 14] = v2_fields();

impl CommandHeader for SendMessageRequestHeaderV2 {
    const FIELDS: &'static [FieldSpec] = &V2_FIELDS;

    fn from_ext(ext: &ExtFields) -> Result<Self> {
        Ok(Self(SendMessageRequestHeader {
            producer_group: HeaderField::read(ext, "a")?,
            topic: HeaderField::read(ext, "b")?,
            default_topic: HeaderField::read(ext, "c")?,
            default_topic_queue_nums: HeaderField::read(ext, "d")?,
            queue_id: HeaderField::read(ext, "e")?,
            sys_flag: HeaderField::read(ext, "f")?,
            born_timestamp: HeaderField::read(ext, "g")?,
            flag: HeaderField::read(ext, "h")?,
            properties: HeaderField::read(ext, "i")?,
            reconsume_times: HeaderField::read(ext, "j")?,
            unit_mode: HeaderField::read(ext, "k")?,
            max_reconsume_times: HeaderField::read(ext, "l")?,
            batch: HeaderField::read(ext, "m")?,
            broker_name: HeaderField::read(ext, "n")?,
        }))
    }

    fn to_ext(&self, ext: &mut ExtFields) {
        let h = &self.0;
        h.producer_group.write(ext, "a");
        h.topic.write(ext, "b");
        h.default_topic.write(ext, "c");
        h.default_topic_queue_nums.write(ext, "d");
        h.queue_id.write(ext, "e");
        h.sys_flag.write(ext, "f");
        h.born_timestamp.write(ext, "g");
        h.flag.write(ext, "h");
        h.properties.write(ext, "i");
        h.reconsume_times.write(ext, "j");
        h.unit_mode.write(ext, "k");
        h.max_reconsume_times.write(ext, "l");
        h.batch.write(ext, "m");
        h.broker_name.write(ext, "n");
    }
}

command_header! {
    /// The send response. Java clients read MSG_REGION/TRACE_ON from the same map.
    pub struct SendMessageResponseHeader {
        /// offsetMsgId (comma-joined for batches).
        msg_id: String = "msgId",
        queue_id: i32 = "queueId",
        /// Queue offset of the (first) message.
        queue_offset: i64 = "queueOffset",
        transaction_id: Option<String> = "transactionId",
        batch_uniq_id: Option<String> = "batchUniqId",
        recall_handle: Option<String> = "recallHandle",
        msg_region: Option<String> = "MSG_REGION",
        trace_on: Option<String> = "TRACE_ON",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_keys_follow_v1_field_order() {
        let v1 = SendMessageRequestHeader::FIELDS;
        assert_eq!(v1.len(), V2_KEYS.len());
        for (spec, (long, short)) in v1.iter().zip(V2_KEYS) {
            assert_eq!(spec.key, long);
            assert!(SendMessageRequestHeaderV2::FIELDS.iter().any(|f| f.key == short));
        }
    }

    #[test]
    fn parse_picks_key_set_by_code() {
        let h = SendMessageRequestHeader {
            producer_group: "PG".into(),
            topic: "T".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 1,
            batch: Some(true),
            ..Default::default()
        };
        let mut v2 = ExtFields::new();
        h.to_ext_v2(&mut v2);
        assert_eq!(v2.get("m"), Some("true"));
        assert_eq!(SendMessageRequestHeader::parse(310, &v2).unwrap(), h);
        assert!(SendMessageRequestHeader::parse(10, &v2).is_err());
        let v1 = h.to_ext_fields();
        assert_eq!(SendMessageRequestHeader::parse(10, &v1).unwrap(), h);
        assert_eq!(SendMessageRequestHeader::parse(320, &v1).unwrap(), h);
        assert!(h.is_batch() && is_batch_request(310, &h));
        let single = SendMessageRequestHeader { batch: None, ..h };
        assert!(!single.is_batch() && is_batch_request(320, &single));
    }
}
