//! [`RemotingClient`]: request/response to servers by address, over one cached connection per
//! address.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use protocol::{RemotingCommand, ResponseSerialization};
use tokio::net::TcpStream;
use tracing::debug;

use crate::channel::Channel;
use crate::config::ClientConfig;
use crate::connection::{self, ConnectionContext};
use crate::error::RemotingError;
use crate::processor::{ProcessorTable, RequestProcessor};

/// A client of any number of servers. Cheap to clone; clones share connections, the opaque
/// counter and the request processor.
#[derive(Clone)]
pub struct RemotingClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    ctx: Arc<ConnectionContext>,
    /// One slot per address. The async lock lets one caller connect while the others wait for
    /// its result instead of opening connections of their own.
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Channel>>>>>,
}

impl RemotingClient {
    /// A client with no connections yet.
    pub fn new(config: ClientConfig) -> Self {
        let table = Arc::new(ProcessorTable::new());
        let ctx = Arc::new(ConnectionContext::new(
            table,
            config.connection.clone(),
            ResponseSerialization::Json,
        ));
        Self { inner: Arc::new(Inner { config, ctx, slots: Mutex::default() }) }
    }

    /// Handles requests the servers send on this client's connections
    /// (NOTIFY_CONSUMER_IDS_CHANGED, CHECK_TRANSACTION_STATE). Without one they are answered
    /// REQUEST_CODE_NOT_SUPPORTED (one-way ones are dropped).
    pub fn set_request_processor(&self, processor: Arc<dyn RequestProcessor>) {
        self.inner.ctx.table.register_default(processor);
    }

    /// Sends `request` to `addr` ("host:port") and waits up to `timeout` for the response,
    /// connecting first if needed (the connection time counts against `timeout`).
    pub async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let started = rt::clock::now();
        let channel = self.connect_within(addr, timeout).await?;
        let left = timeout.saturating_sub(rt::clock::now().saturating_duration_since(started));
        if left.is_zero() {
            return Err(timeout_error(addr, timeout));
        }
        channel.invoke(request, left).await.map_err(|e| match e {
            // Name the address as the caller spelled it.
            RemotingError::Timeout { .. } => timeout_error(addr, timeout),
            other => other,
        })
    }

    /// Sends `request` to `addr` as a one-way request, connecting first if needed.
    pub async fn invoke_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<(), RemotingError> {
        self.channel(addr).await?.invoke_oneway(request)
    }

    /// The connection to `addr`: the cached one if it is still open, else a new one (within
    /// the configured connect timeout).
    pub async fn channel(&self, addr: &str) -> Result<Channel, RemotingError> {
        self.connect_within(addr, self.inner.config.connect_timeout).await
    }

    /// Closes and forgets the connection to `addr`, if any.
    pub fn close_channel(&self, addr: &str) {
        let slot = self.slots().remove(addr);
        if let Some(slot) = slot {
            // A connect in progress holds the lock; its result is simply not cached here then.
            if let Ok(guard) = slot.try_lock() {
                if let Some(channel) = guard.as_ref() {
                    channel.close();
                }
            }
        }
    }

    /// Closes every connection.
    pub fn close_all(&self) {
        let addrs: Vec<String> = self.slots().keys().cloned().collect();
        for addr in addrs {
            self.close_channel(&addr);
        }
    }

    async fn connect_within(&self, addr: &str, limit: Duration) -> Result<Channel, RemotingError> {
        let slot = self.slots().entry(addr.to_string()).or_default().clone();
        let mut cached = slot.lock().await;
        if let Some(channel) = cached.as_ref() {
            if !channel.is_closed() {
                return Ok(channel.clone());
            }
        }
        let limit = limit.min(self.inner.config.connect_timeout);
        let stream = match tokio::time::timeout(limit, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(source)) => {
                return Err(RemotingError::Connect { addr: addr.to_string(), source })
            }
            Err(_) => {
                let source = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no connection within {} ms", limit.as_millis()),
                );
                return Err(RemotingError::Connect { addr: addr.to_string(), source });
            }
        };
        let channel = connection::start(stream, self.inner.ctx.clone())
            .map_err(|source| RemotingError::Connect { addr: addr.to_string(), source })?;
        debug!(addr, id = channel.id(), "connected");
        *cached = Some(channel.clone());
        Ok(channel)
    }

    // Each critical section is one map operation; a poisoned lock is used as is.
    fn slots(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<Option<Channel>>>>> {
        self.inner.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn timeout_error(addr: &str, timeout: Duration) -> RemotingError {
    RemotingError::Timeout {
        addr: addr.to_string(),
        millis: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
    }
}
