//! The Apogee broker (RocketMQ's `broker` module): request processors over the remoting
//! transport, long polling, consumer offsets, topic and subscription group config, the client
//! registries, and registration with the name servers. The store is `apogee-store`.
//!
//! Entry point: [`BrokerController::start`] (used by the `mqbroker` binary and the simulation).

pub mod admin_body;
pub mod broker2client;
pub mod broker_config;
pub mod broker_config_loader;
pub mod broker_controller;
pub mod broker_outer_api;
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
pub mod subscription_group_manager;
pub mod topic_config_manager;
pub mod topic_validator;

pub use broker_config::{BrokerConfig, BrokerRole};
pub use broker_controller::{BrokerController, BrokerHandle};
pub use error::{BrokerError, Result};
