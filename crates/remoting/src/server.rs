//! [`RemotingServer`]: accepts connections and serves them with a [`ProcessorTable`].

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use crate::channel::Channel;
use crate::config::ServerConfig;
use crate::connection::{self, ConnectionContext};
use crate::error::RemotingError;
use crate::processor::{ChannelEventListener, ProcessorTable, RequestProcessor};

/// Pause after a failed accept (for instance out of file descriptors) before trying again, so
/// the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A listening socket and the processors that serve its connections.
///
/// The broker serves listenPort and the VIP port (listenPort - 2) with one table:
/// `let vip = RemotingServer::bind_with_table(vip_addr, config, main.processors()).await?`.
pub struct RemotingServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    config: ServerConfig,
    table: Arc<ProcessorTable>,
}

/// The open connections of one server, so that shutdown can close them.
type Connections = Arc<Mutex<HashMap<u64, Channel>>>;

impl RemotingServer {
    /// Binds `addr` (port 0 picks a free port) with an empty processor table.
    pub async fn bind(addr: SocketAddr, config: ServerConfig) -> Result<Self, RemotingError> {
        Self::bind_with_table(addr, config, Arc::new(ProcessorTable::new())).await
    }

    /// Binds `addr`, serving with `table` (which other servers may share).
    pub async fn bind_with_table(
        addr: SocketAddr,
        config: ServerConfig,
        table: Arc<ProcessorTable>,
    ) -> Result<Self, RemotingError> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        info!(%local_addr, "remoting server listening");
        Ok(Self { listener, local_addr, config, table })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The processor table, to share with another server.
    pub fn processors(&self) -> Arc<ProcessorTable> {
        self.table.clone()
    }

    /// Sets the processor for `code`.
    pub fn register(&self, code: i32, processor: Arc<dyn RequestProcessor>) {
        self.table.register(code, processor);
    }

    /// Sets the processor for codes that have none of their own. Without one, such codes are
    /// answered REQUEST_CODE_NOT_SUPPORTED.
    pub fn register_default(&self, processor: Arc<dyn RequestProcessor>) {
        self.table.register_default(processor);
    }

    /// Sets the listener told about connections opening and closing.
    pub fn set_channel_listener(&self, listener: Arc<dyn ChannelEventListener>) {
        self.table.set_channel_listener(listener);
    }

    /// Accepts and serves connections until `shutdown` resolves, then closes every connection
    /// and the listening socket.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), RemotingError> {
        let ctx = Arc::new(ConnectionContext::new(
            self.table.clone(),
            self.config.connection.clone(),
            self.config.response_serialization,
        ));
        let connections: Connections = Arc::default();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => self.admit(stream, peer, &ctx, &connections),
                    Err(e) => {
                        warn!(local = %self.local_addr, error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                },
            }
        }
        info!(local = %self.local_addr, "remoting server shutting down");
        let open: Vec<Channel> = lock(&connections).drain().map(|(_, channel)| channel).collect();
        for channel in open {
            channel.close();
        }
        Ok(())
    }

    /// Serves in a background task until the handle's [`ServerHandle::shutdown`].
    pub fn spawn(self) -> ServerHandle {
        let local_addr = self.local_addr;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(self.serve(async move {
            // A dropped handle's sender also ends the wait; see `ServerHandle`.
            let _ = rx.await;
        }));
        ServerHandle { local_addr, stop: Some(tx), task: Some(task) }
    }

    fn admit(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        ctx: &Arc<ConnectionContext>,
        connections: &Connections,
    ) {
        if lock(connections).len() >= self.config.max_connections {
            warn!(%peer, limit = self.config.max_connections, "connection limit reached, refusing");
            return; // dropping the stream closes it
        }
        let channel = match connection::start(stream, ctx.clone()) {
            Ok(channel) => channel,
            Err(e) => {
                debug!(%peer, error = %e, "connection lost before it started");
                return;
            }
        };
        let id = channel.id();
        lock(connections).insert(id, channel.clone());
        let connections = connections.clone();
        tokio::spawn(async move {
            channel.closed().await;
            lock(&connections).remove(&id);
        });
    }
}

// Each critical section is one map operation; a poisoned lock is used as is.
fn lock(connections: &Connections) -> std::sync::MutexGuard<'_, HashMap<u64, Channel>> {
    connections.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A server running in the background. Dropping the handle shuts the server down too (its
/// stop signal goes away), without waiting for it.
pub struct ServerHandle {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), RemotingError>>>,
}

impl ServerHandle {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, closes every connection and the listening socket, and waits until done.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            if let Err(e) = task.await {
                warn!(local = %self.local_addr, error = %e, "server task ended abnormally");
            }
        }
    }
}
