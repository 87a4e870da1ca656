//! The Apogee broker (RocketMQ's `broker` module): request processors over the remoting
//! transport, long polling, consumer offsets, topic and subscription group config, the client
//! registries, and registration with the name servers. The store is `apogee-store`.
//!
//! Entry point: [`BrokerController::start`] (used by the `mqbroker` binary and the simulation);
//! [`BrokerHandle::shutdown`] stops gracefully (unregister, persist, flush, checkpoint).
//!
//! Request codes served (both on listenPort and on the VIP port, listenPort - 2):
//!
//! - send: SEND_MESSAGE 10, SEND_MESSAGE_V2 310, SEND_BATCH_MESSAGE 320 (a batch is the header
//!   flag or code 320), CONSUMER_SEND_MSG_BACK 36;
//! - pull: PULL_MESSAGE 11, LITE_PULL_MESSAGE 361 (long polling, COMMIT_OFFSET, SUBSCRIPTION);
//! - query: QUERY_MESSAGE 12, VIEW_MESSAGE_BY_ID 33;
//! - client manage: HEART_BEAT 34 (v1 and v2), UNREGISTER_CLIENT 35, CHECK_CLIENT_CONFIG 46;
//! - consumer manage: QUERY_CONSUMER_OFFSET 14, UPDATE_CONSUMER_OFFSET 15,
//!   GET_CONSUMER_LIST_BY_GROUP 38;
//! - admin (the default processor): UPDATE_AND_CREATE_TOPIC 17, GET_ALL_TOPIC_CONFIG 21,
//!   GET_BROKER_CONFIG 26, GET_BROKER_RUNTIME_INFO 28, SEARCH_OFFSET_BY_TIMESTAMP 29,
//!   GET_MAX_OFFSET 30, GET_MIN_OFFSET 31, GET_EARLIEST_MSG_STORETIME 32, LOCK_BATCH_MQ 41,
//!   UNLOCK_BATCH_MQ 42, GET_ALL_CONSUMER_OFFSET 43, GET_ALL_DELAY_OFFSET 45, UPDATE_AND_CREATE_SUBSCRIPTIONGROUP 200,
//!   GET_ALL_SUBSCRIPTIONGROUP_CONFIG 201, GET_TOPIC_STATS_INFO 202,
//!   GET_CONSUMER_CONNECTION_LIST 203, GET_CONSUME_STATS 208, DELETE_TOPIC_IN_BROKER 215.
//!
//! Messages with a DELAY level (and consumer send-backs) are held back by the schedule service
//! (`schedule`). Everything else is answered REQUEST_CODE_NOT_SUPPORTED. Not yet here:
//! transactions (half messages are refused with NO_PERMISSION).

pub mod admin_body;
pub mod broker2client;
pub mod broker_config;
pub mod broker_config_loader;
pub mod broker_controller;
pub mod broker_outer_api;
pub mod broker_stats;
pub mod client_channel_info;
pub mod client_housekeeping_service;
pub mod config_file;
pub mod consumer_manager;
pub mod consumer_offset_manager;
pub mod error;
pub mod processor;
pub mod producer_manager;
pub mod pull_request_hold_service;
pub mod rebalance_lock_manager;
pub mod schedule;
pub mod subscription_group_manager;
pub mod topic_config_manager;
pub mod topic_validator;

// Test-only (gated inside the file).
mod test_support;

pub use broker_config::{BrokerConfig, BrokerRole};
pub use broker_controller::{BrokerController, BrokerHandle};
pub use error::{BrokerError, Result};
