//! What the checkers read out of a history: each send with its outcome, each receive, the groups
//! and when each began its drain. Pairing a completion with its invocation happens here, once,
//! and an inconsistent history becomes `malformed-history` evidence instead of a panic.

use std::collections::{BTreeMap, BTreeSet};

use crate::anomaly::{Anomaly, Evidence, Position};
use crate::history::{History, OpBody, OpType, ProcessId, QueueId, ValueId};

/// How a send ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Acked,
    Failed,
    /// `info`, or never completed.
    Unknown,
}

/// One send attempt.
#[derive(Clone, Debug)]
pub(crate) struct SendFact {
    pub value: ValueId,
    pub key: Option<String>,
    pub process: ProcessId,
    /// The invocation's index; for a completion recorded without one, the completion's own.
    pub invoke: u64,
    pub completion: Option<u64>,
    pub outcome: Outcome,
    pub queue: Option<QueueId>,
    pub offset: Option<i64>,
}

impl SendFact {
    /// The index of the acknowledgement, if the send was acknowledged.
    pub fn ack(&self) -> Option<u64> {
        match self.outcome {
            Outcome::Acked => self.completion,
            Outcome::Failed | Outcome::Unknown => None,
        }
    }

    /// Where an acknowledged send was stored, if the client learnt it.
    pub fn acked_position(&self) -> Option<Position> {
        self.ack()?;
        Some(Position { queue: self.queue.clone()?, offset: self.offset? })
    }
}

/// One receive observation.
#[derive(Clone, Debug)]
pub(crate) struct ReceiveFact {
    pub index: u64,
    pub group: String,
    pub value: ValueId,
    pub queue: QueueId,
    pub offset: i64,
    /// Came through the retry path (`reconsume_times > 0`): the offset may name a retry queue.
    pub redelivered: bool,
}

impl ReceiveFact {
    pub fn position(&self) -> Position {
        Position { queue: self.queue.clone(), offset: self.offset }
    }
}

/// Everything the checkers need, derived once.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    /// In invocation order.
    pub sends: Vec<SendFact>,
    /// In history order.
    pub receives: Vec<ReceiveFact>,
    pub groups: BTreeSet<String>,
    /// Per group, the index its drain began at; an assumed drain begins after the last op.
    pub drains: BTreeMap<String, u64>,
    pub malformed: Vec<Anomaly>,
    /// One past the last op's index: where assumed drains begin.
    pub end: u64,
}

impl Facts {
    pub fn new(history: &History, assume_drained: bool) -> Self {
        let mut facts = Facts::default();
        // The open send of each process, as a position in `facts.sends`.
        let mut open: BTreeMap<ProcessId, usize> = BTreeMap::new();
        for op in history.ops() {
            match (&op.body, op.kind) {
                (OpBody::Send { .. }, _) => facts.record_send(op, &mut open),
                (OpBody::Nemesis { .. }, _) => {}
                // Only sends have outcomes; anything else is a fact once recorded `ok`.
                (_, OpType::Invoke | OpType::Fail | OpType::Info) => {}
                (OpBody::Receive { group, value, queue, offset, reconsume_times, .. }, _) => {
                    facts.groups.insert(group.clone());
                    facts.receives.push(ReceiveFact {
                        index: op.index,
                        group: group.clone(),
                        value: *value,
                        queue: queue.clone(),
                        offset: *offset,
                        redelivered: *reconsume_times > 0,
                    });
                }
                (OpBody::Drain { group }, _) => {
                    facts.groups.insert(group.clone());
                    facts.drains.entry(group.clone()).or_insert(op.index);
                }
                (
                    OpBody::Commit { group, .. }
                    | OpBody::ResetOffset { group, .. }
                    | OpBody::Assign { group, .. },
                    _,
                ) => {
                    facts.groups.insert(group.clone());
                }
            }
        }
        facts.end = history.ops().last().map_or(0, |op| op.index.saturating_add(1));
        if assume_drained {
            for group in &facts.groups {
                facts.drains.entry(group.clone()).or_insert(facts.end);
            }
        }
        facts
    }

    /// The recorded drain op of `group`, if any (an assumed drain has no op).
    pub fn drain_op(&self, group: &str) -> Option<u64> {
        self.drains.get(group).copied().filter(|&index| index < self.end)
    }

    fn record_send(&mut self, op: &crate::history::Op, open: &mut BTreeMap<ProcessId, usize>) {
        let OpBody::Send { value, key, queue, offset, .. } = &op.body else {
            return;
        };
        if op.kind == OpType::Invoke {
            if let Some(previous) = open.insert(op.process, self.sends.len()) {
                let reason = format!(
                    "process {} invoked a send while its send of value {} was still open",
                    op.process,
                    self.sends.get(previous).map_or(0, |s| s.value)
                );
                self.malformed(reason, op.index);
            }
            self.sends.push(SendFact {
                value: *value,
                key: key.clone(),
                process: op.process,
                invoke: op.index,
                completion: None,
                outcome: Outcome::Unknown,
                queue: queue.clone(),
                offset: *offset,
            });
            return;
        }
        let outcome = match op.kind {
            OpType::Ok => Outcome::Acked,
            OpType::Fail => Outcome::Failed,
            OpType::Invoke | OpType::Info => Outcome::Unknown,
        };
        let position = open.remove(&op.process);
        let Some(send) = position.and_then(|p| self.sends.get_mut(p)) else {
            // Keep the completion as a send that started when it ended, so that an acknowledged
            // value still counts toward loss; the recorder is told its history is broken.
            self.malformed(
                format!("process {} completed a send it never invoked", op.process),
                op.index,
            );
            self.sends.push(SendFact {
                value: *value,
                key: key.clone(),
                process: op.process,
                invoke: op.index,
                completion: Some(op.index),
                outcome,
                queue: queue.clone(),
                offset: *offset,
            });
            return;
        };
        send.completion = Some(op.index);
        send.outcome = outcome;
        if key.is_some() {
            send.key.clone_from(key);
        }
        if queue.is_some() {
            send.queue.clone_from(queue);
        }
        if offset.is_some() {
            send.offset = *offset;
        }
        if send.value != *value {
            let reason = format!(
                "process {} completed a send of value {} but invoked value {}",
                op.process, value, send.value
            );
            let invoke = send.invoke;
            self.malformed(reason, invoke);
            if let Some(last) = self.malformed.last_mut() {
                *last = Anomaly::new(last.evidence.clone(), vec![invoke, op.index]);
            }
        }
    }

    fn malformed(&mut self, reason: String, index: u64) {
        self.malformed.push(Anomaly::new(Evidence::MalformedHistory { reason }, vec![index]));
    }

    /// Receives of each group, by value: the indexes of the receives.
    pub fn received_by_group(&self) -> BTreeMap<&str, BTreeMap<ValueId, Vec<&ReceiveFact>>> {
        let mut map: BTreeMap<&str, BTreeMap<ValueId, Vec<&ReceiveFact>>> = BTreeMap::new();
        for receive in &self.receives {
            map.entry(receive.group.as_str())
                .or_default()
                .entry(receive.value)
                .or_default()
                .push(receive);
        }
        map
    }

    /// Send attempts by value, in invocation order.
    pub fn sends_by_value(&self) -> BTreeMap<ValueId, Vec<&SendFact>> {
        let mut map: BTreeMap<ValueId, Vec<&SendFact>> = BTreeMap::new();
        for send in &self.sends {
            map.entry(send.value).or_default().push(send);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::HistoryBuilder;
    use crate::history::Op;

    #[test]
    fn pairs_completions_with_invocations_per_process() {
        let q = QueueId::new("t", "b", 0);
        let mut b = HistoryBuilder::new();
        let s1 = b.send(1, 10, Some("k"));
        let s2 = b.send(2, 20, None);
        b.send_info(s1);
        b.send_ok(s2, q.clone(), 4);
        let s3 = b.send(1, 30, None);
        b.send_fail(s3);
        let _never_completed = b.send(3, 40, None);
        b.receive(5, "g", 20, q, 4);
        let facts = Facts::new(&b.build(), false);
        let summary: Vec<_> =
            facts.sends.iter().map(|s| (s.value, s.outcome, s.invoke, s.completion)).collect();
        assert_eq!(
            summary,
            vec![
                (10, Outcome::Unknown, 0, Some(2)),
                (20, Outcome::Acked, 1, Some(3)),
                (30, Outcome::Failed, 4, Some(5)),
                (40, Outcome::Unknown, 6, None),
            ]
        );
        assert_eq!(facts.sends[0].key.as_deref(), Some("k"));
        assert_eq!(facts.sends[1].offset, Some(4));
        assert!(facts.malformed.is_empty());
        assert!(facts.drains.is_empty());
        let assumed = Facts::new(&b_history_with_group(), true);
        assert_eq!(assumed.drains.get("g"), Some(&1));
    }

    fn b_history_with_group() -> History {
        let mut b = HistoryBuilder::new();
        b.assign(1, "g", vec![]);
        b.build()
    }

    #[test]
    fn orphan_and_mismatched_completions_are_malformed() {
        let send = |index, kind, value| Op {
            index,
            process: 1,
            kind,
            body: OpBody::Send { value, key: None, queue: None, offset: None, msg_id: None },
        };
        let history = History::new(vec![
            send(0, OpType::Ok, 1),
            send(1, OpType::Invoke, 2),
            send(2, OpType::Invoke, 3),
            send(3, OpType::Ok, 4),
        ])
        .unwrap();
        let facts = Facts::new(&history, false);
        let ops: Vec<_> = facts.malformed.iter().map(|a| a.ops.clone()).collect();
        assert_eq!(ops, vec![vec![0], vec![2], vec![2, 3]], "{:?}", facts.malformed);
        // The orphan ack still counts as an acknowledged send of value 1.
        assert_eq!(facts.sends[0].ack(), Some(0));
    }
}
