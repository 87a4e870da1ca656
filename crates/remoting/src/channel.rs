//! [`Channel`]: the handle to one connection, shared by everything that sends on it.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use protocol::command::{RPC_ONEWAY, RPC_TYPE_RESPONSE};
use protocol::{encode_frame_parts, RemotingCommand};
use tokio::sync::mpsc;

use crate::connection::ConnectionContext;
use crate::error::RemotingError;
use crate::pending::PendingMap;

/// One encoded frame waiting for the writer task: the prefix and header, then the body as the
/// caller's own `Bytes` (stored records are never copied on their way to the socket).
pub(crate) struct Frame {
    pub(crate) head: Bytes,
    pub(crate) body: Option<Bytes>,
}

/// One TCP connection, on either side. Cheap to clone; every clone is the same connection.
#[derive(Clone)]
pub struct Channel {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) id: u64,
    pub(crate) local_addr: SocketAddr,
    pub(crate) remote_addr: SocketAddr,
    pub(crate) outbound: mpsc::Sender<Frame>,
    /// Set once the connection is closed; the reader and writer tasks wait on it.
    pub(crate) closed: rt::sync::Latch,
    pub(crate) pending: PendingMap,
    /// Requests from the peer currently being processed.
    pub(crate) in_flight: AtomicUsize,
    pub(crate) ctx: Arc<ConnectionContext>,
    /// Milliseconds since `born` when a frame last went in or out, for idle closing.
    pub(crate) last_active_ms: AtomicU64,
    pub(crate) born: tokio::time::Instant,
}

impl Channel {
    /// A process-unique id for this connection.
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.shared.remote_addr
    }

    /// This side's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Queues `cmd` as is (its opaque and flag untouched): deferred responses such as a long
    /// polling pull, or a server-to-client one-way request. Fails if the connection is closed
    /// or its send queue is full; never waits.
    pub fn send(&self, cmd: RemotingCommand) -> Result<(), RemotingError> {
        let (head, body) = encode_frame_parts(&cmd)?;
        self.enqueue(Frame { head, body })
    }

    /// Sends `cmd` as a request and waits up to `timeout` for its response. The opaque is
    /// assigned here and the response and one-way flag bits are cleared. Fails at once with
    /// `ConnectionClosed` if the connection ends meanwhile, with `Busy` if the connection's
    /// pending-response map is full, and with `Timeout` (forgetting the request, so a late
    /// response is dropped) when no response came in time.
    pub async fn invoke(
        &self,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        cmd.opaque = self.next_opaque();
        cmd.flag &= !(RPC_TYPE_RESPONSE | RPC_ONEWAY);
        let rx = self.shared.pending.register(cmd.opaque)?;
        // Removes the waiter if this future is dropped or times out; a no-op once answered.
        let _waiter = WaiterGuard { channel: self, opaque: cmd.opaque };
        self.send(cmd)?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => Err(RemotingError::ConnectionClosed),
            Err(_) => Err(RemotingError::Timeout {
                addr: self.remote_addr().to_string(),
                millis: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }

    /// Sends `cmd` as a one-way request (no response will come). The opaque is assigned here.
    pub fn invoke_oneway(&self, mut cmd: RemotingCommand) -> Result<(), RemotingError> {
        cmd.opaque = self.next_opaque();
        cmd.flag &= !RPC_TYPE_RESPONSE;
        cmd.mark_oneway();
        self.send(cmd)
    }

    /// Closes the connection: the reader and writer tasks stop, frames still queued are
    /// dropped, and every request waiting for a response fails with `ConnectionClosed`.
    pub fn close(&self) {
        let was_closed = self.shared.closed.set();
        if !was_closed {
            self.shared.pending.close();
        }
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.is_set()
    }

    /// Resolves when the connection has ended.
    pub fn closed(&self) -> impl Future<Output = ()> + Send + 'static {
        let shared = self.shared.clone();
        async move { shared.closed.wait().await }
    }

    fn next_opaque(&self) -> i32 {
        // Wraps around after 2^32 requests, as Java's AtomicInteger does.
        self.shared.ctx.opaque.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn enqueue(&self, frame: Frame) -> Result<(), RemotingError> {
        if self.is_closed() {
            return Err(RemotingError::ConnectionClosed);
        }
        self.shared.outbound.try_send(frame).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => RemotingError::SendQueueFull,
            mpsc::error::TrySendError::Closed(_) => RemotingError::ConnectionClosed,
        })
    }

    /// Queues `cmd` as is, waiting for room in the send queue rather than failing when it is
    /// full. Used for responses computed by processors: the wait keeps the request's in-flight
    /// slot taken, so a peer that does not read its responses soon gets SYSTEM_BUSY instead of
    /// having computed responses thrown away.
    pub(crate) async fn send_waiting(&self, cmd: RemotingCommand) -> Result<(), RemotingError> {
        let (head, body) = encode_frame_parts(&cmd)?;
        tokio::select! {
            biased;
            _ = self.shared.closed.wait() => Err(RemotingError::ConnectionClosed),
            sent = self.shared.outbound.send(Frame { head, body }) => {
                sent.map_err(|_| RemotingError::ConnectionClosed)
            }
        }
    }

    /// Records traffic now, for idle detection.
    pub(crate) fn touch(&self) {
        let ms = rt::clock::now().saturating_duration_since(self.shared.born).as_millis();
        self.shared.last_active_ms.store(u64::try_from(ms).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// When traffic was last seen.
    pub(crate) fn last_active(&self) -> tokio::time::Instant {
        let ms = self.shared.last_active_ms.load(Ordering::Relaxed);
        self.shared.born + Duration::from_millis(ms)
    }
}

struct WaiterGuard<'a> {
    channel: &'a Channel,
    opaque: i32,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        self.channel.shared.pending.remove(self.opaque);
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.shared.id)
            .field("local", &self.shared.local_addr)
            .field("remote", &self.shared.remote_addr)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl PartialEq for Channel {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Eq for Channel {}
