#![cfg(test)]
//! Real channels for unit tests of the registries: a loopback server and one client
//! connection per channel asked for.

use std::net::SocketAddr;

use remoting::{Channel, ClientConfig, RemotingClient, RemotingServer, ServerConfig, ServerHandle};

/// A loopback server whose connections stand in for clients.
pub struct Loopback {
    /// Held only to keep the server running: dropping the handle stops it.
    _server: ServerHandle,
    addr: String,
}

impl Loopback {
    pub async fn start() -> Self {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let server = RemotingServer::bind(addr, ServerConfig::default()).await.unwrap();
        let addr = server.local_addr().to_string();
        Self { _server: server.spawn(), addr }
    }

    /// A new connection (each call is a distinct channel).
    pub async fn channel(&self) -> Channel {
        RemotingClient::new(ClientConfig::default()).channel(&self.addr).await.unwrap()
    }
}
