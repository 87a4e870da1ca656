//! The producer: [`Producer`] and what its sends return.

mod outgoing;
mod producer_impl;
mod selector;
mod send_result;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub(crate) use outgoing::check_topic;
pub(crate) use producer_impl::ProducerImpl;
pub use producer_impl::{is_retryable, RETRY_RESPONSE_CODES};
pub use selector::{
    JavaHashCode, MessageQueueSelector, SelectMessageQueueByHash, SelectMessageQueueByRandom,
};
pub use send_result::{SendResult, SendStatus, DEFAULT_REGION};

use crate::client_config::ClientConfig;
use crate::error::{MQClientError, Result};
use crate::message::{Message, MessageQueue};
use crate::mq_client_instance::{MQClientInstance, AUTO_CREATE_TOPIC_KEY};

/// How a producer sends (RocketMQ `DefaultMQProducer`'s settings, same defaults).
#[derive(Debug, Clone)]
pub struct ProducerOptions {
    /// Time limit of a send, retries included (3 s).
    pub send_msg_timeout: Duration,
    /// Extra attempts of a sync send after a retryable failure (2).
    pub retry_times_when_send_failed: u32,
    /// Retry on another broker when the broker stored the message but answered a non-OK status
    /// (flush or slave timeout).
    pub retry_another_broker_when_not_store_ok: bool,
    /// Latency-fault avoidance: keep away from brokers that were slow or failed for a back-off
    /// period. Off by default, as in RocketMQ; retries still skip the broker that just failed.
    pub send_latency_fault_enable: bool,
    /// Bodies of at least this many bytes are zlib-compressed (4 KiB); batches never are.
    pub compress_msg_body_over_howmuch: usize,
    /// Largest body (or batch) accepted (4 MiB).
    pub max_message_size: usize,
    /// Queues per broker of a topic auto-created on first send (4).
    pub default_topic_queue_nums: i32,
    /// The topic auto-created topics copy their config from (TBW102).
    pub create_topic_key: String,
    /// Send single messages as SEND_MESSAGE (10, long header keys) like the Go client, rather
    /// than SEND_MESSAGE_V2 (310, short keys) like the Java client.
    pub send_message_v1: bool,
}

impl Default for ProducerOptions {
    fn default() -> Self {
        Self {
            send_msg_timeout: Duration::from_secs(3),
            retry_times_when_send_failed: 2,
            retry_another_broker_when_not_store_ok: false,
            send_latency_fault_enable: false,
            compress_msg_body_over_howmuch: 4 * 1024,
            max_message_size: 4 * 1024 * 1024,
            default_topic_queue_nums: 4,
            create_topic_key: AUTO_CREATE_TOPIC_KEY.to_owned(),
            send_message_v1: false,
        }
    }
}

/// A producer of one producer group. Cheap to clone; clones are the same producer.
///
/// ```no_run
/// # async fn demo() -> Result<(), client::MQClientError> {
/// use client::{ClientConfig, Message, Producer};
/// let producer = Producer::new("PG", ClientConfig::new("127.0.0.1:9876"));
/// producer.start().await?;
/// let result = producer.send(Message::new("TopicTest", "hello").with_tags("TagA")).await?;
/// println!("{} -> {:?}", result.msg_id, result.send_status);
/// producer.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Producer {
    shared: Arc<Shared>,
}

struct Shared {
    group: String,
    config: ClientConfig,
    options: ProducerOptions,
    running: Mutex<Option<Arc<ProducerImpl>>>,
}

impl Producer {
    /// A producer of `group` with default options; call [`start`](Self::start) before sending.
    pub fn new(group: impl Into<String>, config: ClientConfig) -> Self {
        Self::with_options(group, config, ProducerOptions::default())
    }

    /// A producer with the given options.
    pub fn with_options(
        group: impl Into<String>,
        config: ClientConfig,
        options: ProducerOptions,
    ) -> Self {
        let shared = Shared { group: group.into(), config, options, running: Mutex::new(None) };
        Self { shared: Arc::new(shared) }
    }

    /// The producer group.
    pub fn group(&self) -> &str {
        &self.shared.group
    }

    /// The options.
    pub fn options(&self) -> &ProducerOptions {
        &self.shared.options
    }

    /// Joins (or starts) the client instance of this config. Idempotent.
    pub async fn start(&self) -> Result<()> {
        if self.running().is_some() {
            return Ok(());
        }
        let instance = MQClientInstance::get_or_create(&self.shared.config).await?;
        let imp = Arc::new(ProducerImpl::new(
            self.shared.group.clone(),
            self.shared.options.clone(),
            instance.clone(),
        ));
        {
            let mut running = self.shared.running.lock().unwrap_or_else(PoisonError::into_inner);
            if running.is_some() {
                return Ok(());
            }
            *running = Some(imp);
        }
        instance.register_producer(&self.shared.group);
        instance.acquire();
        instance.send_heartbeat_to_all_brokers().await;
        Ok(())
    }

    /// Unregisters from the brokers and leaves the client instance. Idempotent.
    pub async fn shutdown(&self) {
        let imp = self.shared.running.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(imp) = imp {
            imp.instance.unregister_producer(&self.shared.group).await;
            imp.instance.release().await;
        }
    }

    fn running(&self) -> Option<Arc<ProducerImpl>> {
        self.shared.running.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn imp(&self) -> Result<Arc<ProducerImpl>> {
        self.running().ok_or(MQClientError::State("the producer is not running"))
    }

    /// The client id (`ip@instance`), once started.
    pub fn client_id(&self) -> Option<String> {
        self.running().map(|p| p.instance.client_id().to_owned())
    }

    /// Sends and waits for the broker's answer (RocketMQ's sync send), retrying on another
    /// broker on retryable failures.
    pub async fn send(&self, msg: Message) -> Result<SendResult> {
        self.send_with_timeout(msg, self.shared.options.send_msg_timeout).await
    }

    /// [`send`](Self::send) with its own time limit.
    pub async fn send_with_timeout(&self, msg: Message, timeout: Duration) -> Result<SendResult> {
        let imp = self.imp()?;
        let out = imp.prepare(msg)?;
        imp.send_default(out, timeout).await
    }

    /// Sends to one queue (no retry elsewhere).
    pub async fn send_to_queue(&self, msg: Message, mq: &MessageQueue) -> Result<SendResult> {
        let imp = self.imp()?;
        if msg.topic != mq.topic {
            return Err(MQClientError::InvalidArgument(format!(
                "message topic {} differs from queue topic {}",
                msg.topic, mq.topic
            )));
        }
        let out = imp.prepare(msg)?;
        imp.send_kernel(&out, mq, self.shared.options.send_msg_timeout).await
    }

    /// Sends to the queue `selector` picks for `arg` (ordered messages: same arg, same queue).
    pub async fn send_with_selector<A, S>(
        &self,
        msg: Message,
        selector: &S,
        arg: &A,
    ) -> Result<SendResult>
    where
        A: ?Sized,
        S: MessageQueueSelector<A> + ?Sized,
    {
        let imp = self.imp()?;
        imp.send_select(msg, selector, arg, self.shared.options.send_msg_timeout).await
    }

    /// An ordered send: the queue is Java's `abs(key.hashCode() % writeQueues)`, so messages of
    /// one sharding key land in one queue in send order (and where a Java producer puts them).
    pub async fn send_orderly(&self, msg: Message, sharding_key: &str) -> Result<SendResult> {
        self.send_with_selector(msg, &SelectMessageQueueByHash, sharding_key).await
    }

    /// Sends in a spawned task and hands the outcome to `callback` (RocketMQ's async send).
    pub fn send_with_callback<F>(&self, msg: Message, callback: F) -> tokio::task::JoinHandle<()>
    where
        F: FnOnce(Result<SendResult>) + Send + 'static,
    {
        let this = self.clone();
        tokio::spawn(async move { callback(this.send(msg).await) })
    }

    /// Sends without waiting for any answer (no result, no retry).
    pub async fn send_oneway(&self, msg: Message) -> Result<()> {
        let imp = self.imp()?;
        let out = imp.prepare(msg)?;
        imp.send_oneway(out).await
    }

    /// Sends messages of one topic as one SEND_BATCH_MESSAGE; the result's `msg_id` joins their
    /// UNIQ_KEYs with commas, `queue_offset` is the first one's.
    pub async fn send_batch(&self, msgs: Vec<Message>) -> Result<SendResult> {
        let imp = self.imp()?;
        let out = imp.prepare_batch(msgs)?;
        imp.send_default(out, self.shared.options.send_msg_timeout).await
    }

    /// [`send_batch`](Self::send_batch) to one queue.
    pub async fn send_batch_to_queue(
        &self,
        msgs: Vec<Message>,
        mq: &MessageQueue,
    ) -> Result<SendResult> {
        let imp = self.imp()?;
        let out = imp.prepare_batch(msgs)?;
        if out.topic != mq.topic {
            return Err(MQClientError::InvalidArgument("batch topic differs from queue".into()));
        }
        imp.send_kernel(&out, mq, self.shared.options.send_msg_timeout).await
    }

    /// The write queues of `topic` as this producer sees them.
    pub async fn fetch_publish_message_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        let imp = self.imp()?;
        let info = imp
            .instance
            .find_topic_publish_info(topic, self.shared.options.default_topic_queue_nums)
            .await?;
        Ok(info.message_queues.clone())
    }
}
