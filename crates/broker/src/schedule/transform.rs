//! The two rewrites of a delay-level message: on put, into the schedule topic (RocketMQ
//! `HookUtils.transformDelayLevelMessage`, applied by `handleScheduleMessage`), and when it
//! falls due, back to the topic and queue it was sent to (RocketMQ
//! `ScheduleMessageService.messageTimeup`).

use protocol::message::properties::{self as props, find_property, parse_properties};
use protocol::message::{sysflag, tags_code, MessageExt, MessageExtBrokerInner};
use protocol::ProtocolError;

use super::delay_level::{delay_level_to_queue_id, DelayLevelTable};
use crate::topic_validator::SCHEDULE_TOPIC;

/// The delay level a properties string asks for: DELAY as a number, 0 when absent. RocketMQ's
/// `getDelayTimeLevel` throws on a non-number and fails the send; here such a value just
/// means "not delayed", like 0 and negative levels.
pub fn delay_level_of(properties: &str) -> i32 {
    find_property(properties, props::DELAY).and_then(|d| d.trim().parse().ok()).unwrap_or(0)
}

/// Moves `msg` to the schedule topic if it asks for a delay: DELAY is a level > 0 (capped at
/// the highest level, and rewritten so, since the store derives the queue's tags code from it)
/// and the message is neither a half nor a rollback message, whose delivery is the transaction
/// service's business. The real topic and queue are kept in REAL_TOPIC / REAL_QID. Returns
/// whether the message was moved.
pub fn transform_delay_level_message(
    msg: &mut MessageExtBrokerInner,
    table: &DelayLevelTable,
) -> Result<bool, ProtocolError> {
    let tran_type = sysflag::transaction_type(msg.sys_flag);
    if tran_type != sysflag::TRANSACTION_NOT_TYPE && tran_type != sysflag::TRANSACTION_COMMIT_TYPE {
        return Ok(false);
    }
    let level = delay_level_of(&msg.properties);
    if level <= 0 {
        return Ok(false);
    }
    let level = level.min(table.max_level());
    let mut map = parse_properties(&msg.properties);
    map.insert(props::DELAY.to_owned(), level.to_string());
    map.insert(props::REAL_TOPIC.to_owned(), msg.topic.clone());
    map.insert(props::REAL_QID.to_owned(), msg.queue_id.to_string());
    msg.properties = props::properties_to_string(&map)?;
    msg.topic = SCHEDULE_TOPIC.to_owned();
    msg.queue_id = delay_level_to_queue_id(level);
    Ok(true)
}

/// Why a scheduled message cannot be put back.
#[derive(Debug, thiserror::Error)]
pub enum TimeupError {
    #[error("scheduled message has no {0} property")]
    MissingProperty(&'static str),
    #[error("scheduled message has a REAL_QID of {0:?}")]
    BadQueueId(String),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

/// The message to put when a scheduled message falls due: everything the producer (or the
/// send-back) stored — body, flag, sysflag, born time and host, reconsume times, and every
/// property including UNIQ_KEY, so consumers see the msgId the producer got — on its real
/// topic and queue. DELAY goes (or the put would schedule it again), WAIT is false as in
/// RocketMQ (nobody waits on this put), and the store's own record CRC goes, since the store
/// appends a fresh one. REAL_TOPIC / REAL_QID stay, as RocketMQ leaves them.
pub fn message_timeup(msg: &MessageExt) -> Result<MessageExtBrokerInner, TimeupError> {
    let topic =
        msg.property(props::REAL_TOPIC).ok_or(TimeupError::MissingProperty(props::REAL_TOPIC))?;
    let qid = msg.property(props::REAL_QID).ok_or(TimeupError::MissingProperty(props::REAL_QID))?;
    let queue_id: i32 = qid
        .trim()
        .parse()
        .ok()
        .filter(|q| *q >= 0)
        .ok_or_else(|| TimeupError::BadQueueId(qid.to_owned()))?;
    let mut map = msg.properties.clone();
    map.remove(props::DELAY);
    map.remove(props::CRC32);
    map.insert(props::WAIT.to_owned(), "false".to_owned());
    let mut inner = msg.to_inner(tags_code(msg.tags()))?;
    inner.topic = topic.to_owned();
    inner.queue_id = queue_id;
    inner.properties = props::properties_to_string(&map)?;
    Ok(inner)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use bytes::{Bytes, BytesMut};
    use protocol::message::decode_message;
    use protocol::message::properties::encode_properties;

    use super::*;

    fn inner(properties: String) -> MessageExtBrokerInner {
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        MessageExtBrokerInner {
            topic: "T".into(),
            queue_id: 3,
            flag: 7,
            sys_flag: 0,
            born_timestamp: 1_000,
            born_host: host,
            store_timestamp: 0,
            store_host: host,
            reconsume_times: 2,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"body"),
            properties,
            tags_code: 0,
        }
    }

    fn stored(m: &MessageExtBrokerInner) -> MessageExt {
        let mut out = BytesMut::new();
        m.encode(5, 4096, &mut out).unwrap();
        decode_message(&out.freeze(), true).unwrap()
    }

    #[test]
    fn delayed_message_moves_to_the_schedule_topic_and_back() {
        let table = DelayLevelTable::default();
        let p =
            encode_properties([("DELAY", "3"), ("UNIQ_KEY", "U1"), ("KEYS", "k"), ("TAGS", "t")])
                .unwrap();
        let mut m = inner(p);
        assert!(transform_delay_level_message(&mut m, &table).unwrap());
        assert_eq!((m.topic.as_str(), m.queue_id), (SCHEDULE_TOPIC, 2));
        assert_eq!(find_property(&m.properties, "REAL_TOPIC"), Some("T"));
        assert_eq!(find_property(&m.properties, "REAL_QID"), Some("3"));
        assert_eq!(find_property(&m.properties, "DELAY"), Some("3"));

        let mut s = stored(&m);
        s.properties.insert("__CRC32#".into(), "123".into());
        let back = message_timeup(&s).unwrap();
        assert_eq!((back.topic.as_str(), back.queue_id), ("T", 3));
        assert_eq!(&back.body[..], b"body");
        assert_eq!((back.flag, back.reconsume_times, back.born_timestamp), (7, 2, 1_000));
        assert_eq!(find_property(&back.properties, "DELAY"), None);
        assert_eq!(find_property(&back.properties, "__CRC32#"), None);
        assert_eq!(find_property(&back.properties, "UNIQ_KEY"), Some("U1"));
        assert_eq!(find_property(&back.properties, "KEYS"), Some("k"));
        assert_eq!(find_property(&back.properties, "WAIT"), Some("false"));
        assert_eq!(back.tags_code, tags_code(Some("t")));
    }

    #[test]
    fn levels_are_capped_and_non_delays_left_alone() {
        let table = DelayLevelTable::parse("1s 2s").unwrap();
        let mut m = inner(encode_properties([("DELAY", "40")]).unwrap());
        assert!(transform_delay_level_message(&mut m, &table).unwrap());
        assert_eq!(m.queue_id, 1);
        assert_eq!(find_property(&m.properties, "DELAY"), Some("2"));
        for d in ["0", "-1", "x"] {
            let mut m = inner(encode_properties([("DELAY", d)]).unwrap());
            assert!(!transform_delay_level_message(&mut m, &table).unwrap(), "{d}");
            assert_eq!(m.topic, "T");
        }
        let mut m = inner(String::new());
        assert!(!transform_delay_level_message(&mut m, &table).unwrap());
        // Rollback messages are not scheduled; committed ones are.
        let mut m = inner(encode_properties([("DELAY", "1")]).unwrap());
        m.sys_flag = sysflag::TRANSACTION_ROLLBACK_TYPE;
        assert!(!transform_delay_level_message(&mut m, &table).unwrap());
        m.sys_flag = sysflag::TRANSACTION_COMMIT_TYPE;
        assert!(transform_delay_level_message(&mut m, &table).unwrap());
    }

    #[test]
    fn timeup_needs_the_real_topic_and_queue() {
        let s = stored(&inner(encode_properties([("DELAY", "1")]).unwrap()));
        assert!(matches!(message_timeup(&s), Err(TimeupError::MissingProperty(_))));
        let s =
            stored(&inner(encode_properties([("REAL_TOPIC", "T"), ("REAL_QID", "-2")]).unwrap()));
        assert!(matches!(message_timeup(&s), Err(TimeupError::BadQueueId(_))));
    }
}
