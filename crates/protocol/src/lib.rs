//! RocketMQ's remoting protocol, byte-compatible with stock Java, Go, C++ and Rust clients:
//! frames with JSON or ROCKETMQ binary headers, request and response codes, typed headers, the
//! stored message record that pull responses ship as is, and the JSON bodies. The crate does no
//! I/O; every decoder takes untrusted bytes and answers malformed input with a
//! [`ProtocolError`], never a panic.
//!
//! - [`frame`]: length-prefixed frames, incremental decode with the 16 MiB cap checked first.
//! - [`command`]: [`RemotingCommand`] and its request/response helpers; [`ext_fields`] holds
//!   the string map custom headers travel in.
//! - [`header`]: the JSON and ROCKETMQ header serializations and a typed struct per header.
//! - [`code`]: request/response codes and the protocol versions that change behaviour.
//! - [`message`]: the CommitLog record, properties, batch bodies, message ids, SYSFLAG bits,
//!   the Java tag hash and body compression.
//! - [`body`]: the JSON bodies, fastjson-tolerant in, compact out.
//!
//! ```
//! use bytes::BytesMut;
//! use protocol::header::GetMaxOffsetRequestHeader;
//! use protocol::{decode_frame, encode_frame, RemotingCommand, RequestCode, ResponseCode};
//!
//! let header = GetMaxOffsetRequestHeader { topic: "T".into(), queue_id: 0, ..Default::default() };
//! let request = RemotingCommand::request(RequestCode::GET_MAX_OFFSET, &header).with_opaque(1);
//! let mut wire = BytesMut::new();
//! encode_frame(&request, &mut wire)?;
//! let received = decode_frame(&mut wire)?.ok_or("incomplete")?;
//! let parsed: GetMaxOffsetRequestHeader = received.decode_header()?;
//! assert_eq!(parsed, header);
//! let response = RemotingCommand::response_to(&received, ResponseCode::SUCCESS);
//! assert!(response.is_response() && response.opaque == 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
