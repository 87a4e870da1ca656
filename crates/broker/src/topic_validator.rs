//! Topic and group name rules and the system topics (RocketMQ `TopicValidator`, `MixAll`).

/// The topic auto-created topics inherit from.
pub const AUTO_CREATE_TOPIC_KEY_TOPIC: &str = "TBW102";
/// The topic the broker answers sends to for its self test.
pub const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
/// Delayed messages wait here, one queue per delay level.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Transaction half messages.
pub const TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Transaction commit/rollback markers.
pub const TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Half messages checked too often.
pub const TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// Offset-moved events.
pub const OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
/// Prefix of a consumer group's retry topic.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// Prefix of a consumer group's dead-letter topic.
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";
/// Longest ordinary topic name.
pub const TOPIC_MAX_LENGTH: usize = 127;
/// Longest retry or DLQ topic name (the prefix plus a group name).
pub const RETRY_OR_DLQ_TOPIC_MAX_LENGTH: usize = 255;
/// Longest consumer or producer group name.
pub const GROUP_MAX_LENGTH: usize = 120;

/// `%RETRY%<group>`.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

/// `%DLQ%<group>`.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_GROUP_TOPIC_PREFIX}{group}")
}

/// Whether `topic` is a retry or DLQ topic.
pub fn is_retry_or_dlq(topic: &str) -> bool {
    topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) || topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
}

fn legal_chars(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
}

/// Checks a topic name (`^[%|a-zA-Z0-9_-]+$`, at most 127 characters, 255 for retry/DLQ
/// topics); the error is the remark to answer with.
pub fn validate_topic(topic: &str) -> Result<(), String> {
    if topic.trim().is_empty() {
        return Err("The specified topic is blank.".to_owned());
    }
    if !legal_chars(topic) {
        return Err(format!(
            "The specified topic[{topic}] contains illegal characters, allowing only \
             ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    let max = if is_retry_or_dlq(topic) { RETRY_OR_DLQ_TOPIC_MAX_LENGTH } else { TOPIC_MAX_LENGTH };
    if topic.len() > max {
        return Err(format!("The specified topic is longer than topic max length {max}."));
    }
    Ok(())
}

/// Checks a group name (same characters as topics, at most 120).
pub fn validate_group(group: &str) -> Result<(), String> {
    if group.trim().is_empty() {
        return Err("the specified group is blank".to_owned());
    }
    if !legal_chars(group) {
        return Err(format!(
            "the specified group[{group}] contains illegal characters, allowing only \
             ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    if group.len() > GROUP_MAX_LENGTH {
        return Err(format!(
            "the specified group is longer than group max length {GROUP_MAX_LENGTH}."
        ));
    }
    Ok(())
}

/// Topics producers may not send to: they are written by the broker itself.
pub fn is_not_allowed_send_topic(topic: &str) -> bool {
    matches!(
        topic,
        SCHEDULE_TOPIC | TRANS_HALF_TOPIC | TRANS_OP_HALF_TOPIC | TRANS_CHECK_MAX_TIME_TOPIC
    )
}

/// Topics an administrator may not create or update by hand.
pub fn is_system_topic(topic: &str) -> bool {
    is_not_allowed_send_topic(topic)
        || matches!(topic, AUTO_CREATE_TOPIC_KEY_TOPIC | SELF_TEST_TOPIC | OFFSET_MOVED_EVENT)
        || topic.starts_with("rmq_sys_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_rules() {
        assert!(validate_topic("TopicTest").is_ok());
        assert!(validate_topic("%RETRY%group_1-a|b").is_ok());
        assert!(validate_topic("").is_err());
        assert!(validate_topic("a b").is_err());
        assert!(validate_topic("a/b").is_err());
        assert!(validate_topic(&"t".repeat(127)).is_ok());
        assert!(validate_topic(&"t".repeat(128)).is_err());
        assert!(validate_topic(&format!("%RETRY%{}", "g".repeat(200))).is_ok());
        assert!(validate_topic(&format!("%DLQ%{}", "g".repeat(260))).is_err());
        assert!(is_not_allowed_send_topic(SCHEDULE_TOPIC));
        assert!(is_not_allowed_send_topic(TRANS_HALF_TOPIC));
        assert!(!is_not_allowed_send_topic("TopicTest"));
        assert!(is_system_topic("TBW102"));
        assert!(validate_group("G").is_ok());
        assert!(validate_group(&"g".repeat(121)).is_err());
    }
}
