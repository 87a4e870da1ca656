//! The message store (RocketMQ `DefaultMessageStore`): lifecycle and the put path. Reads are in
//! `get_message.rs`.
//!
//! Lifecycle: [`MessageStore::open`] loads the files and runs recovery (the store is then
//! readable), [`MessageStore::start`] spawns the flush, dispatch, checkpoint and retention tasks
//! (puts are accepted from then on), [`MessageStore::shutdown`] stops them, flushes everything,
//! writes the checkpoint and removes the `abort` marker. Dropping the store without `shutdown`
//! stops its tasks where they are, like a crash of the process: the next open runs abnormal
//! recovery.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use protocol::message::MessageExtBrokerInner;
use rt::disk::DiskRef;
use rt::sync::Latch;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

use crate::checkpoint::{create_abort_file, remove_abort_file, StoreCheckpoint};
use crate::commit_log::{AppendOutcome, CommitLog};
use crate::config::{FlushDiskType, MessageStoreConfig};
use crate::consume_queue_table::ConsumeQueueTable;
use crate::dispatch::{DispatchMode, DispatchTargets, Dispatcher, MessageArrivingListener};
use crate::error::{Result, StoreError};
use crate::flush::{self, GroupCommitReceiver, GroupCommitRequest, GroupCommitSender};
use crate::index_service::IndexService;
use crate::msg_id::{push_offset_msg_id, MAX_MSG_ID_LEN};
use crate::prefault;
use crate::recovery::{self, RecoveryReport};
use crate::retention::{self, CleanResult};
use crate::status::{AppendMessageResult, PutMessageResult, PutMessageStatus};

/// How often the dispatcher looks for new records (RocketMQ's ReputMessageService also runs
/// every millisecond). Under SYNC_FLUSH each group commit also wakes it at once.
const DISPATCH_INTERVAL: Duration = Duration::from_millis(1);
/// Smallest CommitLog segment accepted: it must hold a record of any sensible size.
const MIN_COMMIT_LOG_FILE_SIZE: u64 = 4096;

/// State shared by the store handle and its tasks.
pub(crate) struct StoreInner {
    pub disk: DiskRef,
    pub config: MessageStoreConfig,
    pub commit_log: CommitLog,
    pub queues: ConsumeQueueTable,
    pub index: Option<IndexService>,
    pub dispatcher: Dispatcher,
    pub dispatch_notify: Notify,
    group_commit: GroupCommitSender,
    group_commit_rx: Mutex<Option<GroupCommitReceiver>>,
    listener: RwLock<Option<Arc<dyn MessageArrivingListener>>>,
    running: AtomicBool,
    stop: Arc<Latch>,
    recovery: RecoveryReport,
}

impl std::fmt::Debug for StoreInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStore")
            .field("max_offset", &self.commit_log.max_offset())
            .field("flushed", &self.commit_log.flushed_where())
            .field("dispatched", &self.dispatcher.dispatched())
            .finish_non_exhaustive()
    }
}

impl StoreInner {
    /// How far the dispatcher may go: the written end, or under SYNC_FLUSH the durable end, so
    /// a consumer never sees a record that a crash could take back.
    fn dispatch_limit(&self) -> u64 {
        match self.config.flush_disk_type {
            FlushDiskType::AsyncFlush => self.commit_log.max_offset(),
            FlushDiskType::SyncFlush => self.commit_log.flushed_where(),
        }
    }

    pub(crate) fn dispatch_available(&self) -> Result<u64> {
        let listener = self.listener.read().unwrap_or_else(|e| e.into_inner()).clone();
        let targets = DispatchTargets {
            commit_log: &self.commit_log,
            queues: &self.queues,
            index: self.index.as_ref(),
            listener,
        };
        self.dispatcher.run(&targets, self.dispatch_limit(), DispatchMode::Live)
    }
}

/// The storage engine of one broker.
#[derive(Debug)]
pub struct MessageStore {
    pub(crate) inner: Arc<StoreInner>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

fn validate_config(config: &MessageStoreConfig) -> Result<()> {
    if config.mapped_file_size_commit_log < MIN_COMMIT_LOG_FILE_SIZE {
        return Err(StoreError::InvalidArgument(format!(
            "mappedFileSizeCommitLog {} is below {MIN_COMMIT_LOG_FILE_SIZE}",
            config.mapped_file_size_commit_log
        )));
    }
    if config.max_hash_slot_num == 0 || config.max_index_num < 2 {
        return Err(StoreError::InvalidArgument(
            "maxHashSlotNum must be > 0 and maxIndexNum > 1".to_owned(),
        ));
    }
    Ok(())
}

impl MessageStore {
    /// Opens the store on `disk` (rooted at `storePathRootDir`) and recovers it.
    pub fn open(disk: DiskRef, config: MessageStoreConfig) -> Result<Arc<Self>> {
        validate_config(&config)?;
        let commit_log = CommitLog::load(
            disk.clone(),
            config.mapped_file_size_commit_log,
            config.max_message_size,
            config.enabled_append_prop_crc,
        )?;
        let queues = ConsumeQueueTable::load(disk.clone(), config.consume_queue_file_size())?;
        let index = if config.message_index_enable {
            Some(IndexService::load(disk.clone(), config.max_hash_slot_num, config.max_index_num)?)
        } else {
            None
        };
        let dispatcher = Dispatcher::new(config.delay_level_millis());
        let report =
            recovery::recover(disk.as_ref(), &commit_log, &queues, index.as_ref(), &dispatcher)?;
        create_abort_file(disk.as_ref())?;
        let (tx, rx) = flush::group_commit_channel();
        let inner = Arc::new(StoreInner {
            disk,
            config,
            commit_log,
            queues,
            index,
            dispatcher,
            dispatch_notify: Notify::new(),
            group_commit: tx,
            group_commit_rx: Mutex::new(Some(rx)),
            listener: RwLock::new(None),
            running: AtomicBool::new(false),
            stop: Arc::new(Latch::new()),
            recovery: report,
        });
        Ok(Arc::new(Self { inner, tasks: Mutex::new(Vec::new()) }))
    }

    /// The settings the store runs with.
    pub fn config(&self) -> &MessageStoreConfig {
        &self.inner.config
    }

    /// What recovery found at open.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    /// Installs the hook told of every dispatched record (long polling).
    pub fn set_arriving_listener(&self, listener: Arc<dyn MessageArrivingListener>) {
        *self.inner.listener.write().unwrap_or_else(|e| e.into_inner()) = Some(listener);
    }

    /// Starts the background tasks; puts are accepted from now on. Must run inside the runtime.
    pub fn start(&self) -> Result<()> {
        let rx = self.inner.group_commit_rx.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(rx) = rx else {
            return Err(StoreError::InvalidArgument("store already started".to_owned()));
        };
        let inner = &self.inner;
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        let stop = || Arc::clone(&inner.stop);
        tasks.push(match inner.config.flush_disk_type {
            FlushDiskType::SyncFlush => {
                tokio::spawn(flush::group_commit_loop(Arc::clone(inner), rx, stop()))
            }
            FlushDiskType::AsyncFlush => {
                tokio::spawn(flush::async_flush_loop(Arc::clone(inner), stop()))
            }
        });
        tasks.push(tokio::spawn(prefault::prefault_loop(Arc::clone(inner), stop())));
        tasks.push(tokio::spawn(dispatch_loop(Arc::clone(inner), stop())));
        tasks.push(tokio::spawn(flush::checkpoint_loop(Arc::clone(inner), stop())));
        tasks.push(tokio::spawn(clean_loop(Arc::clone(inner), stop())));
        inner.running.store(true, Ordering::Release);
        Ok(())
    }

    /// Stops the tasks, flushes everything, writes the checkpoint and removes the `abort` marker
    /// so the next open runs normal recovery. A poisoned store keeps the marker and reports why.
    pub async fn shutdown(&self) -> Result<()> {
        self.inner.running.store(false, Ordering::Release);
        self.inner.stop.set();
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            if let Err(e) = t.await {
                tracing::warn!(error = %e, "store task ended abnormally");
            }
        }
        self.inner.commit_log.flush()?;
        self.inner.dispatch_available()?;
        flush::write_checkpoint(&self.inner)?;
        remove_abort_file(self.inner.disk.as_ref())
    }

    /// Appends one message (RocketMQ `putMessage`).
    pub async fn put_message(&self, msg: &MessageExtBrokerInner) -> PutMessageResult {
        self.put_messages(std::slice::from_ref(msg)).await
    }

    /// Appends several messages as one batch (RocketMQ `putMessages`): consecutive records with
    /// consecutive queue offsets, one lock acquisition, one write and one flush wait.
    pub async fn put_messages(&self, msgs: &[MessageExtBrokerInner]) -> PutMessageResult {
        if !self.inner.running.load(Ordering::Acquire) {
            return PutMessageResult::failed(PutMessageStatus::ServiceNotAvailable);
        }
        let now = rt::clock::now_millis() as i64;
        let outcome = match self.inner.commit_log.append(msgs, now) {
            Ok(o) => o,
            Err(status) => return PutMessageResult::failed(status),
        };
        let append = append_result(&self.inner.commit_log, msgs, &outcome);
        let status = match self.inner.config.flush_disk_type {
            // The dispatcher picks the record up within DISPATCH_INTERVAL; waking it per put
            // would cost a cross-thread wakeup per message.
            FlushDiskType::AsyncFlush => PutMessageStatus::PutOk,
            FlushDiskType::SyncFlush => self.wait_flushed(outcome.end()).await,
        };
        PutMessageResult { status, append: Some(append) }
    }

    /// Waits until the group commit covers `end`.
    async fn wait_flushed(&self, end: u64) -> PutMessageStatus {
        let (tx, rx) = oneshot::channel();
        let request = GroupCommitRequest { end, done: tx };
        let wait = async {
            self.inner.group_commit.send(request).await.map_err(|_| "flush task stopped")?;
            match rx.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err("flush failed"),
                Err(_) => Err("flush task stopped"),
            }
        };
        match tokio::time::timeout(self.inner.config.sync_flush_timeout(), wait).await {
            Ok(Ok(())) => PutMessageStatus::PutOk,
            Ok(Err(why)) => {
                tracing::warn!(why, end, "SYNC_FLUSH put not acknowledged");
                PutMessageStatus::ServiceNotAvailable
            }
            Err(_) => PutMessageStatus::FlushDiskTimeout,
        }
    }

    /// Why the store refuses puts after a failed fsync, if it does.
    pub fn poison_reason(&self) -> Option<String> {
        self.inner.commit_log.poison_reason()
    }

    /// Syncs the CommitLog now; returns the flushed offset.
    pub fn flush(&self) -> Result<u64> {
        self.inner.commit_log.flush()
    }

    /// Faults in the next `bytes` of the CommitLog (creating segments as needed) and returns when
    /// done, so that appends into them take no page fault. Blocks: call it outside the async
    /// workers (at startup, or between benchmark samples); the put path has its own warmer.
    pub fn prefault_commit_log(&self, bytes: u64) -> Result<()> {
        prefault::prefault_now(&self.inner.commit_log, bytes)
    }

    /// Syncs ConsumeQueues and index and writes the checkpoint now.
    pub fn checkpoint(&self) -> Result<StoreCheckpoint> {
        flush::write_checkpoint(&self.inner)
    }

    /// Dispatches whatever is ready now (the dispatch task does this on its own).
    pub fn dispatch_now(&self) -> Result<u64> {
        self.inner.dispatch_available()
    }

    /// CommitLog offset up to which every record is in its ConsumeQueue and the index.
    pub fn dispatched_offset(&self) -> u64 {
        self.inner.dispatcher.dispatched()
    }

    /// Waits until the dispatcher has reached `offset` (e.g. a put's end).
    pub async fn wait_dispatched(&self, offset: u64) {
        self.inner.dispatcher.wait_dispatched(offset).await;
    }

    /// One retention pass as if the time were `now_millis`.
    pub fn clean_expired(&self, now_millis: i64) -> Result<CleanResult> {
        let inner = &self.inner;
        retention::clean_expired(
            inner.disk.as_ref(),
            &inner.config,
            &inner.commit_log,
            &inner.queues,
            inner.index.as_ref(),
            inner.dispatcher.dispatched(),
            now_millis,
        )
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        // Without shutdown this is a crash: stop the tasks where they stand, flush nothing.
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            t.abort();
        }
    }
}

fn append_result(
    commit_log: &CommitLog,
    msgs: &[MessageExtBrokerInner],
    o: &AppendOutcome,
) -> AppendMessageResult {
    let mut msg_id = String::with_capacity(msgs.len() * (MAX_MSG_ID_LEN + 1));
    let mut offset = o.wrote_offset;
    for (i, m) in msgs.iter().enumerate() {
        if i > 0 {
            msg_id.push(',');
        }
        push_offset_msg_id(&mut msg_id, &m.store_host, offset as i64);
        offset += commit_log.record_len(m) as u64;
    }
    AppendMessageResult {
        wrote_offset: o.wrote_offset as i64,
        wrote_bytes: o.wrote_bytes as i32,
        msg_id,
        store_timestamp: o.store_timestamp,
        logics_offset: o.first_queue_offset,
        msg_num: o.msg_num as i32,
    }
}

async fn dispatch_loop(store: Arc<StoreInner>, stop: Arc<Latch>) {
    loop {
        tokio::select! {
            biased;
            _ = stop.wait() => break,
            _ = store.dispatch_notify.notified() => {}
            _ = tokio::time::sleep(DISPATCH_INTERVAL) => {}
        }
        if let Err(e) = store.dispatch_available() {
            tracing::error!(error = %e, "dispatch failed; retrying");
            // A ConsumeQueue or index file whose creation sync failed fails every later sync
            // (fsyncgate), so dispatch would stop for good behind it while puts were still
            // acknowledged and never became readable. Poisoned, the store refuses puts until a
            // restart, whose recovery rebuilds the queues from the CommitLog.
            if e.is_sync_failure() {
                store.commit_log.poison(format!("dispatch: {e}"));
            }
        }
    }
}

async fn clean_loop(store: Arc<StoreInner>, stop: Arc<Latch>) {
    let period = Duration::from_millis(store.config.clean_resource_interval.max(1));
    loop {
        tokio::select! {
            biased;
            _ = stop.wait() => break,
            _ = tokio::time::sleep(period) => {}
        }
        let inner = &store;
        let result = retention::clean_expired(
            inner.disk.as_ref(),
            &inner.config,
            &inner.commit_log,
            &inner.queues,
            inner.index.as_ref(),
            inner.dispatcher.dispatched(),
            rt::clock::now_millis() as i64,
        );
        if let Err(e) = result {
            tracing::error!(error = %e, "retention pass failed");
        }
    }
}
