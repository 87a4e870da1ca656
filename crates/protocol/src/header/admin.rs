//! Broker administration headers: UPDATE_AND_CREATE_TOPIC (17), DELETE_TOPIC_IN_BROKER (215),
//! GET_TOPIC_STATS_INFO (202), GET_CONSUMER_CONNECTION_LIST (203), GET_CONSUME_STATS (208),
//! GET_TOPIC_CONFIG (351).

use crate::header::command_header;

command_header! {
    /// UPDATE_AND_CREATE_TOPIC request.
    pub struct CreateTopicRequestHeader {
        topic: String = "topic",
        default_topic: String = "defaultTopic",
        read_queue_nums: i32 = "readQueueNums",
        write_queue_nums: i32 = "writeQueueNums",
        /// PermName bits: READ 4, WRITE 2, INHERIT 1.
        perm: i32 = "perm",
        /// "SINGLE_TAG" or "MULTI_TAG".
        topic_filter_type: String = "topicFilterType",
        topic_sys_flag: Option<i32> = "topicSysFlag",
        order: bool = "order",
        /// JSON map of topic attributes.
        attributes: Option<String> = "attributes",
        force: Option<bool> = "force",
    }
}

command_header! {
    /// DELETE_TOPIC_IN_BROKER request.
    pub struct DeleteTopicRequestHeader {
        topic: String = "topic",
    }
}

command_header! {
    /// GET_TOPIC_STATS_INFO request.
    pub struct GetTopicStatsInfoRequestHeader {
        topic: String = "topic",
    }
}

command_header! {
    /// GET_CONSUMER_CONNECTION_LIST request.
    pub struct GetConsumerConnectionListRequestHeader {
        consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// GET_CONSUME_STATS request.
    pub struct GetConsumeStatsRequestHeader {
        consumer_group: String = "consumerGroup",
        topic: Option<String> = "topic",
    }
}

command_header! {
    /// GET_TOPIC_CONFIG request.
    pub struct GetTopicConfigRequestHeader {
        topic: String = "topic",
    }
}
