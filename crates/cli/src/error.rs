//! The tools' one error type: every failure ends as a message on stderr and exit code 1.

use client::MQClientError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The client (name server, broker or transport) failed.
    #[error(transparent)]
    Client(#[from] MQClientError),
    /// A response or message could not be decoded.
    #[error(transparent)]
    Protocol(#[from] protocol::ProtocolError),
    /// The options given cannot work together, or a value is unusable.
    #[error("{0}")]
    Usage(String),
    /// A broker answered with an error code.
    #[error("{addr} answered {code}: {remark}")]
    Broker { addr: String, code: i32, remark: String },
}

impl CliError {
    /// A usage error.
    pub fn usage(msg: impl Into<String>) -> Self {
        Self::Usage(msg.into())
    }
}

/// Shorthand for the tools' results.
pub type Result<T, E = CliError> = std::result::Result<T, E>;
