//! The broker's error type. Request-level problems never become one of these: they are answered
//! with a RocketMQ response code and remark. These are the failures of the broker itself: its
//! config, its files, its store and its sockets.

use std::io;
use std::path::PathBuf;

/// Why the broker could not start, persist or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The configuration is invalid (a bad value, an impossible combination).
    #[error("invalid broker configuration: {0}")]
    Config(String),
    /// A config file could not be read or parsed.
    #[error(transparent)]
    ConfigFile(#[from] remoting::ConfigError),
    /// A persisted config file could not be read or written.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A persisted config file holds JSON the broker cannot read.
    #[error("corrupt config file {path}: {reason}")]
    CorruptFile { path: PathBuf, reason: String },
    /// The message store failed.
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    /// The transport failed (binding a port, talking to a name server).
    #[error("remoting: {0}")]
    Remoting(#[from] remoting::RemotingError),
    /// A body could not be encoded or decoded.
    #[error("protocol: {0}")]
    Protocol(#[from] protocol::ProtocolError),
}

/// Shorthand for the broker's results.
pub type Result<T, E = BrokerError> = std::result::Result<T, E>;
