//! Recording a history cheaply from a workload: each call appends one op with the next index.
//!
//! A send is split into `send` (the invocation), which returns a [`PendingSend`] token, and one
//! of `send_ok` / `send_fail` / `send_info`, which consume the token; a send can therefore not be
//! completed twice. Every other operation is a single `ok` observation.

use crate::history::{History, Op, OpBody, OpType, ProcessId, QueueId, ValueId};

/// An invoked send awaiting its completion.
#[derive(Debug)]
#[must_use = "complete the send with send_ok, send_fail or send_info"]
pub struct PendingSend {
    process: ProcessId,
    value: ValueId,
    key: Option<String>,
    index: u64,
}

impl PendingSend {
    /// The index of the invocation.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The body id being sent.
    pub fn value(&self) -> ValueId {
        self.value
    }
}

/// Appends ops with consecutive indexes.
#[derive(Debug, Default)]
pub struct HistoryBuilder {
    ops: Vec<Op>,
}

impl HistoryBuilder {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends any op and returns its index.
    pub fn push(&mut self, process: ProcessId, kind: OpType, body: OpBody) -> u64 {
        let index = self.ops.len() as u64;
        self.ops.push(Op { index, process, kind, body });
        index
    }

    /// Invokes a send of `value`, with a sharding key for an ordered send.
    pub fn send(&mut self, process: ProcessId, value: ValueId, key: Option<&str>) -> PendingSend {
        let key = key.map(str::to_owned);
        let body =
            OpBody::Send { value, key: key.clone(), queue: None, offset: None, msg_id: None };
        let index = self.push(process, OpType::Invoke, body);
        PendingSend { process, value, key, index }
    }

    /// The broker acknowledged the send, storing it at `offset` of `queue`.
    pub fn send_ok(&mut self, send: PendingSend, queue: QueueId, offset: i64) -> u64 {
        self.send_ok_with(send, Some(queue), Some(offset), None)
    }

    /// The broker acknowledged the send, with whatever the client learnt of where it went.
    pub fn send_ok_with(
        &mut self,
        send: PendingSend,
        queue: Option<QueueId>,
        offset: Option<i64>,
        msg_id: Option<String>,
    ) -> u64 {
        let body = OpBody::Send { value: send.value, key: send.key, queue, offset, msg_id };
        self.push(send.process, OpType::Ok, body)
    }

    /// The send definitely did not store the message.
    pub fn send_fail(&mut self, send: PendingSend) -> u64 {
        self.complete_without_ack(send, OpType::Fail)
    }

    /// The send's outcome is unknown.
    pub fn send_info(&mut self, send: PendingSend) -> u64 {
        self.complete_without_ack(send, OpType::Info)
    }

    fn complete_without_ack(&mut self, send: PendingSend, kind: OpType) -> u64 {
        let body = OpBody::Send {
            value: send.value,
            key: send.key,
            queue: None,
            offset: None,
            msg_id: None,
        };
        self.push(send.process, kind, body)
    }

    /// A consumer of `group` received `value`, read at `offset` of `queue`.
    pub fn receive(
        &mut self,
        process: ProcessId,
        group: &str,
        value: ValueId,
        queue: QueueId,
        offset: i64,
    ) -> u64 {
        self.redelivery(process, group, value, queue, offset, 0)
    }

    /// A receive with RocketMQ's redelivery counter.
    pub fn redelivery(
        &mut self,
        process: ProcessId,
        group: &str,
        value: ValueId,
        queue: QueueId,
        offset: i64,
        reconsume_times: u32,
    ) -> u64 {
        let group = group.to_owned();
        let body = OpBody::Receive { group, value, queue, offset, msg_id: None, reconsume_times };
        self.push(process, OpType::Ok, body)
    }

    /// The group's consumer offset on `queue` is durably `offset`.
    pub fn commit(&mut self, process: ProcessId, group: &str, queue: QueueId, offset: i64) -> u64 {
        let body = OpBody::Commit { group: group.to_owned(), queue, offset };
        self.push(process, OpType::Ok, body)
    }

    /// An operator reset the group's offset on `queue` to `offset`.
    pub fn reset_offset(
        &mut self,
        process: ProcessId,
        group: &str,
        queue: QueueId,
        offset: i64,
    ) -> u64 {
        let body = OpBody::ResetOffset { group: group.to_owned(), queue, offset };
        self.push(process, OpType::Ok, body)
    }

    /// The process now consumes exactly `queues` for `group`.
    pub fn assign(&mut self, process: ProcessId, group: &str, queues: Vec<QueueId>) -> u64 {
        let body = OpBody::Assign { group: group.to_owned(), queues };
        self.push(process, OpType::Ok, body)
    }

    /// The final drain of `group` begins.
    pub fn drain(&mut self, process: ProcessId, group: &str) -> u64 {
        self.push(process, OpType::Ok, OpBody::Drain { group: group.to_owned() })
    }

    /// A nemesis event, for the reader.
    pub fn nemesis(&mut self, process: ProcessId, action: &str) -> u64 {
        self.push(process, OpType::Info, OpBody::Nemesis { action: action.to_owned() })
    }

    /// How many ops so far.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The finished history.
    pub fn build(self) -> History {
        // Indexes are consecutive by construction, which is all `History::new` would check.
        History::from_consecutive(self.ops)
    }
}
