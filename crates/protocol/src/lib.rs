//! RocketMQ's remoting protocol, byte-compatible with stock Java, Go, C++ and Rust clients:
//! frames with JSON or ROCKETMQ binary headers, request and response codes, typed headers, the
//! stored message record that pull responses ship as is, and the JSON bodies. The crate does no
//! I/O; every decoder takes untrusted bytes and answers malformed input with a
//! [`ProtocolError`], never a panic.

pub mod error;
pub mod message;
mod reader;

pub use error::{ProtocolError, Result};
