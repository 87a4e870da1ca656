//! The Apogee RocketMQ client: an async API a tokio user finds natural, speaking RocketMQ's
//! remoting protocol to any RocketMQ-compatible name server and broker.
//!
//! - [`Producer`]: `send(msg).await` is RocketMQ's sync send (with retries on another broker
//!   and optional latency-fault avoidance), plus callback, one-way, batch, to-a-queue and
//!   ordered (queue selector / sharding key) sends.
//! - [`PushConsumer`]: a concurrent listener fed by per-queue long-polling pulls; clustering
//!   (rebalance across the group, offsets on the broker) or broadcasting; failed batches go to
//!   the group's retry queue.
//! - [`LitePullConsumer`]: `assign` or `subscribe`, then `poll`, `seek`, `commit_sync`.
//! - [`Admin`]: topics, routes, clusters, offsets, consumer progress, message lookups.
//!
//! Producers and consumers built from clones of one [`ClientConfig`] share one
//! [`MQClientInstance`]: connections, routes (refreshed every 30 s), heartbeats, rebalance
//! and offset persistence. Time, randomness, tasks and sockets go through the runtime seam
//! (`rt`, `tokio`), so the client also runs inside the madsim simulation.

pub mod admin;
pub mod client_config;
pub mod consumer;
pub mod error;
pub mod latency_fault_tolerance;
pub mod message;
pub mod mq_client_api;
pub mod mq_client_instance;
pub mod producer;
pub mod topic_publish_info;

pub use admin::Admin;
pub use client_config::{ClientConfig, NAMESRV_ADDR_ENV};
pub use consumer::{
    AllocateMessageQueueAveragely, AllocateMessageQueueAveragelyByCircle,
    AllocateMessageQueueStrategy, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus,
    ConsumeFromWhere, LitePullConsumer, LitePullConsumerOptions, MessageModel, PushConsumer,
    PushConsumerOptions,
};
pub use error::{MQClientError, Result};
pub use message::{Message, MessageExt, MessageQueue};
pub use mq_client_instance::MQClientInstance;
pub use producer::{
    MessageQueueSelector, Producer, ProducerOptions, SelectMessageQueueByHash, SendResult,
    SendStatus,
};
pub use protocol::body::TopicConfig;
