//! [`LitePullConsumer`] (RocketMQ `DefaultLitePullConsumer`): background tasks pull assigned
//! (or rebalanced) queues into a bounded buffer; the caller polls it and commits, by hand or
//! every few seconds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use protocol::body::{ConsumeType, ConsumerData};
use protocol::message::sysflag::pull as pull_flag;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::debug;

use crate::client_config::ClientConfig;
use crate::consumer::allocate::{AllocateMessageQueueAveragely, AllocateMessageQueueStrategy};
use crate::consumer::offset_store::{OffsetStore, OffsetTable, ReadOffsetType};
use crate::consumer::process_queue::ProcessQueue;
use crate::consumer::pull_api_wrapper::{pull_kernel, PullParams, PullStatus, Subscription};
use crate::consumer::rebalance_impl::{RebalanceHooks, RebalanceImpl};
use crate::consumer::{ConsumeFromWhere, MessageModel, PULL_TIME_DELAY_WHEN_FLOW_CONTROL};
use crate::error::{MQClientError, Result};
use crate::message::{MessageExt, MessageQueue};
use crate::mq_client_instance::{BoxFuture, ConsumerInner, MQClientInstance};
use crate::producer::check_topic;

/// How a lite pull consumer pulls (RocketMQ `DefaultLitePullConsumer`'s settings).
#[derive(Clone)]
pub struct LitePullConsumerOptions {
    pub consume_from_where: ConsumeFromWhere,
    pub message_model: MessageModel,
    pub allocate_strategy: Arc<dyn AllocateMessageQueueStrategy>,
    /// Commit polled offsets every `auto_commit_interval` (true, 5 s).
    pub auto_commit: bool,
    pub auto_commit_interval: Duration,
    /// Messages asked for per pull (10).
    pub pull_batch_size: i32,
    /// Pause pulling a queue holding more unpolled messages than this (1000).
    pub pull_threshold_for_queue: usize,
    /// Pulled batches the poll buffer holds; pull tasks wait when it is full (1000).
    pub poll_buffer_batches: usize,
    /// How long the broker may hold a pull (20 s) and the pull's RPC timeout (30 s).
    pub broker_suspend_max_time: Duration,
    pub consumer_timeout_when_suspend: Duration,
    /// Back-off after a failed pull (1 s).
    pub pull_time_delay_when_exception: Duration,
}

impl Default for LitePullConsumerOptions {
    fn default() -> Self {
        Self {
            consume_from_where: ConsumeFromWhere::LastOffset,
            message_model: MessageModel::Clustering,
            allocate_strategy: Arc::new(AllocateMessageQueueAveragely),
            auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            pull_batch_size: 10,
            pull_threshold_for_queue: 1000,
            poll_buffer_batches: 1000,
            broker_suspend_max_time: Duration::from_secs(20),
            consumer_timeout_when_suspend: Duration::from_secs(30),
            pull_time_delay_when_exception: Duration::from_secs(1),
        }
    }
}

impl std::fmt::Debug for LitePullConsumerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LitePullConsumerOptions")
            .field("consume_from_where", &self.consume_from_where)
            .field("message_model", &self.message_model)
            .field("allocate_strategy", &self.allocate_strategy.name())
            .field("auto_commit", &self.auto_commit)
            .field("pull_batch_size", &self.pull_batch_size)
            .finish_non_exhaustive()
    }
}

/// Assign or subscribe: a consumer does one or the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    None,
    Subscribe,
    Assign,
}

/// A lite pull consumer of one consumer group. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), client::MQClientError> {
/// use std::time::Duration;
/// use client::{ClientConfig, LitePullConsumer};
/// let consumer = LitePullConsumer::new("LG", ClientConfig::new("127.0.0.1:9876"));
/// consumer.subscribe("TopicTest", "*")?;
/// consumer.start().await?;
/// let msgs = consumer.poll(Duration::from_secs(1)).await;
/// consumer.commit_sync().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LitePullConsumer {
    shared: Arc<Shared>,
}

struct Shared {
    group: String,
    config: ClientConfig,
    options: Mutex<LitePullConsumerOptions>,
    /// Subscriptions and assignment made before start.
    mode: Mutex<(Mode, BTreeMap<String, Subscription>, BTreeSet<MessageQueue>)>,
    running: Mutex<Option<Arc<LitePullConsumerImpl>>>,
}

impl LitePullConsumer {
    /// A consumer of `group` with default options.
    pub fn new(group: impl Into<String>, config: ClientConfig) -> Self {
        Self::with_options(group, config, LitePullConsumerOptions::default())
    }

    /// A consumer with the given options.
    pub fn with_options(
        group: impl Into<String>,
        config: ClientConfig,
        options: LitePullConsumerOptions,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                group: group.into(),
                config,
                options: Mutex::new(options),
                mode: Mutex::new((Mode::None, BTreeMap::new(), BTreeSet::new())),
                running: Mutex::new(None),
            }),
        }
    }

    fn running(&self) -> Option<Arc<LitePullConsumerImpl>> {
        self.shared.running.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn imp(&self) -> Result<Arc<LitePullConsumerImpl>> {
        self.running().ok_or(MQClientError::State("the consumer is not running"))
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.shared.group
    }

    /// Where a queue without a stored offset starts (before `start`).
    pub fn set_consume_from_where(&self, from: ConsumeFromWhere) {
        self.shared.options.lock().unwrap_or_else(PoisonError::into_inner).consume_from_where =
            from;
    }

    /// Turns auto-commit on or off (before `start`).
    pub fn set_auto_commit(&self, on: bool) {
        self.shared.options.lock().unwrap_or_else(PoisonError::into_inner).auto_commit = on;
    }

    /// Subscribes to `topic` (`*` or `tagA || tagB`); the group's consumers share its queues
    /// by rebalance. Not with [`assign`](Self::assign).
    pub fn subscribe(&self, topic: &str, expr: &str) -> Result<()> {
        check_topic(topic)?;
        let sub = Subscription::new(topic, expr);
        {
            let mut m = self.shared.mode.lock().unwrap_or_else(PoisonError::into_inner);
            if m.0 == Mode::Assign {
                return Err(MQClientError::State("subscribe and assign cannot be mixed"));
            }
            m.0 = Mode::Subscribe;
            m.1.insert(topic.to_owned(), sub.clone());
        }
        if let Some(imp) = self.running() {
            imp.rebalance.subscribe(sub);
            imp.instance.rebalance_immediately();
        }
        Ok(())
    }

    /// Consumes exactly `mqs` (no rebalance). Not with [`subscribe`](Self::subscribe).
    pub async fn assign(&self, mqs: Vec<MessageQueue>) -> Result<()> {
        let set: BTreeSet<MessageQueue> = mqs.into_iter().collect();
        {
            let mut m = self.shared.mode.lock().unwrap_or_else(PoisonError::into_inner);
            if m.0 == Mode::Subscribe {
                return Err(MQClientError::State("subscribe and assign cannot be mixed"));
            }
            m.0 = Mode::Assign;
            m.2 = set.clone();
        }
        if let Some(imp) = self.running() {
            imp.rebalance.update_process_queue_table(None, &set, imp.as_ref()).await;
        }
        Ok(())
    }

    /// Starts the client instance and the pull tasks.
    pub async fn start(&self) -> Result<()> {
        if self.running().is_some() {
            return Ok(());
        }
        let options = self.shared.options.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let (mode, subs, assigned) =
            self.shared.mode.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let group = self.shared.group.clone();
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
            subs,
        );
        let (tx, rx) = mpsc::channel(options.poll_buffer_batches.max(1));
        let imp = Arc::new_cyclic(|weak: &Weak<LitePullConsumerImpl>| LitePullConsumerImpl {
            group: group.clone(),
            options: options.clone(),
            instance: instance.clone(),
            offset_store,
            rebalance,
            consume_offsets: OffsetTable::default(),
            tx,
            rx: tokio::sync::Mutex::new(rx),
            auto_commit_task: Mutex::new(None),
            this: weak.clone(),
        });
        let as_inner: Arc<dyn ConsumerInner> = imp.clone();
        instance.register_consumer(&group, Arc::downgrade(&as_inner))?;
        *self.shared.running.lock().unwrap_or_else(PoisonError::into_inner) = Some(imp.clone());
        instance.acquire();
        if options.auto_commit {
            let weak = Arc::downgrade(&imp);
            let period = options.auto_commit_interval;
            let task = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(period).await;
                    let Some(imp) = weak.upgrade() else { return };
                    let _ = imp.commit_all(true).await;
                }
            });
            *imp.auto_commit_task.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
        }
        match mode {
            Mode::Subscribe => {
                for topic in imp.rebalance.subscriptions().keys() {
                    if let Err(e) = instance.update_topic_route(topic).await {
                        debug!(topic, error = %e, "no route yet");
                    }
                }
                instance.send_heartbeat_to_all_brokers().await;
                imp.rebalance.do_rebalance(imp.as_ref()).await;
            }
            Mode::Assign => {
                instance.send_heartbeat_to_all_brokers().await;
                imp.rebalance.update_process_queue_table(None, &assigned, imp.as_ref()).await;
            }
            Mode::None => instance.send_heartbeat_to_all_brokers().await,
        }
        Ok(())
    }

    /// Commits (if auto-commit is on), stops pulling, unregisters, leaves the client instance.
    pub async fn shutdown(&self) {
        let imp = self.shared.running.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(imp) = imp {
            if let Some(task) =
                imp.auto_commit_task.lock().unwrap_or_else(PoisonError::into_inner).take()
            {
                task.abort();
            }
            if imp.options.auto_commit {
                let _ = imp.commit_all(false).await;
            }
            imp.rebalance.shutdown(imp.as_ref()).await;
            imp.instance.unregister_consumer(&imp.group).await;
            imp.instance.release().await;
        }
    }

    /// Pulled messages, waiting up to `timeout` for some; empty if none came. Polled messages
    /// count as consumed for the next commit.
    pub async fn poll(&self, timeout: Duration) -> Vec<MessageExt> {
        match self.running() {
            Some(imp) => imp.poll(timeout).await,
            None => Vec::new(),
        }
    }

    /// Continues `mq` from `offset`: buffered messages of it are discarded.
    pub async fn seek(&self, mq: &MessageQueue, offset: i64) -> Result<()> {
        let imp = self.imp()?;
        imp.consume_offsets.update(mq, offset, false);
        imp.rebalance.restart_queue(mq, offset, imp.as_ref()).ok_or_else(|| {
            MQClientError::InvalidArgument(format!("{mq:?} is not assigned to this consumer"))
        })
    }

    /// Writes the offsets of polled messages to the brokers and waits for them. An error
    /// means some queue's offset may not have reached its broker (every queue is still tried);
    /// the next commit writes it again.
    pub async fn commit_sync(&self) -> Result<()> {
        self.imp()?.commit_all(false).await
    }

    /// The offset the broker holds for `mq` (`None`: never committed).
    pub async fn committed(&self, mq: &MessageQueue) -> Result<Option<i64>> {
        self.imp()?.offset_store.read_offset(mq, ReadOffsetType::ReadFromStore).await
    }

    /// The readable queues of `topic`.
    pub async fn fetch_message_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        let imp = self.imp()?;
        Ok(imp.instance.topic_subscribe_info(topic).await?.into_iter().collect())
    }

    /// The queues being pulled now.
    pub fn assignment(&self) -> Vec<MessageQueue> {
        self.running()
            .map(|c| c.rebalance.process_queues().into_iter().map(|(mq, _)| mq).collect())
            .unwrap_or_default()
    }
}

/// One pulled batch waiting to be polled.
struct ConsumeRequest {
    msgs: Vec<MessageExt>,
    mq: MessageQueue,
    pq: Arc<ProcessQueue>,
}

pub(crate) struct LitePullConsumerImpl {
    group: String,
    options: LitePullConsumerOptions,
    instance: Arc<MQClientInstance>,
    offset_store: Arc<OffsetStore>,
    rebalance: RebalanceImpl,
    /// What polling has reached per queue, committed to `offset_store` by a commit.
    consume_offsets: OffsetTable,
    tx: mpsc::Sender<ConsumeRequest>,
    rx: tokio::sync::Mutex<mpsc::Receiver<ConsumeRequest>>,
    auto_commit_task: Mutex<Option<JoinHandle<()>>>,
    this: Weak<LitePullConsumerImpl>,
}

impl LitePullConsumerImpl {
    async fn poll(&self, timeout: Duration) -> Vec<MessageExt> {
        let deadline = rt::clock::now() + timeout;
        let mut rx = self.rx.lock().await;
        loop {
            let left = deadline.saturating_duration_since(rt::clock::now());
            let req = match tokio::time::timeout(left, rx.recv()).await {
                Ok(Some(req)) => req,
                _ => return Vec::new(),
            };
            if req.pq.is_dropped() {
                continue;
            }
            if let Some(offset) = req.pq.remove_messages(req.msgs.iter().map(|m| m.queue_offset)) {
                self.consume_offsets.update(&req.mq, offset, true);
            }
            return req.msgs;
        }
    }

    /// Copies polled offsets into the offset store and writes them.
    async fn commit_all(&self, oneway: bool) -> Result<()> {
        let owned = self.rebalance.process_queues();
        let mut mqs = BTreeSet::new();
        for (mq, pq) in owned {
            if pq.is_dropped() {
                continue;
            }
            if let Some(offset) = self.consume_offsets.get(&mq) {
                self.offset_store.update_offset(&mq, offset, false);
            }
            mqs.insert(mq);
        }
        self.offset_store.persist_all(&mqs, oneway).await
    }

    async fn pull_loop(self: Arc<Self>, mq: MessageQueue, pq: Arc<ProcessQueue>, mut offset: i64) {
        let o = &self.options;
        let sys_flag = pull_flag::build(false, true, true, false) | pull_flag::LITE_PULL;
        while !pq.is_dropped() {
            if pq.msg_count() > o.pull_threshold_for_queue {
                tokio::time::sleep(PULL_TIME_DELAY_WHEN_FLOW_CONTROL).await;
                continue;
            }
            let sub = self
                .rebalance
                .subscription(&mq.topic)
                .unwrap_or_else(|| Subscription::new(&mq.topic, "*"));
            pq.touch_pull();
            let params = PullParams {
                group: &self.group,
                sub: &sub,
                offset,
                max_nums: o.pull_batch_size,
                sys_flag,
                commit_offset: 0,
                suspend: o.broker_suspend_max_time,
                timeout: o.consumer_timeout_when_suspend,
                lite: true,
            };
            match pull_kernel(&self.instance, &mq, params).await {
                Ok(r) => {
                    if pq.is_dropped() {
                        return;
                    }
                    offset = r.next_begin_offset;
                    if r.status == PullStatus::Found && !r.msgs.is_empty() {
                        pq.put_messages(&r.msgs);
                        let req = ConsumeRequest { msgs: r.msgs, mq: mq.clone(), pq: pq.clone() };
                        if self.tx.send(req).await.is_err() {
                            return;
                        }
                    } else if r.status == PullStatus::OffsetIllegal {
                        pq.clear();
                        self.consume_offsets.update(&mq, offset, false);
                    }
                }
                Err(e) => {
                    debug!(group = %self.group, ?mq, error = %e, "pull failed");
                    tokio::time::sleep(o.pull_time_delay_when_exception).await;
                }
            }
        }
    }
}

impl RebalanceHooks for LitePullConsumerImpl {
    fn start_pull(&self, mq: MessageQueue, pq: Arc<ProcessQueue>, offset: i64) -> JoinHandle<()> {
        self.consume_offsets.update(&mq, offset, false);
        let this = self.this.clone();
        tokio::spawn(async move {
            if let Some(this) = this.upgrade() {
                this.pull_loop(mq, pq, offset).await;
            }
        })
    }

    fn before_drop(&self, mq: &MessageQueue) {
        if self.options.auto_commit {
            if let Some(offset) = self.consume_offsets.get(mq) {
                self.offset_store.update_offset(mq, offset, false);
            }
        }
        self.consume_offsets.remove(mq);
    }
}

impl ConsumerInner for LitePullConsumerImpl {
    fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            consume_from_where: self.options.consume_from_where.to_wire(),
            consume_type: ConsumeType::ConsumeActively,
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
        Box::pin(async move {
            if !self.rebalance.subscriptions().is_empty() {
                self.rebalance.do_rebalance(self.as_ref()).await;
            }
        })
    }

    fn persist_consumer_offset(self: Arc<Self>) -> BoxFuture<()> {
        Box::pin(async move { self.rebalance.persist_offsets().await })
    }
}
