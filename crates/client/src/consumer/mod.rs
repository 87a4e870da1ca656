//! Consumers: [`PushConsumer`] (listener driven, pulled by long polling in the background) and
//! [`LitePullConsumer`] (the caller polls), with rebalance, offset stores and flow control.

mod allocate;
mod consume_message_concurrently_service;
mod listener;
mod lite_pull_consumer;
mod offset_store;
mod process_queue;
pub(crate) mod pull_api_wrapper;
mod push_consumer;
mod rebalance_impl;

use std::time::Duration;

use protocol::body::ConsumeFromWhere as WireConsumeFromWhere;
use protocol::body::MessageModel as WireMessageModel;

pub use allocate::{
    AllocateMessageQueueAveragely, AllocateMessageQueueAveragelyByCircle,
    AllocateMessageQueueStrategy,
};
pub use listener::{ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus};
pub use lite_pull_consumer::{LitePullConsumer, LitePullConsumerOptions};
pub use offset_store::{OffsetTable, ReadOffsetType};
pub use process_queue::ProcessQueue;
pub use pull_api_wrapper::{PullResult, PullStatus, Subscription};
pub use push_consumer::{PushConsumer, PushConsumerOptions};

/// Where a consumer group with no stored offset for a queue starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsumeFromWhere {
    /// The queue's end: only messages sent from now on (RocketMQ's default).
    #[default]
    LastOffset,
    /// The queue's beginning.
    FirstOffset,
    /// The first message stored at or after this time (ms since the epoch).
    Timestamp(i64),
}

impl ConsumeFromWhere {
    /// The heartbeat's name for it.
    pub fn to_wire(self) -> WireConsumeFromWhere {
        match self {
            Self::LastOffset => WireConsumeFromWhere::ConsumeFromLastOffset,
            Self::FirstOffset => WireConsumeFromWhere::ConsumeFromFirstOffset,
            Self::Timestamp(_) => WireConsumeFromWhere::ConsumeFromTimestamp,
        }
    }
}

/// How a group shares messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageModel {
    /// Each message to one consumer of the group; offsets kept by the broker.
    #[default]
    Clustering,
    /// Each message to every consumer; offsets kept in memory by each consumer.
    Broadcasting,
}

impl MessageModel {
    /// The heartbeat's name for it.
    pub fn to_wire(self) -> WireMessageModel {
        match self {
            Self::Clustering => WireMessageModel::Clustering,
            Self::Broadcasting => WireMessageModel::Broadcasting,
        }
    }
}

/// How long a broker may hold a push consumer's pull (15 s).
pub const BROKER_SUSPEND_MAX_TIME: Duration = Duration::from_secs(15);
/// The RPC timeout of a held pull (30 s).
pub const CONSUMER_TIMEOUT_WHEN_SUSPEND: Duration = Duration::from_secs(30);
/// Back-off after a failed pull.
pub const PULL_TIME_DELAY_WHEN_EXCEPTION: Duration = Duration::from_secs(3);
/// Back-off when a process queue is over its flow-control thresholds.
pub const PULL_TIME_DELAY_WHEN_FLOW_CONTROL: Duration = Duration::from_millis(50);
