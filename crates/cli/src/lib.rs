//! Apogee's operator tools, as a library so that tests can drive them in process.
//!
//! - [`commands`]: `mqadmin`, RocketMQ's admin commands with their names and option letters
//!   (`updateTopic`, `topicList`, `topicRoute`, `topicStatus`, `clusterList`,
//!   `consumerProgress`, `queryMsgById`, `queryMsgByKey`, `sendMessage`, `consumeMessage`).
//!   Each command renders its output into a `String`, so the binary only prints it.
//! - [`bench`]: `mqbench`, the benchmark producer (sync, async and batch sends) and consumer,
//!   reporting throughput and latency percentiles every second.

pub mod bench;
pub mod commands;
pub mod error;
pub mod format;

pub use error::{CliError, Result};
