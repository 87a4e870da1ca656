//! The run's recorder: the checker's history plus an ordered event trace and its hash.
//!
//! Every history op and every nemesis action is also written as one line of text stamped with
//! the simulated time since the run began (`<millis> <event>`). The lines are folded into a
//! 64-bit FNV-1a hash as they are written, so two runs of one seed must end with the same hash:
//! that is the determinism the trace-hash test pins. Only the last [`TAIL_LINES`] lines are
//! kept in memory, to print beside a failure; `SIM_TRACE=1` prints every line as it is written,
//! to follow a failing seed from its start.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use checker::{History, HistoryBuilder, PendingSend, ProcessId, QueueId, ValueId};

/// An invoked send awaiting its outcome (the checker's token plus who sent what).
#[derive(Debug)]
#[must_use = "complete the send with send_ok, send_fail or send_info"]
pub struct Pending {
    send: PendingSend,
    /// The sending process.
    pub process: ProcessId,
    /// The body id.
    pub value: ValueId,
}
use tokio::time::Instant;

/// Lines of trace kept for the failure report.
pub const TAIL_LINES: usize = 60;

/// The process id nemesis actions are recorded under in the history.
pub const NEMESIS_PROCESS: ProcessId = 0;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over `bytes`, continuing from `hash`.
pub fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

struct Inner {
    history: HistoryBuilder,
    start: Instant,
    hash: u64,
    lines: u64,
    tail: VecDeque<String>,
    /// Every nemesis and note line (few), for the failure report.
    events: Vec<String>,
    /// `SIM_TRACE` was set: print each line as it is written.
    echo: bool,
}

/// A shared recorder; clones record into the same history and trace.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Mutex<Inner>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty recorder whose clock starts now.
    pub fn new() -> Self {
        let inner = Inner {
            history: HistoryBuilder::new(),
            start: Instant::now(),
            hash: FNV_OFFSET,
            lines: 0,
            tail: VecDeque::new(),
            events: Vec::new(),
            echo: std::env::var_os("SIM_TRACE").is_some(),
        };
        Self { inner: Arc::new(Mutex::new(inner)) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The simulation runs on one thread; a poisoned lock only follows a panic that already
        // fails the run, so keep recording rather than cascade.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Simulated milliseconds since the run began.
    pub fn now_ms(&self) -> u64 {
        self.lock().start.elapsed().as_millis() as u64
    }

    fn line(inner: &mut Inner, text: &str) {
        let line = format!("{} {text}\n", inner.start.elapsed().as_millis());
        inner.hash = fnv1a(inner.hash, line.as_bytes());
        inner.lines += 1;
        if inner.echo {
            print!("trace: {line}");
        }
        if inner.tail.len() == TAIL_LINES {
            inner.tail.pop_front();
        }
        inner.tail.push_back(line);
    }

    /// A trace line that is not a history op (phase changes, invariant checks).
    pub fn note(&self, text: &str) {
        let mut g = self.lock();
        Self::line(&mut g, text);
        let last = g.tail.back().cloned().unwrap_or_default();
        g.events.push(last);
    }

    /// A nemesis action: in the history (for the reader) and in the trace.
    pub fn nemesis(&self, action: &str) {
        let mut g = self.lock();
        g.history.nemesis(NEMESIS_PROCESS, action);
        Self::line(&mut g, &format!("nemesis {action}"));
        let last = g.tail.back().cloned().unwrap_or_default();
        g.events.push(last);
    }

    /// A send of `value` is invoked.
    pub fn send(&self, process: ProcessId, value: ValueId, key: Option<&str>) -> Pending {
        let mut g = self.lock();
        let send = g.history.send(process, value, key);
        Self::line(&mut g, &format!("p{process} send {value} key={key:?}"));
        Pending { send, process, value }
    }

    /// The broker acknowledged `send` at `offset` of `queue`.
    pub fn send_ok(&self, send: Pending, queue: QueueId, offset: i64, msg_id: String) {
        let mut g = self.lock();
        let (p, v) = (send.process, send.value);
        Self::line(&mut g, &format!("p{p} ok {v} {}:{}@{offset}", queue.broker, queue.queue_id));
        g.history.send_ok_with(send.send, Some(queue), Some(offset), Some(msg_id));
    }

    /// `send` definitely stored nothing.
    pub fn send_fail(&self, send: Pending, why: &str) {
        let mut g = self.lock();
        Self::line(&mut g, &format!("p{} fail {} {why}", send.process, send.value));
        g.history.send_fail(send.send);
    }

    /// `send`'s outcome is unknown.
    pub fn send_info(&self, send: Pending, why: &str) {
        let mut g = self.lock();
        Self::line(&mut g, &format!("p{} info {} {why}", send.process, send.value));
        g.history.send_info(send.send);
    }

    /// A consumer of `group` received `value` at `offset` of `queue`.
    pub fn receive(
        &self,
        process: ProcessId,
        group: &str,
        value: ValueId,
        queue: QueueId,
        offset: i64,
        reconsume_times: u32,
    ) {
        let mut g = self.lock();
        let q = format!("{}:{}", queue.broker, queue.queue_id);
        Self::line(&mut g, &format!("p{process} recv {group} {value} {q}@{offset}"));
        g.history.redelivery(process, group, value, queue, offset, reconsume_times);
    }

    /// The group's offset on `queue` is durably `offset`.
    pub fn commit(&self, process: ProcessId, group: &str, queue: QueueId, offset: i64) {
        let mut g = self.lock();
        let q = format!("{}:{}", queue.broker, queue.queue_id);
        Self::line(&mut g, &format!("p{process} commit {group} {q}@{offset}"));
        g.history.commit(process, group, queue, offset);
    }

    /// The process now consumes exactly `queues` for `group`.
    pub fn assign(&self, process: ProcessId, group: &str, queues: Vec<QueueId>) {
        let mut g = self.lock();
        Self::line(&mut g, &format!("p{process} assign {group} {} queues", queues.len()));
        g.history.assign(process, group, queues);
    }

    /// The final drain of `group` begins.
    pub fn drain(&self, process: ProcessId, group: &str) {
        let mut g = self.lock();
        Self::line(&mut g, &format!("p{process} drain {group}"));
        g.history.drain(process, group);
    }

    /// The trace hash so far.
    pub fn hash(&self) -> u64 {
        self.lock().hash
    }

    /// How many trace lines were written.
    pub fn lines(&self) -> u64 {
        self.lock().lines
    }

    /// The nemesis actions and notes, oldest first.
    pub fn events(&self) -> String {
        self.lock().events.concat()
    }

    /// The last lines of the trace, oldest first.
    pub fn tail(&self) -> String {
        self.lock().tail.iter().map(String::as_str).collect()
    }

    /// The finished history (the recorder keeps an empty one).
    pub fn take_history(&self) -> History {
        std::mem::take(&mut self.lock().history).build()
    }
}
