//! PULL_MESSAGE (11) / LITE_PULL_MESSAGE (361) request and response headers.

use crate::header::command_header;

command_header! {
    /// A pull request.
    pub struct PullMessageRequestHeader {
        consumer_group: String = "consumerGroup",
        topic: String = "topic",
        queue_id: i32 = "queueId",
        queue_offset: i64 = "queueOffset",
        max_msg_nums: i32 = "maxMsgNums",
        /// [`crate::message::sysflag::pull`] bits.
        sys_flag: i32 = "sysFlag",
        /// The consumer's current offset, stored if sysFlag has COMMIT_OFFSET.
        commit_offset: i64 = "commitOffset",
        /// How long the broker may hold the request.
        suspend_timeout_millis: i64 = "suspendTimeoutMillis",
        /// The subscription expression (used if sysFlag has SUBSCRIPTION).
        subscription: Option<String> = "subscription",
        sub_version: i64 = "subVersion",
        /// "TAG" (default) or "SQL92".
        expression_type: Option<String> = "expressionType",
        max_msg_bytes: Option<i32> = "maxMsgBytes",
        request_source: Option<i32> = "requestSource",
        /// Java's spelling.
        proxy_forward_client_id: Option<String> = "proxyFrowardClientId",
        broker_name: Option<String> = "bname",
    }
}

command_header! {
    /// A pull response. The four offsets are unboxed by the Java client, so they must always be
    /// present.
    pub struct PullMessageResponseHeader {
        suggest_which_broker_id: i64 = "suggestWhichBrokerId",
        next_begin_offset: i64 = "nextBeginOffset",
        min_offset: i64 = "minOffset",
        max_offset: i64 = "maxOffset",
        offset_delta: Option<i64> = "offsetDelta",
        topic_sys_flag: Option<i32> = "topicSysFlag",
        group_sys_flag: Option<i32> = "groupSysFlag",
        forbidden_type: Option<i32> = "forbiddenType",
    }
}
