//! Client management headers: HEART_BEAT's response, UNREGISTER_CLIENT (35),
//! CONSUMER_SEND_MSG_BACK (36), GET_CONSUMER_LIST_BY_GROUP (38), NOTIFY_CONSUMER_IDS_CHANGED (40).

use crate::header::command_header;

command_header! {
    /// Ext fields of the HEART_BEAT response (Java sets them without a header class).
    pub struct HeartbeatResponseHeader {
        is_support_heart_beat_v2: Option<bool> = "IS_SUPPORT_HEART_BEAT_V2",
        is_sub_change: Option<bool> = "IS_SUB_CHANGE",
    }
}

command_header! {
    /// UNREGISTER_CLIENT request.
    pub struct UnregisterClientRequestHeader {
        /// Java's spelling: capital ID.
        client_id: String = "clientID",
        producer_group: Option<String> = "producerGroup",
        consumer_group: Option<String> = "consumerGroup",
    }
}

command_header! {
    /// CONSUMER_SEND_MSG_BACK request: put a consumed message back for retry (or the DLQ).
    pub struct ConsumerSendMsgBackRequestHeader {
        /// Physical offset of the consumed message.
        offset: i64 = "offset",
        group: String = "group",
        /// 0: broker picks `3 + reconsumeTimes`; negative: straight to the DLQ.
        delay_level: i32 = "delayLevel",
        origin_msg_id: Option<String> = "originMsgId",
        origin_topic: Option<String> = "originTopic",
        unit_mode: Option<bool> = "unitMode",
        max_reconsume_times: Option<i32> = "maxReconsumeTimes",
        broker_name: Option<String> = "bname",
    }
}

command_header! {
    /// GET_CONSUMER_LIST_BY_GROUP request (the answer is a JSON body).
    pub struct GetConsumerListByGroupRequestHeader {
        consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// NOTIFY_CONSUMER_IDS_CHANGED, sent one-way by the broker to the group's consumers.
    pub struct NotifyConsumerIdsChangedRequestHeader {
        consumer_group: String = "consumerGroup",
    }
}
