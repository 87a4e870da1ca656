//! The message properties string: `name \u{1} value \u{2}` repeated (RocketMQ
//! `MessageDecoder.messageProperties2String` / `string2messageProperties`), and the well-known
//! property names (RocketMQ `MessageConst`).

use std::collections::BTreeMap;

use crate::error::{ProtocolError, Result};

/// Separates a property's name from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Terminates each property pair.
pub const PROPERTY_SEPARATOR: char = '\u{2}';
/// The properties length in a record is an int16.
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Client-generated unique message id (SendResult.msgId, the transaction id).
pub const UNIQ_KEY: &str = "UNIQ_KEY";
/// Space-separated business keys, indexed by the broker.
pub const KEYS: &str = "KEYS";
/// The message tag.
pub const TAGS: &str = "TAGS";
/// waitStoreMsgOK.
pub const WAIT: &str = "WAIT";
/// Delay level (1-18).
pub const DELAY: &str = "DELAY";
/// `"true"` on a transactional half message.
pub const TRAN_MSG: &str = "TRAN_MSG";
/// The producer group of a transactional message.
pub const PGROUP: &str = "PGROUP";
/// The topic a scheduled/half message is really for.
pub const REAL_TOPIC: &str = "REAL_TOPIC";
/// The queue id a scheduled/half message is really for.
pub const REAL_QID: &str = "REAL_QID";
/// The original topic of a message sent back for retry.
pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
/// The msg id of the message a retry copy was made from.
pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
/// Reconsume count on a client-side resend.
pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
/// Max reconsume times on a client-side resend.
pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
/// How often a half message has been checked.
pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
/// Seconds before the first transaction check.
pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
/// The transaction id.
pub const TRANSACTION_ID: &str = "__transactionId__";
/// Cluster name, added by the broker.
pub const CLUSTER: &str = "CLUSTER";
/// Region of the broker.
pub const MSG_REGION: &str = "MSG_REGION";
/// Whether message trace is on.
pub const TRACE_ON: &str = "TRACE_ON";
/// Queue min offset, set client-side after a pull.
pub const MIN_OFFSET: &str = "MIN_OFFSET";
/// Queue max offset, set client-side after a pull.
pub const MAX_OFFSET: &str = "MAX_OFFSET";
/// Ordering key for sharded ordered messages.
pub const SHARDING_KEY: &str = "__SHARDINGKEY";
/// Timer message: delay in seconds.
pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
/// Timer message: delay in milliseconds.
pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
/// Timer message: absolute delivery time in milliseconds.
pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
/// Timer message: when it was put into the timer log.
pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
/// Timer message: when it was taken out of the timer log.
pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
/// Timer message: the roll count.
pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
/// Timer message: its unique key within the timer log.
pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
/// Timer message: marks a deletion of a timer entry.
pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
/// Optional CRC property appended by `enabledAppendPropCRC`.
pub const CRC32: &str = "__CRC32#";
/// Timer message: the delay level it came from.
pub const TIMER_DELAY_LEVEL: &str = "TIMER_DELAY_LEVEL";
/// Queue offset of the half message a transaction op refers to.
pub const TRAN_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
/// When the client started consuming the message.
pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
/// Number of inner messages of a 5.x inner batch.
pub const INNER_NUM: &str = "INNER_NUM";
/// Instance id of the producer.
pub const INSTANCE_ID: &str = "INSTANCE_ID";
/// Correlation id of a request-reply message.
pub const CORRELATION_ID: &str = "CORRELATION_ID";
/// Reply-to client of a request-reply message.
pub const MESSAGE_REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
/// Time-to-live of a request-reply message.
pub const MESSAGE_TTL: &str = "TTL";
/// Message type of a request-reply message.
pub const MESSAGE_TYPE: &str = "MSG_TYPE";
/// When a reply message arrived (request-reply).
pub const REPLY_MESSAGE_ARRIVE_TIME: &str = "ARRIVE_TIME";
/// Names starting with this prefix are never stored by the broker.
pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";

/// Parses a properties string. Pairs are split on `\u{2}` (the last may lack its terminator),
/// name and value on the first `\u{1}`; pairs with an empty name or value are skipped and a
/// later duplicate wins, exactly like Java's `string2messageProperties`.
pub fn parse_properties(s: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (name, value) in iter_properties(s) {
        map.insert(name.to_owned(), value.to_owned());
    }
    map
}

/// Iterates the pairs of a properties string without allocating (same rules as
/// [`parse_properties`], duplicates are all yielded).
pub fn iter_properties(s: &str) -> impl Iterator<Item = (&str, &str)> {
    s.split(PROPERTY_SEPARATOR).filter_map(|pair| {
        let (name, value) = pair.split_once(NAME_VALUE_SEPARATOR)?;
        (!name.is_empty() && !value.is_empty()).then_some((name, value))
    })
}

/// The value of one property (the last occurrence, as a map would hold it).
pub fn find_property<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    iter_properties(s).filter(|(n, _)| *n == name).map(|(_, v)| v).last()
}

/// Writes pairs in wire form. Pairs with an empty name or value are skipped (they would not
/// survive a parse); a name containing either separator, or a value containing the pair
/// terminator, would corrupt the string and is an error.
pub fn encode_properties<'a, I>(pairs: I) -> Result<String>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut out = String::new();
    for (name, value) in pairs {
        append_property(&mut out, name, value)?;
    }
    Ok(out)
}

/// Appends one pair to a properties string in wire form (see [`encode_properties`]).
pub fn append_property(out: &mut String, name: &str, value: &str) -> Result<()> {
    if name.is_empty() || value.is_empty() {
        return Ok(());
    }
    if name.contains([NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR]) {
        return Err(ProtocolError::InvalidProperty(name.to_owned()));
    }
    if value.contains(PROPERTY_SEPARATOR) {
        return Err(ProtocolError::InvalidProperty(value.to_owned()));
    }
    out.push_str(name);
    out.push(NAME_VALUE_SEPARATOR);
    out.push_str(value);
    out.push(PROPERTY_SEPARATOR);
    Ok(())
}

/// Encodes a map (see [`encode_properties`]).
pub fn properties_to_string(map: &BTreeMap<String, String>) -> Result<String> {
    encode_properties(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_like_java() {
        let m = parse_properties(
            "A\u{1}1\u{2}\u{1}x\u{2}B\u{1}\u{2}C\u{1}3\u{1}4\u{2}A\u{1}2\u{2}D\u{1}5",
        );
        assert_eq!(m.get("A").map(String::as_str), Some("2"));
        assert_eq!(m.get("C").map(String::as_str), Some("3\u{1}4"));
        assert_eq!(m.get("D").map(String::as_str), Some("5"));
        assert!(!m.contains_key("B") && !m.contains_key(""));
        assert_eq!(find_property("K\u{1}v\u{2}", "K"), Some("v"));
    }

    #[test]
    fn encode_skips_empty_and_rejects_separators() {
        let s = encode_properties([("A", "1"), ("", "x"), ("B", "")]).unwrap();
        assert_eq!(s, "A\u{1}1\u{2}");
        assert!(encode_properties([("A\u{1}", "1")]).is_err());
        assert!(encode_properties([("A", "1\u{2}")]).is_err());
    }
}
