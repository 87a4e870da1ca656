//! Offset queries and updates: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
//! SEARCH_OFFSET_BY_TIMESTAMP (29), GET_MAX_OFFSET (30), GET_MIN_OFFSET (31),
//! GET_EARLIEST_MSG_STORETIME (32).

use crate::header::command_header;

command_header! {
    /// QUERY_CONSUMER_OFFSET request.
    pub struct QueryConsumerOffsetRequestHeader {
        consumer_group: String = "consumerGroup",
        topic: String = "topic",
        queue_id: i32 = "queueId",
        set_zero_if_not_found: Option<bool> = "setZeroIfNotFound",
        broker_name: Option<String> = "bname",
    }
}

command_header! {
    /// QUERY_CONSUMER_OFFSET response.
    pub struct QueryConsumerOffsetResponseHeader {
        offset: i64 = "offset",
    }
}

command_header! {
    /// UPDATE_CONSUMER_OFFSET request (Java clients send it one-way).
    pub struct UpdateConsumerOffsetRequestHeader {
        consumer_group: String = "consumerGroup",
        topic: String = "topic",
        queue_id: i32 = "queueId",
        commit_offset: i64 = "commitOffset",
        broker_name: Option<String> = "bname",
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP request.
    pub struct SearchOffsetRequestHeader {
        topic: String = "topic",
        queue_id: i32 = "queueId",
        timestamp: i64 = "timestamp",
        /// "lower" (default) or "upper".
        boundary_type: Option<String> = "boundaryType",
        broker_name: Option<String> = "bname",
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP response.
    pub struct SearchOffsetResponseHeader {
        offset: i64 = "offset",
    }
}

command_header! {
    /// GET_MAX_OFFSET request.
    pub struct GetMaxOffsetRequestHeader {
        topic: String = "topic",
        queue_id: i32 = "queueId",
        committed: Option<bool> = "committed",
        broker_name: Option<String> = "bname",
    }
}

command_header! {
    /// GET_MAX_OFFSET response: the next logical offset (the message count).
    pub struct GetMaxOffsetResponseHeader {
        offset: i64 = "offset",
    }
}

command_header! {
    /// GET_MIN_OFFSET request.
    pub struct GetMinOffsetRequestHeader {
        topic: String = "topic",
        queue_id: i32 = "queueId",
        broker_name: Option<String> = "bname",
    }
}

command_header! {
    /// GET_MIN_OFFSET response.
    pub struct GetMinOffsetResponseHeader {
        offset: i64 = "offset",
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME request.
    pub struct GetEarliestMsgStoretimeRequestHeader {
        topic: String = "topic",
        queue_id: i32 = "queueId",
        broker_name: Option<String> = "bname",
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME response.
    pub struct GetEarliestMsgStoretimeResponseHeader {
        timestamp: i64 = "timestamp",
    }
}
