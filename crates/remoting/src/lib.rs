//! The remoting transport shared by the name server, the broker and the client.
//!
//! - [`Channel`]: one TCP connection (either side), with a reader task that decodes frames and a
//!   writer task that batches them; requests and responses are matched by opaque.
//! - [`RemotingServer`]: accepts connections and dispatches each request to the
//!   [`RequestProcessor`] registered for its code, every request in its own task.
//! - [`RemotingClient`]: one cached connection per address, request/response with timeouts.
//! - [`properties`]: the daemons' Java-style `.properties` config files. It lives here because
//!   both daemons depend on this crate and nothing else they share reads configuration.
//!
//! Sockets, tasks and timers are reached only through `tokio` (madsim-tokio), so the same code
//! runs on real tokio and inside the simulator. Every queue and map has a named bound
//! ([`ServerConfig`], [`ClientConfig`]) and a defined behaviour when full.

mod channel;
mod client;
mod config;
mod connection;
mod dispatch;
mod error;
mod pending;
mod processor;
pub mod properties;
mod server;

pub use channel::Channel;
pub use client::RemotingClient;
pub use config::{ClientConfig, ConnectionConfig, ServerConfig};
pub use error::RemotingError;
pub use processor::{
    processor_fn, ChannelEventListener, ProcessFuture, ProcessorTable, RequestProcessor,
};
pub use properties::{ConfigError, Properties};
pub use server::{RemotingServer, ServerHandle};

/// Shorthand for this crate's results.
pub type Result<T, E = RemotingError> = std::result::Result<T, E>;
