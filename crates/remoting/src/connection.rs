//! A connection's two tasks: the reader decodes frames and routes them (responses to their
//! waiters, requests to the dispatcher), the writer batches queued frames onto the socket.

use std::io;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use protocol::{decode_frame_with_limit, ResponseSerialization};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::channel::{Channel, Frame, Shared};
use crate::config::ConnectionConfig;
use crate::dispatch::dispatch_request;
use crate::pending::PendingMap;
use crate::processor::ProcessorTable;

/// Room kept free in the read buffer before each read.
const READ_CHUNK: usize = 64 * 1024;
/// The writer sends its batch buffer once it holds this much, even if more frames are queued.
const WRITE_BATCH_BYTES: usize = 256 * 1024;

/// The source of channel ids, unique within the process (a simulated node under simulation).
#[derive(Default)]
struct NextChannelId(AtomicU64);

/// What the connections of one server or one client share.
pub(crate) struct ConnectionContext {
    pub(crate) table: Arc<ProcessorTable>,
    pub(crate) config: ConnectionConfig,
    pub(crate) response_serialization: ResponseSerialization,
    /// Opaques for requests this side sends; one counter per server or client.
    pub(crate) opaque: AtomicI32,
}

impl ConnectionContext {
    pub(crate) fn new(
        table: Arc<ProcessorTable>,
        config: ConnectionConfig,
        response_serialization: ResponseSerialization,
    ) -> Self {
        Self { table, config, response_serialization, opaque: AtomicI32::new(0) }
    }
}

/// Starts the reader and writer tasks of an established connection and returns its channel.
/// The listener's `on_connect` runs before any of the connection's requests is processed.
pub(crate) fn start(stream: TcpStream, ctx: Arc<ConnectionContext>) -> io::Result<Channel> {
    let local_addr = stream.local_addr()?;
    let remote_addr = stream.peer_addr()?;
    // Frames are small and latency matters more than packet count; the writer batches anyway.
    if let Err(e) = stream.set_nodelay(true) {
        debug!(%remote_addr, error = %e, "could not set TCP_NODELAY");
    }
    let (tx, rx) = mpsc::channel(ctx.config.send_queue_frames.max(1));
    let channel = Channel {
        shared: Arc::new(Shared {
            id: rt::process_local::get::<NextChannelId>().0.fetch_add(1, Ordering::Relaxed) + 1,
            local_addr,
            remote_addr,
            outbound: tx,
            closed: rt::sync::Latch::new(),
            pending: PendingMap::new(ctx.config.max_pending_responses),
            in_flight: AtomicUsize::new(0),
            ctx: ctx.clone(),
            last_active_ms: AtomicU64::new(0),
            born: rt::clock::now(),
        }),
    };
    debug!(id = channel.id(), %local_addr, %remote_addr, "connection established");
    if let Some(listener) = ctx.table.listener() {
        listener.on_connect(&channel);
    }
    let (reader, writer) = tokio::io::split(stream);
    tokio::spawn(write_loop(channel.clone(), writer, rx));
    tokio::spawn(read_loop(channel.clone(), reader));
    Ok(channel)
}

/// Reads frames until the connection ends, then closes the channel and tells the listener.
async fn read_loop(channel: Channel, mut reader: ReadHalf<TcpStream>) {
    let reason = read_frames(&channel, &mut reader).await;
    match &reason {
        End::Closed => debug!(id = channel.id(), remote = %channel.remote_addr(), "closed"),
        End::Eof => debug!(id = channel.id(), remote = %channel.remote_addr(), "peer closed"),
        End::Idle => info!(id = channel.id(), remote = %channel.remote_addr(), "closing idle"),
        End::Io(e) => {
            info!(id = channel.id(), remote = %channel.remote_addr(), error = %e, "read failed")
        }
        End::Protocol(e) => warn!(
            id = channel.id(),
            remote = %channel.remote_addr(),
            error = %e,
            "closing connection: bad frame"
        ),
    }
    channel.close();
    if let Some(listener) = channel.shared.ctx.table.listener() {
        listener.on_close(&channel);
    }
}

enum End {
    Closed,
    Eof,
    Idle,
    Io(io::Error),
    Protocol(protocol::ProtocolError),
}

async fn read_frames(channel: &Channel, reader: &mut ReadHalf<TcpStream>) -> End {
    let config = &channel.shared.ctx.config;
    let closed = &channel.shared.closed;
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    loop {
        // Decode everything complete first; the decoder checks each declared length against the
        // cap before reserving room for it, so the buffer stays bounded by one frame + a chunk.
        loop {
            match decode_frame_with_limit(&mut buf, config.max_frame_len) {
                Ok(Some(cmd)) => {
                    channel.touch();
                    route(channel, cmd);
                }
                Ok(None) => break,
                Err(e) => return End::Protocol(e),
            }
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        let idle_deadline = config.max_idle.map(|idle| channel.last_active() + idle);
        tokio::select! {
            biased;
            _ = closed.wait() => return End::Closed,
            read = reader.read_buf(&mut buf) => match read {
                Ok(0) => return End::Eof,
                Ok(_) => {}
                Err(e) => return End::Io(e),
            },
            _ = sleep_until(idle_deadline) => {
                // The writer may have been busy meanwhile; only a real silence counts.
                if let Some(idle) = config.max_idle {
                    if rt::clock::now().saturating_duration_since(channel.last_active()) >= idle {
                        return End::Idle;
                    }
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn route(channel: &Channel, cmd: protocol::RemotingCommand) {
    if cmd.is_response() {
        if let Err(unknown) = channel.shared.pending.complete(cmd) {
            // Timed out or cancelled earlier; Java logs and drops these too.
            debug!(
                id = channel.id(),
                opaque = unknown.opaque,
                code = unknown.code,
                "response for unknown opaque ignored"
            );
        }
    } else {
        dispatch_request(channel, cmd);
    }
}

/// Writes queued frames: everything queued goes out before one flush, so a burst of responses
/// costs one flush (and, under madsim, one simulated send).
async fn write_loop(
    channel: Channel,
    mut writer: WriteHalf<TcpStream>,
    mut rx: mpsc::Receiver<Frame>,
) {
    let closed = &channel.shared.closed;
    let coalesce_limit = channel.shared.ctx.config.write_coalesce_limit;
    let mut batch = BytesMut::with_capacity(READ_CHUNK);
    loop {
        let first = tokio::select! {
            biased;
            _ = closed.wait() => None,
            frame = rx.recv() => frame,
        };
        let Some(first) = first else { break };
        let write = write_batch(first, &mut rx, &mut writer, &mut batch, coalesce_limit);
        let result = tokio::select! {
            biased;
            // A peer that stops reading must not keep this task (and the socket) alive.
            _ = closed.wait() => break,
            r = write => r,
        };
        if let Err(e) = result {
            info!(id = channel.id(), remote = %channel.remote_addr(), error = %e, "write failed");
            break;
        }
        channel.touch();
    }
    channel.close();
}

async fn write_batch(
    first: Frame,
    rx: &mut mpsc::Receiver<Frame>,
    writer: &mut WriteHalf<TcpStream>,
    batch: &mut BytesMut,
    coalesce_limit: usize,
) -> io::Result<()> {
    batch.clear();
    let mut next = Some(first);
    while let Some(frame) = next {
        batch.extend_from_slice(&frame.head);
        if let Some(body) = frame.body {
            if body.len() <= coalesce_limit {
                batch.extend_from_slice(&body);
            } else {
                // Large bodies (pulled records) go out from their own buffer, not copied.
                writer.write_all(batch).await?;
                batch.clear();
                writer.write_all(&body).await?;
            }
        }
        if batch.len() >= WRITE_BATCH_BYTES {
            writer.write_all(batch).await?;
            batch.clear();
        }
        next = rx.try_recv().ok();
    }
    if !batch.is_empty() {
        writer.write_all(batch).await?;
        batch.clear();
    }
    writer.flush().await
}
