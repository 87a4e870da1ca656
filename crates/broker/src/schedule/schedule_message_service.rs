//! The service that holds delay-level messages back (RocketMQ `ScheduleMessageService`): one
//! task per level walks the level's queue of `SCHEDULE_TOPIC_XXXX` from its saved offset and
//! re-puts each message to its real topic once it falls due.
//!
//! Why one task per level, as RocketMQ runs one timer task per level: within a level every
//! message has the same delay and the store stamps store times in append order, so a level's
//! queue is in deliver-time order and its task only ever waits for its head. A single task
//! over all levels would have to merge eighteen such heads for no gain, and one level stuck
//! retrying a re-put would stall the others. An idle level costs one timer.

use std::sync::Arc;
use std::time::Duration;

use protocol::message::decode_message;
use rt::disk::DiskRef;
use rt::sync::Latch;
use store::{MessageStore, PutMessageStatus};
use tokio::task::JoinHandle;

use super::delay_level::{delay_level_to_queue_id, deliver_timestamp, DelayLevelTable};
use super::delay_offset::{DelayOffsetSerializeWrapper, DelayOffsetTable};
use super::transform::{message_timeup, transform_delay_level_message};
use crate::error::{BrokerError, Result};
use crate::topic_validator::SCHEDULE_TOPIC;

/// How long an empty level waits before looking again (RocketMQ `DELAY_FOR_A_WHILE`).
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The longest a level sleeps for a head that is not due, so that a wall clock that jumps
/// forward (the deliver time is wall-clock time, the sleep is monotonic) is noticed soon.
const MAX_WAIT: Duration = Duration::from_secs(1);
/// First and longest wait before re-putting again after the store refused a re-put.
const RETRY_BACKOFF_MIN: Duration = Duration::from_millis(100);
const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(10);
/// Messages one level re-puts before it looks at the stop signal again.
const MAX_DELIVERIES_PER_ROUND: usize = 256;

/// The delay levels and how far each has delivered.
#[derive(Debug)]
pub struct ScheduleMessageService {
    delay_level_table: DelayLevelTable,
    offset_table: DelayOffsetTable,
}

impl ScheduleMessageService {
    /// Parses `messageDelayLevel` and loads `config/delayOffset.json`.
    pub fn load(disk: DiskRef, message_delay_level: &str) -> Result<Self> {
        let delay_level_table = DelayLevelTable::parse(message_delay_level)
            .map_err(|e| BrokerError::Config(format!("messageDelayLevel: {e}")))?;
        Ok(Self { delay_level_table, offset_table: DelayOffsetTable::load(disk)? })
    }

    /// The delay levels.
    pub fn delay_level_table(&self) -> &DelayLevelTable {
        &self.delay_level_table
    }

    /// The highest delay level (RocketMQ `maxDelayLevel`).
    pub fn max_delay_level(&self) -> i32 {
        self.delay_level_table.max_level()
    }

    /// The offset table in RocketMQ's JSON shape (GET_ALL_DELAY_OFFSET).
    pub fn offset_table(&self) -> DelayOffsetSerializeWrapper {
        self.offset_table.wrapper()
    }

    /// The next queue offset `level` will deliver.
    pub fn offset(&self, level: i32) -> i64 {
        self.offset_table.offset(level)
    }

    /// Writes `config/delayOffset.json` if an offset moved.
    pub fn persist(&self) -> Result<()> {
        self.offset_table.persist()
    }

    /// The put-side rewrite (see [`transform_delay_level_message`]) with this broker's levels.
    pub fn transform_delay_level_message(
        &self,
        msg: &mut protocol::message::MessageExtBrokerInner,
    ) -> Result<bool, protocol::ProtocolError> {
        transform_delay_level_message(msg, &self.delay_level_table)
    }

    /// Starts one delivery task per level and the periodic persist; they end when `stop` is
    /// set. The caller persists once more after joining them.
    pub fn start(
        self: &Arc<Self>,
        store: &Arc<MessageStore>,
        flush_delay_offset_interval: Duration,
        stop: &Arc<Latch>,
    ) -> Vec<JoinHandle<()>> {
        let mut tasks: Vec<JoinHandle<()>> = self
            .delay_level_table
            .levels()
            .map(|level| {
                tokio::spawn(deliver_loop(self.clone(), store.clone(), level, stop.clone()))
            })
            .collect();
        tasks.push(tokio::spawn(persist_loop(
            self.clone(),
            flush_delay_offset_interval,
            stop.clone(),
        )));
        tasks
    }

    /// Brings a level's saved offset inside its queue (RocketMQ `correctDelayOffset`): below
    /// the queue's minimum, its messages were removed by retention; above its maximum, the
    /// store lost a tail in a crash after the offset was saved, and the messages appended
    /// there since must not be skipped.
    fn correct_delay_offset(&self, store: &MessageStore, level: i32) {
        let queue_id = delay_level_to_queue_id(level);
        let offset = self.offset(level);
        let min = store.min_offset_in_queue(SCHEDULE_TOPIC, queue_id);
        let max = store.max_offset_in_queue(SCHEDULE_TOPIC, queue_id);
        let corrected = offset.clamp(min, max.max(min));
        if corrected != offset {
            tracing::warn!(level, offset, min, max, "delay offset outside its queue, corrected");
        }
        // Written even when unchanged, so that the table lists every level, as RocketMQ's does
        // once each level's task has run.
        self.offset_table.update_offset(level, corrected);
    }

    /// Re-puts the due messages at the head of `level`'s queue; returns how long to wait
    /// before looking again. `failures` counts consecutive refused re-puts, for the back-off.
    async fn deliver_due(&self, store: &MessageStore, level: i32, failures: &mut u32) -> Duration {
        let queue_id = delay_level_to_queue_id(level);
        let Some(delay) = self.delay_level_table.delay_millis(level) else {
            return POLL_INTERVAL;
        };
        for _ in 0..MAX_DELIVERIES_PER_ROUND {
            let offset = self.offset(level);
            let min = store.min_offset_in_queue(SCHEDULE_TOPIC, queue_id);
            if offset < min {
                tracing::warn!(level, offset, min, "scheduled messages removed before delivery");
                self.offset_table.update_offset(level, min);
                continue;
            }
            // None: nothing stored there yet (or, rarely, a queue file being removed, which
            // moves the minimum and is handled above next time).
            let Some(entry) = store.consume_queue_entry(SCHEDULE_TOPIC, queue_id, offset) else {
                return POLL_INTERVAL;
            };
            let record = store
                .select_one_message_by_offset(entry.commit_log_offset, entry.size.max(0) as usize);
            // CRC checked: the re-put gives the message a fresh CRC, so a record damaged on
            // disk or in the read would otherwise be delivered as if it were sound.
            let msg = match record.map(|r| decode_message(&r, true)) {
                Some(Ok(msg)) => msg,
                // A queue entry whose record cannot be read (or fails its CRC) can never be
                // delivered; RocketMQ skips it too rather than stall the level behind it.
                Some(Err(e)) => {
                    let e = e.to_string();
                    tracing::error!(level, offset, e, "unreadable scheduled message skipped");
                    self.offset_table.update_offset(level, offset + 1);
                    continue;
                }
                None => {
                    tracing::error!(level, offset, "missing scheduled message skipped");
                    self.offset_table.update_offset(level, offset + 1);
                    continue;
                }
            };
            let now = rt::clock::now_millis() as i64;
            let deliver = deliver_timestamp(msg.store_timestamp, delay, now);
            if deliver > now {
                let wait = Duration::from_millis(u64::try_from(deliver - now).unwrap_or(0));
                return wait.min(MAX_WAIT);
            }
            let inner = match message_timeup(&msg) {
                Ok(inner) => inner,
                Err(e) => {
                    let e = e.to_string();
                    tracing::error!(
                        level,
                        offset,
                        e,
                        "scheduled message has no destination, skipped"
                    );
                    self.offset_table.update_offset(level, offset + 1);
                    continue;
                }
            };
            let status = store.put_message(&inner).await.status;
            match status {
                // Stored (a flush or replica timeout does not undo the append).
                PutMessageStatus::PutOk
                | PutMessageStatus::FlushDiskTimeout
                | PutMessageStatus::FlushSlaveTimeout
                | PutMessageStatus::SlaveNotAvailable => {
                    *failures = 0;
                    self.offset_table.update_offset(level, offset + 1);
                }
                // The message itself is refused and always will be: retrying would stall the
                // level forever (RocketMQ would retry it forever).
                PutMessageStatus::MessageIllegal | PutMessageStatus::PropertiesSizeExceeded => {
                    tracing::error!(level, offset, status = status.as_str(), topic = %inner.topic,
                        "scheduled message refused by the store, skipped");
                    self.offset_table.update_offset(level, offset + 1);
                }
                // The store cannot take it now (shutting down, disk full or failed, busy):
                // try the same message again later, never skip it.
                _ => {
                    let wait = retry_backoff(*failures);
                    *failures = failures.saturating_add(1);
                    tracing::warn!(
                        level,
                        offset,
                        status = status.as_str(),
                        ?wait,
                        "re-put of a scheduled message failed, will retry"
                    );
                    return wait;
                }
            }
        }
        Duration::ZERO
    }
}

/// The wait after `failures` consecutive refused re-puts: doubling from
/// [`RETRY_BACKOFF_MIN`] up to [`RETRY_BACKOFF_MAX`] (RocketMQ waits a flat 10 s).
fn retry_backoff(failures: u32) -> Duration {
    RETRY_BACKOFF_MIN.saturating_mul(1u32 << failures.min(16)).min(RETRY_BACKOFF_MAX)
}

async fn deliver_loop(
    service: Arc<ScheduleMessageService>,
    store: Arc<MessageStore>,
    level: i32,
    stop: Arc<Latch>,
) {
    service.correct_delay_offset(&store, level);
    let mut failures = 0;
    loop {
        if stop.is_set() {
            return;
        }
        let wait = service.deliver_due(&store, level, &mut failures).await;
        tokio::select! {
            biased;
            _ = stop.wait() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

async fn persist_loop(service: Arc<ScheduleMessageService>, period: Duration, stop: Arc<Latch>) {
    loop {
        tokio::select! {
            biased;
            _ = stop.wait() => return,
            _ = tokio::time::sleep(period) => {}
        }
        if let Err(e) = service.persist() {
            tracing::error!(error = %e, "persisting delay offsets failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use bytes::Bytes;
    use protocol::message::properties::encode_properties;
    use protocol::message::MessageExtBrokerInner;
    use rt::disk::{SimDisk, SimDiskConfig};
    use store::MessageStoreConfig;

    use super::*;

    fn store_config() -> MessageStoreConfig {
        MessageStoreConfig {
            mapped_file_size_commit_log: 64 * 1024,
            mapped_file_size_consume_queue: 20 * 64,
            max_hash_slot_num: 16,
            max_index_num: 64,
            ..MessageStoreConfig::default()
        }
    }

    fn delayed(level: &str) -> MessageExtBrokerInner {
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        MessageExtBrokerInner {
            topic: "T".into(),
            queue_id: 1,
            flag: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: host,
            store_timestamp: 0,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"b"),
            properties: encode_properties([("DELAY", level), ("UNIQ_KEY", "U")]).unwrap(),
            tags_code: 0,
        }
    }

    /// The head waits until due, is then re-put and the offset moves past it; a re-put the
    /// store refuses leaves the offset where it was, to be retried.
    #[tokio::test]
    async fn delivers_when_due_and_never_skips_a_refused_re_put() {
        let disk = SimDisk::new(SimDiskConfig::with_seed(3)).as_disk_ref();
        let store = MessageStore::open(disk.clone(), store_config()).unwrap();
        store.start().unwrap();
        let service = ScheduleMessageService::load(disk, "1s 1h").unwrap();
        let mut failures = 0;
        assert_eq!(service.deliver_due(&store, 1, &mut failures).await, POLL_INTERVAL);

        for level in ["1", "2"] {
            let mut m = delayed(level);
            assert!(service.transform_delay_level_message(&mut m).unwrap());
            assert_eq!(store.put_message(&m).await.status, PutMessageStatus::PutOk);
        }
        store.wait_dispatched(store.max_phy_offset()).await;
        // Level 2 (1 h) is not due: wait, at most MAX_WAIT, and stay put.
        assert_eq!(service.deliver_due(&store, 2, &mut failures).await, MAX_WAIT);
        assert_eq!(service.offset(2), 0);
        // Level 1 (1 s): not due at once, then due.
        let wait = service.deliver_due(&store, 1, &mut failures).await;
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(service.offset(1), 0);
        tokio::time::sleep(wait + Duration::from_millis(20)).await;
        assert_eq!(service.deliver_due(&store, 1, &mut failures).await, POLL_INTERVAL);
        assert_eq!(service.offset(1), 1);
        store.wait_dispatched(store.max_phy_offset()).await;
        assert_eq!(store.max_offset_in_queue("T", 1), 1);

        // Another due message, but the store has stopped taking puts.
        let mut m = delayed("1");
        assert!(service.transform_delay_level_message(&mut m).unwrap());
        assert_eq!(store.put_message(&m).await.status, PutMessageStatus::PutOk);
        store.wait_dispatched(store.max_phy_offset()).await;
        tokio::time::sleep(Duration::from_millis(1_020)).await;
        store.shutdown().await.unwrap();
        assert_eq!(service.deliver_due(&store, 1, &mut failures).await, retry_backoff(0));
        assert_eq!(service.deliver_due(&store, 1, &mut failures).await, retry_backoff(1));
        assert_eq!(service.offset(1), 1, "a refused re-put is retried, not skipped");
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(retry_backoff(0), Duration::from_millis(100));
        assert_eq!(retry_backoff(1), Duration::from_millis(200));
        assert_eq!(retry_backoff(3), Duration::from_millis(800));
        assert_eq!(retry_backoff(7), RETRY_BACKOFF_MAX);
        assert_eq!(retry_backoff(u32::MAX), RETRY_BACKOFF_MAX);
    }
}
