//! The client's one error type.

use protocol::{ProtocolError, ResponseCode};
use remoting::RemotingError;

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MQClientError {
    /// A broker or name server answered with a response code the operation cannot accept.
    #[error("{addr} answered {code} ({}): {remark}", ResponseCode::name(*code).unwrap_or("?"))]
    Broker { code: i32, remark: String, addr: String },
    /// The transport failed (connect, timeout, closed connection, ...).
    #[error(transparent)]
    Remoting(#[from] RemotingError),
    /// A response could not be decoded.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// No name server address: neither `ClientConfig::namesrv_addr` nor `NAMESRV_ADDR`.
    #[error("no name server address; set ClientConfig::namesrv_addr or NAMESRV_ADDR")]
    NoNameServer,
    /// The name servers know no route for the topic (and no usable TBW102 fallback).
    #[error("no route info of topic {0}")]
    NoRoute(String),
    /// No address is known for a broker name.
    #[error("broker {0} is not in the route table")]
    BrokerNotFound(String),
    /// The caller passed something unusable (empty topic, oversized body, mixed batch, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The producer or consumer is not running (not started yet, or shut down).
    #[error("{0}")]
    State(&'static str),
    /// Every attempt of a send failed; `last` is the last attempt's error.
    #[error("send to {topic} failed after {attempts} attempts: {last}")]
    RetriesExhausted { topic: String, attempts: u32, last: Box<MQClientError> },
    /// The operation's own deadline passed.
    #[error("timed out: {0}")]
    Timeout(String),
}

impl MQClientError {
    /// The response code behind this error: the broker's, or RocketMQ's client-side codes for
    /// transport failures (RPC_TIME_OUT, RPC_SEND_TO_CHANNEL_FAILED).
    pub fn response_code(&self) -> Option<i32> {
        match self {
            Self::Broker { code, .. } => Some(*code),
            Self::Remoting(RemotingError::Timeout { .. }) => Some(ResponseCode::RPC_TIME_OUT),
            Self::Remoting(_) => Some(ResponseCode::RPC_SEND_TO_CHANNEL_FAILED),
            Self::RetriesExhausted { last, .. } => last.response_code(),
            _ => None,
        }
    }

    /// Whether the failure was in the transport rather than an answer.
    pub fn is_transport(&self) -> bool {
        match self {
            Self::Remoting(_) => true,
            Self::RetriesExhausted { last, .. } => last.is_transport(),
            _ => false,
        }
    }

    pub(crate) fn broker(addr: &str, response: &protocol::RemotingCommand) -> Self {
        Self::Broker {
            code: response.code,
            remark: response.remark.clone().unwrap_or_default(),
            addr: addr.to_owned(),
        }
    }
}

/// Shorthand for the client's results.
pub type Result<T, E = MQClientError> = std::result::Result<T, E>;
