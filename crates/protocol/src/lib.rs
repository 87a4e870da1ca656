//! RocketMQ's remoting protocol, byte-compatible with stock Java, Go, C++ and Rust clients:
//! frames with JSON or ROCKETMQ binary headers, request and response codes, typed headers, the
//! stored message record that pull responses ship as is, and the JSON bodies. The crate does no
//! I/O; every decoder takes untrusted bytes and answers malformed input with a
//! [`ProtocolError`], never a panic.

pub mod body;
pub mod code;
pub mod command;
pub mod error;
pub mod ext_fields;
pub mod frame;
pub mod header;
pub mod language;
pub mod message;
mod reader;

pub use code::{RequestCode, ResponseCode};
pub use command::{RemotingCommand, ResponseSerialization, SerializeType};
pub use error::{ProtocolError, Result};
pub use ext_fields::ExtFields;
pub use frame::{
    decode_frame, decode_frame_with_limit, encode_frame, encode_frame_head, encode_frame_parts,
    MAX_FRAME_LEN,
};
pub use header::CommandHeader;
pub use language::LanguageCode;
