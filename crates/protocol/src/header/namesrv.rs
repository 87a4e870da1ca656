//! Name server headers: REGISTER_BROKER (103), UNREGISTER_BROKER (104), GET_ROUTEINFO_BY_TOPIC
//! (105), BROKER_HEARTBEAT (904), the KV config codes (100-102, 219), DELETE_TOPIC_IN_NAMESRV
//! (216) and GET_TOPICS_BY_CLUSTER (224).

use crate::header::command_header;

command_header! {
    /// REGISTER_BROKER request (also the broker's periodic heartbeat).
    pub struct RegisterBrokerRequestHeader {
        broker_name: String = "brokerName",
        broker_addr: String = "brokerAddr",
        cluster_name: String = "clusterName",
        ha_server_addr: String = "haServerAddr",
        broker_id: i64 = "brokerId",
        heartbeat_timeout_millis: Option<i64> = "heartbeatTimeoutMillis",
        enable_acting_master: Option<bool> = "enableActingMaster",
        /// The body is the zlib form of RegisterBrokerBody.
        compressed: Option<bool> = "compressed",
        /// CRC32 of the body; 0 means unchecked.
        body_crc32: Option<i32> = "bodyCrc32",
        zone_name: Option<String> = "zoneName",
    }
}

command_header! {
    /// REGISTER_BROKER response.
    pub struct RegisterBrokerResponseHeader {
        ha_server_addr: Option<String> = "haServerAddr",
        master_addr: Option<String> = "masterAddr",
    }
}

command_header! {
    /// UNREGISTER_BROKER request.
    pub struct UnregisterBrokerRequestHeader {
        broker_name: String = "brokerName",
        broker_addr: String = "brokerAddr",
        cluster_name: String = "clusterName",
        broker_id: i64 = "brokerId",
    }
}

command_header! {
    /// GET_ROUTEINFO_BY_TOPIC request.
    pub struct GetRouteInfoRequestHeader {
        topic: String = "topic",
        /// Ask for standard JSON whatever the request version.
        accept_standard_json_only: Option<bool> = "acceptStandardJsonOnly",
    }
}

command_header! {
    /// BROKER_HEARTBEAT request (acting-master/controller mode keep-alive).
    pub struct BrokerHeartbeatRequestHeader {
        cluster_name: String = "clusterName",
        broker_addr: String = "brokerAddr",
        broker_name: String = "brokerName",
        broker_id: Option<i64> = "brokerId",
        epoch: Option<i32> = "epoch",
        max_offset: Option<i64> = "maxOffset",
        confirm_offset: Option<i64> = "confirmOffset",
        /// Java's spelling.
        heartbeat_timeout_mills: Option<i64> = "heartbeatTimeoutMills",
        election_priority: Option<i32> = "electionPriority",
    }
}

command_header! {
    /// PUT_KV_CONFIG request.
    pub struct PutKvConfigRequestHeader {
        namespace: String = "namespace",
        key: String = "key",
        value: String = "value",
    }
}

command_header! {
    /// GET_KV_CONFIG request.
    pub struct GetKvConfigRequestHeader {
        namespace: String = "namespace",
        key: String = "key",
    }
}

command_header! {
    /// GET_KV_CONFIG response.
    pub struct GetKvConfigResponseHeader {
        value: Option<String> = "value",
    }
}

command_header! {
    /// DELETE_KV_CONFIG request.
    pub struct DeleteKvConfigRequestHeader {
        namespace: String = "namespace",
        key: String = "key",
    }
}

command_header! {
    /// GET_KVLIST_BY_NAMESPACE request.
    pub struct GetKvListByNamespaceRequestHeader {
        namespace: String = "namespace",
    }
}

command_header! {
    /// DELETE_TOPIC_IN_NAMESRV request.
    pub struct DeleteTopicFromNamesrvRequestHeader {
        topic: String = "topic",
        cluster_name: Option<String> = "clusterName",
    }
}

command_header! {
    /// GET_TOPICS_BY_CLUSTER request.
    pub struct GetTopicsByClusterRequestHeader {
        cluster: String = "cluster",
    }
}
