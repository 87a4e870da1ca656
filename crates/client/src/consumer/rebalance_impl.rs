//! Rebalance (RocketMQ `RebalanceImpl`): which queues of each subscribed topic this consumer
//! owns, and the hand-over when that changes. Clustering splits a topic's readable queues among
//! the group's consumers with the allocation strategy; broadcasting takes them all. A queue
//! let go has its pull task stopped and its offset written to the broker before the new owner
//! (which reads that offset) can start.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::consumer::allocate::AllocateMessageQueueStrategy;
use crate::consumer::offset_store::{OffsetStore, ReadOffsetType};
use crate::consumer::process_queue::ProcessQueue;
use crate::consumer::pull_api_wrapper::Subscription;
use crate::consumer::{ConsumeFromWhere, MessageModel};
use crate::error::Result;
use crate::message::{is_retry_topic, MessageQueue};
use crate::mq_client_instance::MQClientInstance;

/// What the consumer does when it gains or loses a queue.
pub(crate) trait RebalanceHooks: Send + Sync {
    /// Starts pulling `mq` from `offset` into `pq`.
    fn start_pull(&self, mq: MessageQueue, pq: Arc<ProcessQueue>, offset: i64) -> JoinHandle<()>;
    /// Called before a queue's offset is persisted on its way out.
    fn before_drop(&self, _mq: &MessageQueue) {}
}

struct Owned {
    pq: Arc<ProcessQueue>,
    task: JoinHandle<()>,
}

/// The queue ownership of one consumer.
pub(crate) struct RebalanceImpl {
    pub group: String,
    pub model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub strategy: Arc<dyn AllocateMessageQueueStrategy>,
    pub instance: Arc<MQClientInstance>,
    pub offset_store: Arc<OffsetStore>,
    subscriptions: Mutex<BTreeMap<String, Subscription>>,
    table: Mutex<BTreeMap<MessageQueue, Owned>>,
    /// One rebalance at a time: the periodic one, a notified one and an `assign` must not
    /// both start a queue.
    running: tokio::sync::Mutex<()>,
    /// Set at shutdown: no queue is started after it.
    stopped: std::sync::atomic::AtomicBool,
}

impl RebalanceImpl {
    pub fn new(
        group: String,
        model: MessageModel,
        consume_from_where: ConsumeFromWhere,
        strategy: Arc<dyn AllocateMessageQueueStrategy>,
        instance: Arc<MQClientInstance>,
        offset_store: Arc<OffsetStore>,
        subscriptions: BTreeMap<String, Subscription>,
    ) -> Self {
        Self {
            group,
            model,
            consume_from_where,
            strategy,
            instance,
            offset_store,
            subscriptions: Mutex::new(subscriptions),
            table: Mutex::default(),
            running: tokio::sync::Mutex::new(()),
            stopped: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn table(&self) -> MutexGuard<'_, BTreeMap<MessageQueue, Owned>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn subs(&self) -> MutexGuard<'_, BTreeMap<String, Subscription>> {
        self.subscriptions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The subscription of `topic`.
    pub fn subscription(&self, topic: &str) -> Option<Subscription> {
        self.subs().get(topic).cloned()
    }

    /// Every subscription.
    pub fn subscriptions(&self) -> BTreeMap<String, Subscription> {
        self.subs().clone()
    }

    /// Adds or replaces a subscription.
    pub fn subscribe(&self, sub: Subscription) {
        self.subs().insert(sub.data.topic.clone(), sub);
    }

    /// Removes a subscription.
    pub fn unsubscribe(&self, topic: &str) {
        self.subs().remove(topic);
    }

    /// The queues owned now and their process queues.
    pub fn process_queues(&self) -> Vec<(MessageQueue, Arc<ProcessQueue>)> {
        self.table().iter().map(|(mq, o)| (mq.clone(), o.pq.clone())).collect()
    }

    /// Recomputes ownership of every subscribed topic.
    pub async fn do_rebalance(&self, hooks: &dyn RebalanceHooks) {
        let _one = self.running.lock().await;
        if self.is_stopped() {
            return;
        }
        let topics: Vec<String> = self.subs().keys().cloned().collect();
        for topic in &topics {
            match self.allocate(topic).await {
                Ok(set) => self.update_locked(Some(topic), &set, hooks).await,
                Err(e) => debug!(group = %self.group, topic, error = %e, "rebalance skipped"),
            }
        }
        // Queues of topics no longer subscribed.
        let stale: Vec<MessageQueue> =
            self.table().keys().filter(|mq| !topics.contains(&mq.topic)).cloned().collect();
        for mq in stale {
            self.drop_queue(&mq, hooks).await;
        }
    }

    /// The queues of `topic` this consumer should own.
    async fn allocate(&self, topic: &str) -> Result<BTreeSet<MessageQueue>> {
        let mq_set = self.instance.topic_subscribe_info(topic).await?;
        if self.model == MessageModel::Broadcasting {
            return Ok(mq_set);
        }
        let mut cids = self.instance.find_consumer_id_list(topic, &self.group).await?;
        cids.sort();
        cids.dedup();
        let mq_all: Vec<MessageQueue> = mq_set.into_iter().collect();
        let mine = self.strategy.allocate(&self.group, self.instance.client_id(), &mq_all, &cids);
        Ok(mine.into_iter().collect())
    }

    /// Makes the owned queues of `topic` (all topics if `None`) exactly `set`: drops the
    /// others, starts the new ones at the offset the consume-from-where rule gives.
    pub async fn update_process_queue_table(
        &self,
        topic: Option<&str>,
        set: &BTreeSet<MessageQueue>,
        hooks: &dyn RebalanceHooks,
    ) {
        let _one = self.running.lock().await;
        if !self.is_stopped() {
            self.update_locked(topic, set, hooks).await;
        }
    }

    async fn update_locked(
        &self,
        topic: Option<&str>,
        set: &BTreeSet<MessageQueue>,
        hooks: &dyn RebalanceHooks,
    ) {
        let removed: Vec<MessageQueue> = self
            .table()
            .keys()
            .filter(|mq| topic.is_none_or(|t| mq.topic == t) && !set.contains(*mq))
            .cloned()
            .collect();
        for mq in removed {
            self.drop_queue(&mq, hooks).await;
        }
        let added: Vec<MessageQueue> = {
            let table = self.table();
            set.iter().filter(|mq| !table.contains_key(*mq)).cloned().collect()
        };
        for mq in added {
            match self.compute_pull_from_where(&mq).await {
                Ok(offset) => {
                    info!(group = %self.group, ?mq, offset, "queue assigned");
                    self.offset_store.remove_offset(&mq);
                    let pq = Arc::new(ProcessQueue::new());
                    let task = hooks.start_pull(mq.clone(), pq.clone(), offset);
                    self.table().insert(mq, Owned { pq, task });
                }
                Err(e) => {
                    warn!(group = %self.group, ?mq, error = %e, "no start offset; will retry")
                }
            }
        }
    }

    /// Lets `mq` go: stops its pull, writes its offset, forgets it.
    pub async fn drop_queue(&self, mq: &MessageQueue, hooks: &dyn RebalanceHooks) {
        let Some(owned) = self.table().remove(mq) else { return };
        owned.pq.set_dropped();
        owned.task.abort();
        hooks.before_drop(mq);
        // A failure is logged by the store; the new owner then starts from the last offset
        // that did reach the broker (redelivery, not loss).
        let _ = self.offset_store.persist(mq).await;
        self.offset_store.remove_offset(mq);
        info!(group = %self.group, ?mq, "queue dropped");
    }

    /// Replaces `mq`'s process queue and pull task (a seek); `None` if `mq` is not owned.
    pub fn restart_queue(
        &self,
        mq: &MessageQueue,
        offset: i64,
        hooks: &dyn RebalanceHooks,
    ) -> Option<()> {
        let mut table = self.table();
        let owned = table.get_mut(mq)?;
        owned.pq.set_dropped();
        owned.task.abort();
        let pq = Arc::new(ProcessQueue::new());
        owned.task = hooks.start_pull(mq.clone(), pq.clone(), offset);
        owned.pq = pq;
        Some(())
    }

    /// Stops every pull and writes every offset (shutdown).
    pub async fn shutdown(&self, hooks: &dyn RebalanceHooks) {
        self.stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        let _one = self.running.lock().await;
        let mqs: BTreeSet<MessageQueue> = {
            let table = self.table();
            for owned in table.values() {
                owned.pq.set_dropped();
                owned.task.abort();
            }
            table.keys().cloned().collect()
        };
        for mq in &mqs {
            hooks.before_drop(mq);
        }
        let _ = self.offset_store.persist_all(&mqs, false).await;
        self.table().clear();
    }

    /// Writes the offsets of the owned queues one-way (the periodic persist).
    pub async fn persist_offsets(&self) {
        let mqs: BTreeSet<MessageQueue> = self.table().keys().cloned().collect();
        let _ = self.offset_store.persist_all(&mqs, true).await;
    }

    /// Where a newly owned queue starts (reference §6.3): the broker's stored offset, else by
    /// consume-from-where (retry topics always from their start).
    pub async fn compute_pull_from_where(&self, mq: &MessageQueue) -> Result<i64> {
        if let Some(offset) =
            self.offset_store.read_offset(mq, ReadOffsetType::ReadFromStore).await?
        {
            if offset >= 0 {
                return Ok(offset);
            }
        }
        let retry = is_retry_topic(&mq.topic);
        match self.consume_from_where {
            ConsumeFromWhere::FirstOffset => Ok(0),
            ConsumeFromWhere::LastOffset if retry => Ok(0),
            ConsumeFromWhere::LastOffset => self.max_offset(mq).await,
            ConsumeFromWhere::Timestamp(_) if retry => self.max_offset(mq).await,
            ConsumeFromWhere::Timestamp(ts) => {
                let addr = self.broker_addr(mq).await?;
                self.instance.api().search_offset(&addr, mq, ts).await
            }
        }
    }

    async fn max_offset(&self, mq: &MessageQueue) -> Result<i64> {
        let addr = self.broker_addr(mq).await?;
        self.instance.api().get_max_offset(&addr, mq).await
    }

    async fn broker_addr(&self, mq: &MessageQueue) -> Result<String> {
        self.instance.find_broker_address_refreshing(&mq.broker_name, &mq.topic).await
    }
}
