//! What a push consumer's listener returns and is given (RocketMQ `MessageListenerConcurrently`,
//! `ConsumeConcurrentlyStatus`, `ConsumeConcurrentlyContext`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::message::{MessageExt, MessageQueue};

/// The listener's verdict on a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsumeConcurrentlyStatus {
    /// Consumed; the offset moves past the batch.
    ConsumeSuccess,
    /// Not consumed: the batch goes to the group's retry queue and comes back later.
    ReconsumeLater,
}

/// What the listener is told about a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumeConcurrentlyContext {
    /// The queue the batch came from.
    pub message_queue: MessageQueue,
    /// The delay level a retry is sent back with: 0 lets the broker choose (`3 +
    /// reconsumeTimes`), negative sends the messages straight to the DLQ.
    pub delay_level_when_next_consume: i32,
}

type SyncListener =
    dyn Fn(&[MessageExt], &ConsumeConcurrentlyContext) -> ConsumeConcurrentlyStatus + Send + Sync;
type AsyncListener = dyn Fn(
        Vec<MessageExt>,
        ConsumeConcurrentlyContext,
    ) -> Pin<Box<dyn Future<Output = ConsumeConcurrentlyStatus> + Send>>
    + Send
    + Sync;

/// A registered listener, plain or async.
#[derive(Clone)]
pub(crate) enum MessageListener {
    Sync(Arc<SyncListener>),
    Async(Arc<AsyncListener>),
}

impl MessageListener {
    pub fn sync<F>(f: F) -> Self
    where
        F: Fn(&[MessageExt], &ConsumeConcurrentlyContext) -> ConsumeConcurrentlyStatus
            + Send
            + Sync
            + 'static,
    {
        Self::Sync(Arc::new(f))
    }

    pub fn asynchronous<F, Fut>(f: F) -> Self
    where
        F: Fn(Vec<MessageExt>, ConsumeConcurrentlyContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ConsumeConcurrentlyStatus> + Send + 'static,
    {
        Self::Async(Arc::new(move |msgs, ctx| Box::pin(f(msgs, ctx))))
    }

    /// Runs the listener on one batch.
    pub async fn consume(
        &self,
        msgs: Vec<MessageExt>,
        ctx: ConsumeConcurrentlyContext,
    ) -> ConsumeConcurrentlyStatus {
        match self {
            Self::Sync(f) => f(&msgs, &ctx),
            Self::Async(f) => f(msgs, ctx).await,
        }
    }
}
