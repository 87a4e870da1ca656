//! Request processors: what a server (or a client, for server-initiated requests) runs for each
//! incoming request, looked up by request code.

use std::collections::HashMap;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};

use protocol::RemotingCommand;

use crate::channel::Channel;

/// What a processor returns: `Some(response)` to answer now, `None` to send nothing now (a
/// one-way request, or a response the processor sends later through [`Channel::send`]).
pub type ProcessFuture = Pin<Box<dyn Future<Output = Option<RemotingCommand>> + Send>>;

/// Handles the requests of one or more request codes.
///
/// Each request runs in its own task, so a processor may wait (a SYNC_FLUSH, a long poll)
/// without holding up other requests on the same connection. The transport sets the response's
/// opaque and response flag from the request, and never answers one-way requests.
pub trait RequestProcessor: Send + Sync + 'static {
    /// Processes `request`, which arrived on `channel`.
    fn process(&self, channel: &Channel, request: RemotingCommand) -> ProcessFuture;
}

/// A processor from a closure: `processor_fn(|channel, request| async move { ... })`.
pub fn processor_fn<F, Fut>(f: F) -> Arc<dyn RequestProcessor>
where
    F: Fn(Channel, RemotingCommand) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<RemotingCommand>> + Send + 'static,
{
    Arc::new(FnProcessor(f))
}

struct FnProcessor<F>(F);

impl<F, Fut> RequestProcessor for FnProcessor<F>
where
    F: Fn(Channel, RemotingCommand) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<RemotingCommand>> + Send + 'static,
{
    fn process(&self, channel: &Channel, request: RemotingCommand) -> ProcessFuture {
        Box::pin((self.0)(channel.clone(), request))
    }
}

/// Told when connections open and close (the broker's client manager, the name server's broker
/// expiry). Called from the connection's own task; keep it quick.
pub trait ChannelEventListener: Send + Sync + 'static {
    /// A connection was established, before any of its requests is processed.
    fn on_connect(&self, _channel: &Channel) {}
    /// A connection ended (closed by either side, an I/O or protocol error, or idleness).
    fn on_close(&self, _channel: &Channel) {}
}

/// Processors by request code, a fallback for the other codes, and the connection listener.
/// Shared through an `Arc`, so the broker's two ports (listenPort and the VIP port
/// listenPort - 2) serve the same table.
#[derive(Default)]
pub struct ProcessorTable {
    by_code: RwLock<HashMap<i32, Arc<dyn RequestProcessor>>>,
    fallback: RwLock<Option<Arc<dyn RequestProcessor>>>,
    listener: RwLock<Option<Arc<dyn ChannelEventListener>>>,
}

// Every critical section below is a single map or option access that cannot be left half done,
// so a poisoned lock (a panic elsewhere while holding it) is used as is.
impl ProcessorTable {
    /// An empty table: every code is answered REQUEST_CODE_NOT_SUPPORTED.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the processor for `code`, replacing any earlier one.
    pub fn register(&self, code: i32, processor: Arc<dyn RequestProcessor>) {
        let mut map = self.by_code.write().unwrap_or_else(PoisonError::into_inner);
        map.insert(code, processor);
    }

    /// Sets the processor for codes that have none of their own.
    pub fn register_default(&self, processor: Arc<dyn RequestProcessor>) {
        *self.fallback.write().unwrap_or_else(PoisonError::into_inner) = Some(processor);
    }

    /// Sets the connection listener.
    pub fn set_channel_listener(&self, listener: Arc<dyn ChannelEventListener>) {
        *self.listener.write().unwrap_or_else(PoisonError::into_inner) = Some(listener);
    }

    /// The processor for `code`: its own, else the default, else none.
    pub fn lookup(&self, code: i32) -> Option<Arc<dyn RequestProcessor>> {
        let own = self.by_code.read().unwrap_or_else(PoisonError::into_inner).get(&code).cloned();
        own.or_else(|| self.fallback.read().unwrap_or_else(PoisonError::into_inner).clone())
    }

    pub(crate) fn listener(&self) -> Option<Arc<dyn ChannelEventListener>> {
        self.listener.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// Runs `processor` on `request`, turning a panic (in `process` itself or while the returned
/// future is polled) into `Err(message)` so that it ends this request and nothing else.
pub(crate) async fn run_guarded(
    processor: &dyn RequestProcessor,
    channel: &Channel,
    request: RemotingCommand,
) -> Result<Option<RemotingCommand>, String> {
    let fut = catch_unwind(AssertUnwindSafe(|| processor.process(channel, request)))
        .map_err(panic_message)?;
    CatchUnwind(fut).await
}

/// Polls a boxed future, catching a panic. The future is not polled again after it panicked.
struct CatchUnwind(ProcessFuture);

impl Future for CatchUnwind {
    type Output = Result<Option<RemotingCommand>, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Err(payload) => Poll::Ready(Err(panic_message(payload))),
        }
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}
