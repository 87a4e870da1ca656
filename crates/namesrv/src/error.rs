//! The crate's error type: what can stop a name server from starting or running. Bad requests
//! never become one of these; they are answered with an error response and a remark.

use std::net::SocketAddr;

use remoting::{ConfigError, RemotingError};

/// Why the name server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NamesrvError {
    /// The configuration file is malformed or holds a bad value (names the file and line).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A configuration value is out of range.
    #[error("invalid value {value:?} for `{key}`: {reason}")]
    InvalidConfig { key: &'static str, value: String, reason: &'static str },
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: RemotingError,
    },
    /// The transport failed while serving.
    #[error("transport failure: {0}")]
    Remoting(#[from] RemotingError),
}
