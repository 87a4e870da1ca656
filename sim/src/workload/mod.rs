//! Workloads: producers and consumers on client nodes that record everything they do.
//!
//! Values: producer `p`'s `n`-th message carries value `p * VALUES_PER_PRODUCER + n` in a body
//! `v<value>:<padding>`, so a delivered body names the send it came from. Send outcomes map onto
//! the checker's three completions:
//! - `ok`: SEND_OK, with the queue, offset and message id the broker acknowledged;
//! - `fail`: a broker error that proves nothing was stored (the topic or permission is missing,
//!   the message is illegal); producers never retry internally, so one attempt is one op;
//! - `info`: anything else (timeouts, lost connections, FLUSH_DISK_TIMEOUT, a poisoned store's
//!   error): the message may or may not have been stored.
//!
//! Invariants checked while the run goes on, drawing no randomness so that checking them does
//! not change the trace: every record a consumer gets has a body whose CRC matches the stored
//! BODYCRC, and a group's committed offset on a broker goes backwards while that broker stays
//! up only to an offset the group committed before. RocketMQ's broker keeps the last commit it
//! receives, and a commit the client sent on a connection it then gave up (a request timed out
//! in a partition) is still delivered when the network heals, after newer commits sent on a new
//! connection; the group's next commit moves the offset forward again. Anything else that moves
//! it back is a bug. (A power cut may take the broker back to its last persisted offsets, and
//! after an ASYNC_FLUSH power cut took back a queue's tail the consumer's offset is corrected
//! down to the queue's new end; both are allowed. So is any regression in a group of push
//! consumers that rebalance: a consumer letting a queue go writes its offset, which can land
//! after the new owner's commit.) At the end, after a quiet period in which
//! such stray commits have landed, the ordered workloads' consumer commits once more and the
//! broker must then hold exactly the offsets it committed: a commit that was acknowledged but
//! dropped shows there.

pub mod batch;
pub mod consumer;
pub mod ordered;
pub mod queue;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use checker::{ProcessId, QueueId, ValueId};
use client::{MQClientError, MessageExt, ProducerOptions, SendResult, SendStatus};
use protocol::ResponseCode;

use crate::cluster::Cluster;
use crate::trace::{Pending, Recorder};

/// Values per producer: producer `p` sends `p * VALUES_PER_PRODUCER ..`.
pub const VALUES_PER_PRODUCER: u64 = 1_000_000;
/// First process id of producers (the nemesis is 0, the harness 1).
pub const PRODUCER_PROCESS_BASE: ProcessId = 100;
/// First process id of consumers; every consumer incarnation gets a new one.
pub const CONSUMER_PROCESS_BASE: ProcessId = 200;
/// The harness's process id (drain markers).
pub const HARNESS_PROCESS: ProcessId = 1;

/// An acknowledged value: where and when.
#[derive(Debug, Clone)]
pub struct Ack {
    /// The broker group that acknowledged it.
    pub broker: String,
    /// The queue and offset it was acknowledged at.
    pub queue: QueueId,
    /// Its queue offset.
    pub offset: i64,
    /// When the producer got the acknowledgement (simulated ms since the run began).
    pub at_ms: u64,
}

/// What the workload knows, for liveness and the durability contract.
#[derive(Debug, Default)]
pub struct State {
    /// Acknowledged values.
    pub acked: BTreeMap<ValueId, Ack>,
    /// Values some consumer of the checked group received.
    pub received: BTreeSet<ValueId>,
    /// Sends invoked, and how many ended ok after the nemesis healed.
    pub sends: u64,
    /// SEND_OK after the heal: producers resumed.
    pub acked_after_heal: u64,
    /// Broken run-time invariants.
    pub violations: Vec<String>,
    /// Last committed offset seen per (broker incarnation, group, queue).
    committed: BTreeMap<(usize, u64, String, QueueId), i64>,
    /// Every offset a group sent (or was seen holding) per queue: where a stray, late commit
    /// may take the broker back to.
    sent_offsets: BTreeMap<(String, QueueId), BTreeSet<i64>>,
}

/// Everything a workload task needs; cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    /// The cluster.
    pub cluster: Arc<Cluster>,
    /// The run's recorder.
    pub rec: Recorder,
    state: Arc<Mutex<State>>,
    /// Producers stop when set.
    pub stop_producers: Arc<AtomicBool>,
    /// Consumers stop when set.
    pub stop_consumers: Arc<AtomicBool>,
    /// Set once the nemesis healed everything.
    pub healed: Arc<AtomicBool>,
}

impl Ctx {
    /// A context over `cluster` recording into `rec`.
    pub fn new(cluster: Arc<Cluster>, rec: Recorder) -> Self {
        Self {
            cluster,
            rec,
            state: Arc::default(),
            stop_producers: Arc::default(),
            stop_consumers: Arc::default(),
            healed: Arc::default(),
        }
    }

    /// The shared state.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether producers should stop.
    pub fn producers_stopped(&self) -> bool {
        self.stop_producers.load(Ordering::Relaxed)
    }

    /// Whether consumers should stop.
    pub fn consumers_stopped(&self) -> bool {
        self.stop_consumers.load(Ordering::Relaxed)
    }

    /// Records an invariant violation (the run fails at the end, with the trace).
    pub fn violation(&self, what: String) {
        self.rec.note(&format!("INVARIANT VIOLATED: {what}"));
        self.state().violations.push(what);
    }

    /// Records the outcome of a single send.
    pub fn record_send(&self, topic: &str, pending: Pending, result: &client::Result<SendResult>) {
        match result {
            Ok(r) => self.record_batch_item(topic, pending, r, 0),
            Err(e) => self.record_error(pending, e),
        }
    }

    /// Records the outcome for the `index`-th message of an acknowledged batch (or a single
    /// send, index 0): its offset is the first offset plus its index.
    pub fn record_batch_item(&self, topic: &str, pending: Pending, r: &SendResult, index: usize) {
        if r.send_status != SendStatus::SendOk {
            self.rec.send_info(pending, &format!("{:?}", r.send_status));
            return;
        }
        let value = pending.value;
        let broker = r.message_queue.broker_name.clone();
        let queue = QueueId::new(topic, broker.clone(), r.message_queue.queue_id);
        let msg_id = r.msg_id.split(',').nth(index).unwrap_or_default().to_owned();
        let offset = r.queue_offset + index as i64;
        self.rec.send_ok(pending, queue.clone(), offset, msg_id);
        let at_ms = self.rec.now_ms();
        let healed = self.healed.load(Ordering::Relaxed);
        let mut st = self.state();
        st.acked.insert(value, Ack { broker, queue, offset, at_ms });
        if healed {
            st.acked_after_heal += 1;
        }
    }

    /// Records a failed send: `fail` only when the broker proved nothing was stored.
    pub fn record_error(&self, pending: Pending, e: &MQClientError) {
        let definite = !e.is_transport()
            && matches!(
                e.response_code(),
                Some(
                    ResponseCode::TOPIC_NOT_EXIST
                        | ResponseCode::NO_PERMISSION
                        | ResponseCode::MESSAGE_ILLEGAL
                )
            );
        let why = error_summary(e);
        if definite {
            self.rec.send_fail(pending, &why);
        } else {
            self.rec.send_info(pending, &why);
        }
    }

    /// Checks a delivered record and records its receipt by `group`. Returns false (after
    /// recording a violation) if it is not a record this run sent intact.
    pub fn on_receive(
        &self,
        process: ProcessId,
        group: &str,
        m: &MessageExt,
        broker: Option<String>,
    ) -> bool {
        let crc = protocol::message::record::body_crc(&m.body);
        if crc != m.body_crc {
            self.violation(format!(
                "{group} got a record with a bad body CRC at {}:{}@{} (stored {:#x}, computed {crc:#x})",
                m.topic, m.queue_id, m.queue_offset, m.body_crc
            ));
            return false;
        }
        let Some(value) = parse_value(&m.body) else {
            self.violation(format!(
                "{group} got a body this run never wrote at {}:{}@{}",
                m.topic, m.queue_id, m.queue_offset
            ));
            return false;
        };
        let broker =
            broker.or_else(|| self.cluster.broker_of_store_host(&m.store_host)).unwrap_or_default();
        let queue = QueueId::new(m.topic.clone(), broker, m.queue_id);
        let reconsume = u32::try_from(m.reconsume_times).unwrap_or(0);
        self.rec.receive(process, group, value, queue, m.queue_offset, reconsume);
        self.state().received.insert(value);
        true
    }

    /// Notes that `group` is about to commit `offsets`: a copy of such a commit may land late.
    pub fn commit_sent(&self, group: &str, offsets: &BTreeMap<QueueId, i64>) {
        let mut st = self.state();
        for (q, offset) in offsets {
            st.sent_offsets.entry((group.to_owned(), q.clone())).or_default().insert(*offset);
        }
    }

    /// Checks that `group`'s committed offsets on every running broker did not go back since
    /// last looked at within the same broker incarnation, other than to an offset the group
    /// sent or held before (a stray commit landing late) or after an ASYNC_FLUSH power cut of
    /// that broker took back the log's tail. Reads broker memory only.
    ///
    /// `rebalancing`: the group's consumers hand queues over in rebalances, and one that lets a
    /// queue go writes its offset for it, which can land after, and below, the new owner's
    /// commit; RocketMQ's broker keeps the last commit it got, so such a group's offsets may
    /// go back to values this check never saw sent (as `CheckOptions::subscribe` allows).
    /// Regressions are then noted in the trace, not failed.
    pub fn check_committed(&self, group: &str, topic: &str, queues: &[QueueId], rebalancing: bool) {
        for n in 0..self.cluster.spec().brokers {
            let Some((incarnation, controller)) = self.cluster.incarnation(n) else { continue };
            let name = crate::cluster::broker_name(n);
            for q in queues.iter().filter(|q| q.broker == name) {
                let now = controller.consumer_offset_manager.query_offset(group, topic, q.queue_id);
                if now < 0 {
                    continue;
                }
                let key = (n, incarnation, group.to_owned(), q.clone());
                let (before, stray) = {
                    let mut st = self.state();
                    let before = st.committed.insert(key, now);
                    let sent = st.sent_offsets.entry((group.to_owned(), q.clone())).or_default();
                    let stray = sent.contains(&now);
                    if let Some(b) = before {
                        sent.insert(b);
                    }
                    (before, stray)
                };
                let Some(before) = before.filter(|&b| now < b) else { continue };
                let what = format!(
                    "{group}'s committed offset on {name}:{} went back from {before} to {now}",
                    q.queue_id
                );
                if stray {
                    self.rec.note(&format!("{what}: a stray commit landed late"));
                } else if rebalancing {
                    self.rec.note(&format!("{what}: a rebalanced queue's late hand-over write"));
                } else if self.cluster.had_lossy_cut(n) {
                    self.rec.note(&format!("{what}: after an ASYNC_FLUSH power cut"));
                } else {
                    self.violation(what);
                }
            }
        }
    }

    /// Checks that `group`'s committed offsets on the running brokers are exactly `offsets`
    /// (right after a commit the broker acknowledged, with no stray commit left in flight).
    pub fn check_committed_exactly(
        &self,
        group: &str,
        topic: &str,
        offsets: &BTreeMap<QueueId, i64>,
    ) {
        for n in 0..self.cluster.spec().brokers {
            let Some(controller) = self.cluster.controller(n) else { continue };
            let name = crate::cluster::broker_name(n);
            for (q, &want) in offsets.iter().filter(|(q, _)| q.broker == name) {
                let got = controller.consumer_offset_manager.query_offset(group, topic, q.queue_id);
                if got != want {
                    self.violation(format!(
                        "{group} committed {want} on {name}:{} and the broker acknowledged it, \
                         yet it holds {got}",
                        q.queue_id
                    ));
                }
            }
        }
    }

    /// Values acknowledged but not (yet) received by the checked group.
    pub fn missing(&self) -> Vec<ValueId> {
        let st = self.state();
        st.acked.keys().filter(|v| !st.received.contains(v)).copied().collect()
    }
}

/// Producer options of every workload: no internal retries, so each attempt is one history op
/// whose outcome the client reports truthfully.
pub fn producer_options() -> ProducerOptions {
    ProducerOptions { retry_times_when_send_failed: 0, ..ProducerOptions::default() }
}

/// The body of `value`: the value, then padding that varies with it so records differ in size.
pub fn body(value: ValueId) -> String {
    let pad = (value % 97) as usize + 40;
    format!("v{value}:{}", "x".repeat(pad))
}

/// The value a body names.
pub fn parse_value(body: &[u8]) -> Option<ValueId> {
    let text = std::str::from_utf8(body).ok()?;
    let (head, _) = text.split_once(':')?;
    head.strip_prefix('v')?.parse().ok()
}

/// A short, stable description of a client error for the trace.
fn error_summary(e: &MQClientError) -> String {
    match e.response_code() {
        Some(code) => format!("code {code}"),
        None if e.is_transport() => "transport".to_owned(),
        None => {
            let text = e.to_string();
            text.split(':').next().unwrap_or_default().chars().take(40).collect()
        }
    }
}
