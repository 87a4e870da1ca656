//! The history a test records: every send's invocation and completion, every message a consumer
//! received, and the markers (assignments, commits, offset resets, the final drain) the checkers
//! need to judge it.
//!
//! The shape follows Jepsen's: an operation has a `process`, a `type` (`invoke`, `ok`, `fail`,
//! `info`) and an `f` naming what it does. Only sends are invoked and completed, because only a
//! send has an outcome the client can be unsure of. Everything else is an observation that is
//! true once recorded, so it is recorded once, with type `ok`; other types are kept but ignored.
//!
//! What the recorder must get right (the checkers trust it):
//! - A send completes `ok` only when the broker acknowledged it, `fail` only when it definitely
//!   did not store it, and `info` otherwise (timeouts, a retry whose earlier attempt may have been
//!   stored). A send never completed counts as `info`.
//! - A send acknowledgement's `queue`/`offset` must name the queue the message was stored in.
//!   For delay and transactional messages RocketMQ reports a queue offset of an internal topic;
//!   leave `offset` empty for those.
//! - A receive's `queue`/`offset` are where the consumer read it. A message redelivered through
//!   the retry path carries `reconsume_times > 0`, and its offset may belong to a retry queue, so
//!   the offset checks skip such receives.
//! - An `assign` is recorded whenever a consumer's set of queues is (re)established: at start, on
//!   every rebalance and after a restart. It starts a new tenure, within which reads of a queue
//!   must move forward.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The body id of a message: unique per send attempt in a well-formed workload, so that a
/// delivered body names the send it came from.
pub type ValueId = u64;

/// A client thread (producer or consumer instance) in the history.
pub type ProcessId = u64;

/// A RocketMQ message queue: a topic's queue `queue_id` on broker group `broker`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QueueId {
    /// The topic.
    pub topic: String,
    /// The broker name (the replica group), not a host.
    pub broker: String,
    /// The queue number within the topic on that broker.
    pub queue_id: i32,
}

impl QueueId {
    /// A queue id from its three parts.
    pub fn new(topic: impl Into<String>, broker: impl Into<String>, queue_id: i32) -> Self {
        Self { topic: topic.into(), broker: broker.into(), queue_id }
    }
}

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.topic, self.broker, self.queue_id)
    }
}

/// Whether an operation is starting or how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    /// The client is about to perform the operation.
    Invoke,
    /// The operation definitely happened.
    Ok,
    /// The operation definitely did not happen.
    Fail,
    /// The outcome is unknown.
    Info,
}

/// What an operation does. Serialized with the tag `f`, as Jepsen histories are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "f", rename_all = "kebab-case")]
pub enum OpBody {
    /// Produce the message with body `value`. The invocation carries the value and the sharding
    /// key; an `ok` completion adds where the broker stored it.
    Send {
        /// The body id.
        value: ValueId,
        /// The sharding key of an ordered send, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        /// The queue the message was stored in (known at invocation when a selector chose it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<QueueId>,
        /// The ConsumeQueue offset the broker acknowledged.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<i64>,
        /// The message id the broker acknowledged.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        msg_id: Option<String>,
    },
    /// A consumer of `group` received the message with body `value`, read at `offset` of `queue`.
    Receive {
        /// The consumer group.
        group: String,
        /// The body id.
        value: ValueId,
        /// Where it was read.
        queue: QueueId,
        /// The ConsumeQueue offset it was read at.
        offset: i64,
        /// The message id, for the record.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        msg_id: Option<String>,
        /// RocketMQ's redelivery counter: above zero for a message consumed before.
        #[serde(default, skip_serializing_if = "is_zero")]
        reconsume_times: u32,
    },
    /// The consumer offset of `group` on `queue` is durably `offset` (the next offset to consume).
    Commit {
        /// The consumer group.
        group: String,
        /// The queue.
        queue: QueueId,
        /// The committed offset.
        offset: i64,
    },
    /// An operator reset the consumer offset of `group` on `queue` to `offset`: commits may go
    /// back to it, and consumers of the group may read that queue again from there.
    ResetOffset {
        /// The consumer group.
        group: String,
        /// The queue.
        queue: QueueId,
        /// The offset the group restarts from.
        offset: i64,
    },
    /// This process now consumes exactly `queues` for `group`; a new tenure for each of them.
    Assign {
        /// The consumer group.
        group: String,
        /// The queues assigned, possibly none.
        queues: Vec<QueueId>,
    },
    /// The final drain of `group` begins: from here on producers are quiet and the group reads
    /// until it has caught up, so anything acknowledged before this point and never received by
    /// the group is lost.
    Drain {
        /// The consumer group.
        group: String,
    },
    /// A fault the nemesis injected or healed; kept for the reader, ignored by the checkers.
    Nemesis {
        /// What happened, free text.
        action: String,
    },
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl OpBody {
    /// The value of `f` in the serialized form, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            OpBody::Send { .. } => "send",
            OpBody::Receive { .. } => "receive",
            OpBody::Commit { .. } => "commit",
            OpBody::ResetOffset { .. } => "reset-offset",
            OpBody::Assign { .. } => "assign",
            OpBody::Drain { .. } => "drain",
            OpBody::Nemesis { .. } => "nemesis",
        }
    }
}

/// One entry of a history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// The logical time: strictly increasing along the history. Evidence in a verdict names ops
    /// by this index.
    pub index: u64,
    /// The client thread.
    pub process: ProcessId,
    /// Invocation or outcome.
    #[serde(rename = "type")]
    pub kind: OpType,
    /// What the operation does.
    #[serde(flatten)]
    pub body: OpBody,
}

/// Why a history could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// Op indexes must strictly increase, since the checkers read them as time.
    #[error(
        "op at position {position} has index {index}, not above the previous index {previous}"
    )]
    IndexNotIncreasing {
        /// Where in the history.
        position: usize,
        /// Its index.
        index: u64,
        /// The index before it.
        previous: u64,
    },
    /// A line of a JSON-lines history did not parse.
    #[error("line {line}: {source}")]
    Json {
        /// One-based line number.
        line: usize,
        /// The parser's complaint.
        source: serde_json::Error,
    },
}

/// A history: ops in the order they happened, indexes strictly increasing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Op>", into = "Vec<Op>")]
pub struct History {
    ops: Vec<Op>,
}

impl History {
    /// A history from ops in time order; fails if their indexes do not strictly increase.
    pub fn new(ops: Vec<Op>) -> Result<Self, HistoryError> {
        for (position, pair) in ops.windows(2).enumerate() {
            if let [previous, op] = pair {
                if op.index <= previous.index {
                    return Err(HistoryError::IndexNotIncreasing {
                        position: position + 1,
                        index: op.index,
                        previous: previous.index,
                    });
                }
            }
        }
        Ok(Self { ops })
    }

    /// A history from ops the builder numbered consecutively.
    pub(crate) fn from_consecutive(ops: Vec<Op>) -> Self {
        Self { ops }
    }

    /// Parses one JSON op per line, blank lines skipped, as the real-process harness writes them.
    pub fn from_json_lines(text: &str) -> Result<Self, HistoryError> {
        let mut ops = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let op = serde_json::from_str(line)
                .map_err(|source| HistoryError::Json { line: n + 1, source })?;
            ops.push(op);
        }
        Self::new(ops)
    }

    /// One JSON op per line, each line ending in a newline.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for op in &self.ops {
            // Serializing these plain types to a string cannot fail; an empty line would be
            // skipped by the reader rather than corrupt the history.
            out.push_str(&serde_json::to_string(op).unwrap_or_default());
            out.push('\n');
        }
        out
    }

    /// The ops in time order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// How many ops.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether there are no ops.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The same history without the ops `keep` rejects; indexes are kept, so evidence still
    /// points into the original. Tests use it to remove observations.
    pub fn filtered(&self, mut keep: impl FnMut(&Op) -> bool) -> Self {
        Self { ops: self.ops.iter().filter(|op| keep(op)).cloned().collect() }
    }
}

impl TryFrom<Vec<Op>> for History {
    type Error = HistoryError;

    fn try_from(ops: Vec<Op>) -> Result<Self, Self::Error> {
        Self::new(ops)
    }
}

impl From<History> for Vec<Op> {
    fn from(history: History) -> Self {
        history.ops
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q() -> QueueId {
        QueueId::new("t", "broker-a", 1)
    }

    #[test]
    fn ops_round_trip_through_json_lines() {
        let ops = vec![
            Op {
                index: 0,
                process: 1,
                kind: OpType::Invoke,
                body: OpBody::Send {
                    value: 7,
                    key: Some("k".into()),
                    queue: None,
                    offset: None,
                    msg_id: None,
                },
            },
            Op {
                index: 1,
                process: 1,
                kind: OpType::Ok,
                body: OpBody::Send {
                    value: 7,
                    key: Some("k".into()),
                    queue: Some(q()),
                    offset: Some(3),
                    msg_id: Some("AC11".into()),
                },
            },
            Op {
                index: 5,
                process: 2,
                kind: OpType::Ok,
                body: OpBody::Receive {
                    group: "g".into(),
                    value: 7,
                    queue: q(),
                    offset: 3,
                    msg_id: None,
                    reconsume_times: 2,
                },
            },
            Op {
                index: 6,
                process: 2,
                kind: OpType::Ok,
                body: OpBody::Assign { group: "g".into(), queues: vec![q()] },
            },
            Op {
                index: 7,
                process: 9,
                kind: OpType::Info,
                body: OpBody::Nemesis { action: "kill broker-a".into() },
            },
        ];
        let history = History::new(ops).unwrap();
        let text = history.to_json_lines();
        assert!(text.lines().next().unwrap().contains(r#""f":"send""#), "{text}");
        assert!(text.contains(r#""type":"invoke""#), "{text}");
        let back = History::from_json_lines(&text).unwrap();
        assert_eq!(back, history);
        let whole = serde_json::to_string(&history).unwrap();
        assert_eq!(serde_json::from_str::<History>(&whole).unwrap(), history);
    }

    #[test]
    fn optional_fields_may_be_absent() {
        let text = r#"{"index":3,"process":0,"type":"ok","f":"receive","group":"g","value":1,
            "queue":{"topic":"t","broker":"b","queue_id":0},"offset":4}"#
            .replace('\n', "");
        let history = History::from_json_lines(&text).unwrap();
        let OpBody::Receive { reconsume_times, msg_id, .. } = &history.ops()[0].body else {
            panic!("not a receive: {history:?}");
        };
        assert_eq!((*reconsume_times, msg_id.as_deref()), (0, None));
    }

    #[test]
    fn indexes_must_increase() {
        let op = |index| Op {
            index,
            process: 0,
            kind: OpType::Ok,
            body: OpBody::Drain { group: "g".into() },
        };
        let err = History::new(vec![op(1), op(1)]).unwrap_err();
        assert!(matches!(err, HistoryError::IndexNotIncreasing { position: 1, .. }), "{err}");
        let err = History::from_json_lines("\n{oops").unwrap_err();
        assert!(matches!(err, HistoryError::Json { line: 2, .. }), "{err}");
    }
}
