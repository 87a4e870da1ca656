//! The transport's error type.

use std::io;

use protocol::ProtocolError;

/// Why a transport operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemotingError {
    /// The connection to `addr` could not be established (refused, unreachable, timed out).
    #[error("connect to {addr} failed: {source}")]
    Connect {
        addr: String,
        #[source]
        source: io::Error,
    },
    /// No response arrived within the request's timeout.
    #[error("request to {addr} timed out after {millis} ms")]
    Timeout { addr: String, millis: u64 },
    /// The connection closed before the operation could complete.
    #[error("connection closed")]
    ConnectionClosed,
    /// Too many requests are waiting for responses (the pending-response map is full).
    #[error("too many requests in flight")]
    Busy,
    /// The connection's outbound frame queue is full.
    #[error("send queue full")]
    SendQueueFull,
    /// A frame could not be encoded or decoded.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// Socket I/O failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}
