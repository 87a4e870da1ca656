//! A message made ready for the wire: validated, given its UNIQ_KEY, compressed if large, its
//! properties encoded; batches encoded into one body (reference §4.4).

use bytes::{Bytes, BytesMut};
use protocol::message::compression::{compress_zlib, DEFAULT_ZLIB_LEVEL};
use protocol::message::properties as prop;
use protocol::message::{encode_batch, BatchMessage};

use crate::error::{MQClientError, Result};
use crate::message::{is_retry_topic, Message};

/// Longest topic name a broker accepts.
const MAX_TOPIC_LEN: usize = 127;

/// What one send request carries.
#[derive(Debug, Clone)]
pub(crate) struct OutgoingMessage {
    pub topic: String,
    pub body: Bytes,
    pub flag: i32,
    pub sys_flag: i32,
    /// Properties in wire form.
    pub properties: String,
    pub batch: bool,
    /// The UNIQ_KEY (comma-joined inner keys for a batch): SendResult.msgId.
    pub msg_id: String,
    pub reconsume_times: Option<i32>,
    pub max_reconsume_times: Option<i32>,
}

/// Checks a topic name the way brokers will (`^[%|a-zA-Z0-9_-]+$`, at most 127 characters;
/// retry topics may be longer).
pub(crate) fn check_topic(topic: &str) -> Result<()> {
    let valid_chars =
        topic.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'%' | b'|' | b'_' | b'-'));
    let max = if is_retry_topic(topic) { 255 } else { MAX_TOPIC_LEN };
    if topic.is_empty() || !valid_chars || topic.len() > max {
        return Err(MQClientError::InvalidArgument(format!("invalid topic name {topic:?}")));
    }
    Ok(())
}

fn check_body(msg: &Message, max_size: usize) -> Result<()> {
    if msg.body.is_empty() {
        return Err(MQClientError::InvalidArgument("the message body is empty".into()));
    }
    if msg.body.len() > max_size {
        return Err(MQClientError::InvalidArgument(format!(
            "the message body is {} bytes, more than the limit of {max_size}",
            msg.body.len()
        )));
    }
    Ok(())
}

/// Prepares a single message; `uniq_id` supplies a UNIQ_KEY when the message has none.
pub(crate) fn prepare_single(
    mut msg: Message,
    max_size: usize,
    compress_over: usize,
    uniq_id: impl FnOnce() -> String,
) -> Result<OutgoingMessage> {
    check_topic(&msg.topic)?;
    check_body(&msg, max_size)?;
    if msg.uniq_key().is_none() {
        msg.put_property(prop::UNIQ_KEY, uniq_id());
    }
    let msg_id = msg.uniq_key().unwrap_or_default().to_owned();
    // A client-side resend to a retry topic moves these two into the header.
    let (mut reconsume_times, mut max_reconsume_times) = (None, None);
    if is_retry_topic(&msg.topic) {
        reconsume_times = msg.properties.remove(prop::RECONSUME_TIME).and_then(|v| v.parse().ok());
        max_reconsume_times =
            msg.properties.remove(prop::MAX_RECONSUME_TIMES).and_then(|v| v.parse().ok());
    }
    let mut sys_flag = 0;
    let mut body = msg.body.clone();
    if body.len() >= compress_over {
        let (compressed, flag) = compress_zlib(&body, sys_flag, DEFAULT_ZLIB_LEVEL)?;
        if compressed.len() < body.len() {
            body = Bytes::from(compressed);
            sys_flag = flag;
        }
    }
    Ok(OutgoingMessage {
        properties: msg.properties_string()?,
        topic: msg.topic,
        body,
        flag: msg.flag,
        sys_flag,
        batch: false,
        msg_id,
        reconsume_times,
        max_reconsume_times,
    })
}

/// Prepares a batch: one topic, no delay, no retry topic; every message gets its own UNIQ_KEY
/// and the batch one more, as RocketMQ's `MessageBatch` does. Batches are never compressed.
pub(crate) fn prepare_batch(
    msgs: Vec<Message>,
    max_size: usize,
    mut uniq_id: impl FnMut() -> String,
) -> Result<OutgoingMessage> {
    let first = msgs.first().ok_or_else(|| {
        MQClientError::InvalidArgument("a batch needs at least one message".into())
    })?;
    let topic = first.topic.clone();
    let wait = first.wait_store_msg_ok();
    check_topic(&topic)?;
    if is_retry_topic(&topic) {
        return Err(MQClientError::InvalidArgument("retry topics do not take batches".into()));
    }
    let mut elements = Vec::with_capacity(msgs.len());
    let mut ids = Vec::with_capacity(msgs.len());
    for mut msg in msgs {
        if msg.topic != topic {
            return Err(MQClientError::InvalidArgument(
                "every message of a batch must have the same topic".into(),
            ));
        }
        if msg.delay_time_level() > 0 {
            return Err(MQClientError::InvalidArgument(
                "delayed messages cannot be batched".into(),
            ));
        }
        if msg.wait_store_msg_ok() != wait {
            return Err(MQClientError::InvalidArgument(
                "every message of a batch must have the same waitStoreMsgOK".into(),
            ));
        }
        check_body(&msg, max_size)?;
        if msg.uniq_key().is_none() {
            msg.put_property(prop::UNIQ_KEY, uniq_id());
        }
        ids.push(msg.uniq_key().unwrap_or_default().to_owned());
        elements.push(BatchMessage {
            flag: msg.flag,
            properties: msg.properties_string()?,
            body: msg.body,
        });
    }
    let mut body = BytesMut::new();
    encode_batch(&elements, &mut body)?;
    if body.len() > max_size {
        return Err(MQClientError::InvalidArgument(format!(
            "the batch is {} bytes, more than the limit of {max_size}",
            body.len()
        )));
    }
    let properties = prop::encode_properties([
        (prop::UNIQ_KEY, uniq_id().as_str()),
        (prop::WAIT, if wait { "true" } else { "false" }),
    ])?;
    Ok(OutgoingMessage {
        topic,
        body: body.freeze(),
        flag: 0,
        sys_flag: 0,
        properties,
        batch: true,
        msg_id: ids.join(","),
        reconsume_times: None,
        max_reconsume_times: None,
    })
}

#[cfg(test)]
mod tests {
    use protocol::message::compression::decompress_body;
    use protocol::message::decode_batch;

    use super::*;

    fn counter() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("ID{n}")
        }
    }

    #[test]
    fn batch_encodes_every_message_with_its_own_key() {
        let msgs = vec![
            Message::new("T", "a").with_tags("A").with_key("k1"),
            Message::new("T", "bb").with_flag(3),
            Message::new("T", "ccc").with_property(prop::UNIQ_KEY, "MINE"),
        ];
        let out = prepare_batch(msgs, 1 << 20, counter()).unwrap();
        assert!(out.batch);
        assert_eq!(out.msg_id, "ID1,ID2,MINE");
        assert_eq!(prop::find_property(&out.properties, prop::UNIQ_KEY), Some("ID3"));
        let decoded = decode_batch(&out.body).unwrap();
        assert_eq!(decoded.len(), 3);
        assert_eq!(&decoded[0].body[..], b"a");
        assert_eq!(decoded[0].property(prop::TAGS), Some("A"));
        assert_eq!(decoded[0].property(prop::KEYS), Some("k1"));
        assert_eq!(decoded[1].flag, 3);
        assert_eq!(decoded[2].property(prop::UNIQ_KEY), Some("MINE"));
    }

    #[test]
    fn batch_rules() {
        let mixed = vec![Message::new("T", "a"), Message::new("U", "b")];
        assert!(prepare_batch(mixed, 1 << 20, counter()).is_err());
        let delayed = vec![Message::new("T", "a").with_delay_time_level(2)];
        assert!(prepare_batch(delayed, 1 << 20, counter()).is_err());
        assert!(prepare_batch(vec![], 1 << 20, counter()).is_err());
        assert!(prepare_batch(vec![Message::new("%RETRY%G", "a")], 1 << 20, counter()).is_err());
        assert!(prepare_batch(vec![Message::new("T", "a")], 10, counter()).is_err());
    }

    #[test]
    fn single_validation_and_compression() {
        assert!(prepare_single(Message::new("bad topic", "x"), 100, 4096, || "k".into()).is_err());
        assert!(prepare_single(Message::new("T", ""), 100, 4096, || "k".into()).is_err());
        assert!(prepare_single(Message::new("T", "xx"), 1, 4096, || "k".into()).is_err());
        let big = Message::new("T", vec![b'z'; 10_000]);
        let out = prepare_single(big, 1 << 20, 4096, || "k".into()).unwrap();
        assert_eq!(out.sys_flag, 0x301);
        assert_eq!(decompress_body(&out.body, out.sys_flag, 1 << 20).unwrap().len(), 10_000);
        assert_eq!(out.msg_id, "k");
        let retry = Message::new("%RETRY%G", "x")
            .with_property(prop::RECONSUME_TIME, "2")
            .with_property(prop::MAX_RECONSUME_TIMES, "16");
        let out = prepare_single(retry, 100, 4096, || "k".into()).unwrap();
        assert_eq!((out.reconsume_times, out.max_reconsume_times), (Some(2), Some(16)));
        assert!(!out.properties.contains(prop::RECONSUME_TIME));
    }
}
