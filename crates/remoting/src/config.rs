//! Limits and timeouts of the transport. Every bound here is named so that "what happens when
//! it is full" can be stated next to it.

use std::time::Duration;

use protocol::ResponseSerialization;

/// Per-connection limits, shared by both sides.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Frames waiting for the writer task. Full: `send`/`invoke` fail with
    /// [`SendQueueFull`](crate::RemotingError::SendQueueFull) rather than buffering without end.
    pub send_queue_frames: usize,
    /// Requests from the peer being processed at once. Beyond it a request is answered
    /// SYSTEM_BUSY (`[OVERLOAD]...`) at once, and a one-way request is dropped with a warning.
    pub max_in_flight_requests: usize,
    /// Requests sent on this connection waiting for their responses. Full:
    /// `invoke` fails with [`Busy`](crate::RemotingError::Busy).
    pub max_pending_responses: usize,
    /// Largest frame accepted from the peer, length prefix included. A larger declared length
    /// closes the connection before anything is allocated.
    pub max_frame_len: usize,
    /// Close the connection after this long without a frame in either direction
    /// (RocketMQ's `channelMaxIdleTimeSeconds`, 120 s). `None`: never.
    pub max_idle: Option<Duration>,
    /// Frames smaller than this are copied into the writer's batch buffer; larger bodies (pulled
    /// records) are written from their own `Bytes` without copying.
    pub write_coalesce_limit: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            send_queue_frames: 4096,
            max_in_flight_requests: 1024,
            max_pending_responses: 65536,
            max_frame_len: protocol::MAX_FRAME_LEN,
            max_idle: Some(Duration::from_secs(120)),
            write_coalesce_limit: 16 * 1024,
        }
    }
}

/// How a [`RemotingServer`](crate::RemotingServer) behaves.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Limits of each accepted connection.
    pub connection: ConnectionConfig,
    /// Connections open at once. Beyond it a new connection is closed right after accept.
    pub max_connections: usize,
    /// How processor responses are serialized: JSON by default, like a stock Java server (the
    /// C++ client cannot read ROCKETMQ-typed responses).
    pub response_serialization: ResponseSerialization,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            connection: ConnectionConfig::default(),
            max_connections: 65536,
            response_serialization: ResponseSerialization::Json,
        }
    }
}

/// How a [`RemotingClient`](crate::RemotingClient) behaves.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Limits of each connection the client opens.
    pub connection: ConnectionConfig,
    /// How long establishing a connection may take (RocketMQ's `connectTimeoutMillis`, 3 s).
    pub connect_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self { connection: ConnectionConfig::default(), connect_timeout: Duration::from_secs(3) }
    }
}
