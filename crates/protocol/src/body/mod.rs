//! The JSON bodies of reference §3, with fastjson-tolerant input and compact output.

pub mod fastjson;
pub mod heartbeat;
pub mod lock;
pub mod register_broker;
pub mod route;
pub mod simple;
pub mod topic_config;

pub use fastjson::{parse, quote_numeric_keys, to_json, JsonBody, JsonStyle};
pub use heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, ProducerData,
    SubscriptionData,
};
pub use lock::{LockBatchRequestBody, LockBatchResponseBody, MessageQueue, UnlockBatchRequestBody};
pub use register_broker::RegisterBrokerBody;
pub use route::{perm, BrokerData, ClusterInfo, QueueData, TopicRouteData, MASTER_ID};
pub use simple::{
    ConsumerListByGroupResponseBody, ConsumerOffsetSerializeWrapper, KvTable, TopicList,
};
pub use topic_config::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
