//! [`PushConsumer`] (RocketMQ `DefaultMQPushConsumer`): subscriptions, a listener, and per-queue
//! pull loops with long polling feeding the concurrent consume service.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use protocol::body::{ConsumeType, ConsumerData};
use protocol::message::sysflag::pull as pull_flag;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::client_config::ClientConfig;
use crate::consumer::allocate::{AllocateMessageQueueAveragely, AllocateMessageQueueStrategy};
use crate::consumer::consume_message_concurrently_service::ConsumeMessageConcurrentlyService;
use crate::consumer::listener::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, MessageListener,
};
use crate::consumer::offset_store::{OffsetStore, ReadOffsetType};
use crate::consumer::process_queue::ProcessQueue;
use crate::consumer::pull_api_wrapper::{pull_kernel, PullParams, PullStatus, Subscription};
use crate::consumer::rebalance_impl::{RebalanceHooks, RebalanceImpl};
use crate::consumer::{
    ConsumeFromWhere, MessageModel, BROKER_SUSPEND_MAX_TIME, CONSUMER_TIMEOUT_WHEN_SUSPEND,
    PULL_TIME_DELAY_WHEN_EXCEPTION, PULL_TIME_DELAY_WHEN_FLOW_CONTROL,
};
use crate::error::{MQClientError, Result};
use crate::message::{retry_topic, MessageExt, MessageQueue};
use crate::mq_client_instance::{BoxFuture, ConsumerInner, MQClientInstance};
use crate::producer::check_topic;

/// How a push consumer consumes (RocketMQ `DefaultMQPushConsumer`'s settings, same defaults).
#[derive(Clone)]
pub struct PushConsumerOptions {
    pub consume_from_where: ConsumeFromWhere,
    pub message_model: MessageModel,
    pub allocate_strategy: Arc<dyn AllocateMessageQueueStrategy>,
    /// Batches consumed at once (consumeThreadMax, 20).
    pub consume_thread_max: usize,
    /// Messages handed to the listener at once (1).
    pub consume_message_batch_max_size: usize,
    /// Messages asked for per pull (32).
    pub pull_batch_size: i32,
    /// Pause pulling a queue holding more messages than this (1000).
    pub pull_threshold_for_queue: usize,
    /// ... or more body bytes than this (100 MiB).
    pub pull_threshold_size_for_queue: usize,
    /// ... or a wider offset span than this (2000).
    pub consume_concurrently_max_span: i64,
    /// Reconsume attempts before the DLQ; -1 lets the broker use 16.
    pub max_reconsume_times: i32,
    /// How long the broker may hold a pull (15 s).
    pub broker_suspend_max_time: Duration,
    /// RPC timeout of a held pull (30 s).
    pub consumer_timeout_when_suspend: Duration,
}

impl Default for PushConsumerOptions {
    fn default() -> Self {
        Self {
            consume_from_where: ConsumeFromWhere::LastOffset,
            message_model: MessageModel::Clustering,
            allocate_strategy: Arc::new(AllocateMessageQueueAveragely),
            consume_thread_max: 20,
            consume_message_batch_max_size: 1,
            pull_batch_size: 32,
            pull_threshold_for_queue: 1000,
            pull_threshold_size_for_queue: 100 * 1024 * 1024,
            consume_concurrently_max_span: 2000,
            max_reconsume_times: -1,
            broker_suspend_max_time: BROKER_SUSPEND_MAX_TIME,
            consumer_timeout_when_suspend: CONSUMER_TIMEOUT_WHEN_SUSPEND,
        }
    }
}

impl std::fmt::Debug for PushConsumerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumerOptions")
            .field("consume_from_where", &self.consume_from_where)
            .field("message_model", &self.message_model)
            .field("allocate_strategy", &self.allocate_strategy.name())
            .field("consume_thread_max", &self.consume_thread_max)
            .field("consume_message_batch_max_size", &self.consume_message_batch_max_size)
            .finish_non_exhaustive()
    }
}

/// A push consumer of one consumer group. Cheap to clone; clones are the same consumer.
///
/// ```no_run
/// # async fn demo() -> Result<(), client::MQClientError> {
/// use client::{ClientConfig, ConsumeConcurrentlyStatus, PushConsumer};
/// let consumer = PushConsumer::new("CG", ClientConfig::new("127.0.0.1:9876"));
/// consumer.subscribe("TopicTest", "TagA || TagB")?;
/// consumer.register_message_listener_concurrently(|msgs, _ctx| {
///     for m in msgs {
///         println!("{} {:?}", m.queue_offset, m.body);
///     }
///     ConsumeConcurrentlyStatus::ConsumeSuccess
/// });
/// consumer.start().await?;
/// # consumer.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PushConsumer {
    shared: Arc<Shared>,
}

struct Shared {
    group: String,
    config: ClientConfig,
    setup: Mutex<Setup>,
    running: Mutex<Option<Arc<PushConsumerImpl>>>,
}

struct Setup {
    options: PushConsumerOptions,
    subscriptions: BTreeMap<String, Subscription>,
    listener: Option<MessageListener>,
}

impl PushConsumer {
    /// A consumer of `group` with default options.
    pub fn new(group: impl Into<String>, config: ClientConfig) -> Self {
        Self::with_options(group, config, PushConsumerOptions::default())
    }

    /// A consumer with the given options.
    pub fn with_options(
        group: impl Into<String>,
        config: ClientConfig,
        options: PushConsumerOptions,
    ) -> Self {
        let setup = Setup { options, subscriptions: BTreeMap::new(), listener: None };
        Self {
            shared: Arc::new(Shared {
                group: group.into(),
                config,
                setup: Mutex::new(setup),
                running: Mutex::new(None),
            }),
        }
    }

    fn setup(&self) -> std::sync::MutexGuard<'_, Setup> {
        self.shared.setup.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn running(&self) -> Option<Arc<PushConsumerImpl>> {
        self.shared.running.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.shared.group
    }

    /// Subscribes to `topic` with `expr`: `*` or `tagA || tagB`. May be called while running.
    pub fn subscribe(&self, topic: &str, expr: &str) -> Result<()> {
        check_topic(topic)?;
        let sub = Subscription::new(topic, expr);
        self.setup().subscriptions.insert(topic.to_owned(), sub.clone());
        if let Some(imp) = self.running() {
            imp.rebalance.subscribe(sub);
            imp.instance.rebalance_immediately();
        }
        Ok(())
    }

    /// Stops consuming `topic`.
    pub fn unsubscribe(&self, topic: &str) {
        self.setup().subscriptions.remove(topic);
        if let Some(imp) = self.running() {
            imp.rebalance.unsubscribe(topic);
            imp.instance.rebalance_immediately();
        }
    }

    /// Sets the listener; called for each batch on a spawned task, at most
    /// `consume_thread_max` at once.
    pub fn register_message_listener_concurrently<F>(&self, f: F)
    where
        F: Fn(&[MessageExt], &ConsumeConcurrentlyContext) -> ConsumeConcurrentlyStatus
            + Send
            + Sync
            + 'static,
    {
        self.setup().listener = Some(MessageListener::sync(f));
    }

    /// Sets an async listener.
    pub fn register_message_listener_async<F, Fut>(&self, f: F)
    where
        F: Fn(Vec<MessageExt>, ConsumeConcurrentlyContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ConsumeConcurrentlyStatus> + Send + 'static,
    {
        self.setup().listener = Some(MessageListener::asynchronous(f));
    }

    /// Where a queue without a stored offset starts (before `start`).
    pub fn set_consume_from_where(&self, from: ConsumeFromWhere) {
        self.setup().options.consume_from_where = from;
    }

    /// Clustering or broadcasting (before `start`).
    pub fn set_message_model(&self, model: MessageModel) {
        self.setup().options.message_model = model;
    }

    /// The queue allocation strategy (before `start`).
    pub fn set_allocate_strategy(&self, strategy: Arc<dyn AllocateMessageQueueStrategy>) {
        self.setup().options.allocate_strategy = strategy;
    }

    /// The options in force.
    pub fn options(&self) -> PushConsumerOptions {
        self.setup().options.clone()
    }

    /// The client id, once started.
    pub fn client_id(&self) -> Option<String> {
        self.running().map(|c| c.instance.client_id().to_owned())
    }

    /// The queues this consumer owns now.
    pub fn assignment(&self) -> Vec<MessageQueue> {
        self.running()
            .map(|c| c.rebalance.process_queues().into_iter().map(|(mq, _)| mq).collect())
            .unwrap_or_default()
    }

    /// Joins the client instance, heartbeats, rebalances and starts pulling.
    pub async fn start(&self) -> Result<()> {
        if self.running().is_some() {
            return Ok(());
        }
        let (options, mut subscriptions, listener) = {
            let s = self.setup();
            (s.options.clone(), s.subscriptions.clone(), s.listener.clone())
        };
        let listener =
            listener.ok_or(MQClientError::State("register a message listener before start"))?;
        let group = self.shared.group.clone();
        if options.message_model == MessageModel::Clustering {
            let retry = retry_topic(&group);
            subscriptions.insert(retry.clone(), Subscription::new(&retry, "*"));
        }
        let instance = MQClientInstance::get_or_create(&self.shared.config).await?;
        let remote = options.message_model == MessageModel::Clustering;
        let offset_store = Arc::new(OffsetStore::new(group.clone(), instance.clone(), remote));
        let rebalance = RebalanceImpl::new(
            group.clone(),
            options.message_model,
            options.consume_from_where,
            options.allocate_strategy.clone(),
            instance.clone(),
            offset_store.clone(),
            subscriptions,
        );
        let imp = Arc::new_cyclic(|weak: &Weak<PushConsumerImpl>| PushConsumerImpl {
            consume_service: ConsumeMessageConcurrentlyService::new(
                group.clone(),
                listener,
                &options,
                instance.clone(),
                offset_store.clone(),
                weak.clone(),
            ),
            group: group.clone(),
            options,
            instance: instance.clone(),
            offset_store,
            rebalance,
            this: weak.clone(),
        });
        let as_inner: Arc<dyn ConsumerInner> = imp.clone();
        instance.register_consumer(&group, Arc::downgrade(&as_inner))?;
        {
            let mut running = self.shared.running.lock().unwrap_or_else(PoisonError::into_inner);
            *running = Some(imp.clone());
        }
        instance.acquire();
        for topic in imp.rebalance.subscriptions().keys() {
            if let Err(e) = instance.update_topic_route(topic).await {
                debug!(topic, error = %e, "no route yet");
            }
        }
        instance.send_heartbeat_to_all_brokers().await;
        imp.rebalance.do_rebalance(imp.as_ref()).await;
        Ok(())
    }

    /// Stops pulling, writes every offset to the brokers, unregisters and leaves the client
    /// instance.
    pub async fn shutdown(&self) {
        let imp = self.shared.running.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(imp) = imp {
            imp.rebalance.shutdown(imp.as_ref()).await;
            imp.instance.unregister_consumer(&imp.group).await;
            imp.instance.release().await;
        }
    }

    /// The consume offset held in memory for `mq` (what the next persist writes).
    pub fn consume_offset(&self, mq: &MessageQueue) -> Option<i64> {
        self.running().and_then(|c| c.offset_store.offsets().get(mq).copied())
    }
}

/// A started push consumer.
pub(crate) struct PushConsumerImpl {
    pub group: String,
    pub options: PushConsumerOptions,
    pub instance: Arc<MQClientInstance>,
    pub offset_store: Arc<OffsetStore>,
    pub rebalance: RebalanceImpl,
    pub consume_service: ConsumeMessageConcurrentlyService,
    this: Weak<PushConsumerImpl>,
}

impl PushConsumerImpl {
    /// Pulls `mq` until its process queue is dropped.
    async fn pull_loop(self: Arc<Self>, mq: MessageQueue, pq: Arc<ProcessQueue>, mut offset: i64) {
        let o = &self.options;
        while !pq.is_dropped() {
            if pq.msg_count() > o.pull_threshold_for_queue
                || pq.msg_size() > o.pull_threshold_size_for_queue
                || pq.max_span() > o.consume_concurrently_max_span
            {
                tokio::time::sleep(PULL_TIME_DELAY_WHEN_FLOW_CONTROL).await;
                continue;
            }
            let Some(sub) = self.rebalance.subscription(&mq.topic) else {
                tokio::time::sleep(PULL_TIME_DELAY_WHEN_EXCEPTION).await;
                continue;
            };
            let commit_offset = if o.message_model == MessageModel::Clustering {
                self.offset_store
                    .read_offset(&mq, ReadOffsetType::ReadFromMemory)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or(0)
            } else {
                0
            };
            let sys_flag = pull_flag::build(commit_offset > 0, true, false, false);
            pq.touch_pull();
            let params = PullParams {
                group: &self.group,
                sub: &sub,
                offset,
                max_nums: o.pull_batch_size,
                sys_flag,
                commit_offset,
                suspend: o.broker_suspend_max_time,
                timeout: o.consumer_timeout_when_suspend,
                lite: false,
            };
            match pull_kernel(&self.instance, &mq, params).await {
                Ok(r) => {
                    if pq.is_dropped() {
                        return;
                    }
                    match r.status {
                        PullStatus::Found => {
                            offset = r.next_begin_offset;
                            if !r.msgs.is_empty() {
                                pq.put_messages(&r.msgs);
                                self.consume_service.submit(r.msgs, pq.clone(), mq.clone());
                            }
                        }
                        PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                            offset = r.next_begin_offset;
                            if pq.is_empty() {
                                self.offset_store.update_offset(&mq, offset, true);
                            }
                        }
                        PullStatus::OffsetIllegal => {
                            warn!(group = %self.group, ?mq, offset, next = r.next_begin_offset, "pull offset illegal; moving");
                            offset = r.next_begin_offset;
                            pq.clear();
                            self.offset_store.update_offset(&mq, offset, false);
                            let _ = self.offset_store.persist(&mq).await;
                        }
                    }
                }
                Err(e) => {
                    debug!(group = %self.group, ?mq, error = %e, "pull failed");
                    tokio::time::sleep(PULL_TIME_DELAY_WHEN_EXCEPTION).await;
                }
            }
        }
    }
}

impl RebalanceHooks for PushConsumerImpl {
    fn start_pull(&self, mq: MessageQueue, pq: Arc<ProcessQueue>, offset: i64) -> JoinHandle<()> {
        let this = self.this.clone();
        tokio::spawn(async move {
            if let Some(this) = this.upgrade() {
                this.pull_loop(mq, pq, offset).await;
            }
        })
    }
}

impl ConsumerInner for PushConsumerImpl {
    fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            consume_from_where: self.options.consume_from_where.to_wire(),
            consume_type: ConsumeType::ConsumePassively,
            group_name: self.group.clone(),
            message_model: self.options.message_model.to_wire(),
            subscription_data_set: self
                .rebalance
                .subscriptions()
                .into_values()
                .map(|s| s.data)
                .collect(),
            unit_mode: false,
        }
    }

    fn subscribed_topics(&self) -> Vec<String> {
        self.rebalance.subscriptions().into_keys().collect()
    }

    fn do_rebalance(self: Arc<Self>) -> BoxFuture<()> {
        Box::pin(async move { self.rebalance.do_rebalance(self.as_ref()).await })
    }

    fn persist_consumer_offset(self: Arc<Self>) -> BoxFuture<()> {
        Box::pin(async move { self.rebalance.persist_offsets().await })
    }
}
