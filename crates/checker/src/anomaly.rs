//! The anomalies the checkers report, each with the smallest evidence that shows it: the values
//! and offsets involved and the indexes of the ops a reader needs to look at.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::history::{ProcessId, QueueId, ValueId};

/// The kinds of anomaly, in the order a verdict lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyKind {
    /// Acknowledged, never received after the drain, and sent before anything of its stream the
    /// group did receive: the broker may have started over.
    LostPrefix,
    /// Acknowledged, never received after the drain, yet the group received values of the same
    /// stream sent both before and after it: plain loss, the worst kind.
    LostMiddle,
    /// Acknowledged, never received after the drain, and sent after everything of its stream the
    /// group received (or the group received nothing of it): a lost tail.
    LostPostfix,
    /// Acknowledged and not received, but the group never drained, so loss cannot be judged.
    Unseen,
    /// Received but never sent.
    Unexpected,
    /// Received more often than it was sent: allowed under at-least-once delivery.
    Duplicated,
    /// Received although its send definitely failed.
    FailedSendReceived,
    /// One queue offset observed holding two different values.
    InconsistentOffset,
    /// Acknowledged at an offset at or below the highest offset the group read in that queue, yet
    /// never received by the group: Kafka's lost write, judged without a drain.
    LostWrite,
    /// Within one tenure a consumer read an offset not above the one it read before.
    NonmonotonicPoll,
    /// Within one tenure a consumer jumped over offsets known to hold messages.
    PollSkip,
    /// A group's committed offset on a queue went backwards with no reset recorded.
    CommitRegression,
    /// A send that started after another send to the same queue was acknowledged got a lower
    /// offset.
    QueueSendOrder,
    /// A group first received a queue's offsets out of offset order.
    QueueDeliveryOrder,
    /// A group first received a sharding key's values out of their send order.
    KeyOrder,
    /// The history itself is inconsistent (a completion without its invocation and the like).
    MalformedHistory,
}

impl AnomalyKind {
    /// Every kind, in order.
    pub const ALL: [AnomalyKind; 16] = [
        AnomalyKind::LostPrefix,
        AnomalyKind::LostMiddle,
        AnomalyKind::LostPostfix,
        AnomalyKind::Unseen,
        AnomalyKind::Unexpected,
        AnomalyKind::Duplicated,
        AnomalyKind::FailedSendReceived,
        AnomalyKind::InconsistentOffset,
        AnomalyKind::LostWrite,
        AnomalyKind::NonmonotonicPoll,
        AnomalyKind::PollSkip,
        AnomalyKind::CommitRegression,
        AnomalyKind::QueueSendOrder,
        AnomalyKind::QueueDeliveryOrder,
        AnomalyKind::KeyOrder,
        AnomalyKind::MalformedHistory,
    ];

    /// The kebab-case name used in JSON and in summaries.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::LostPrefix => "lost-prefix",
            AnomalyKind::LostMiddle => "lost-middle",
            AnomalyKind::LostPostfix => "lost-postfix",
            AnomalyKind::Unseen => "unseen",
            AnomalyKind::Unexpected => "unexpected",
            AnomalyKind::Duplicated => "duplicated",
            AnomalyKind::FailedSendReceived => "failed-send-received",
            AnomalyKind::InconsistentOffset => "inconsistent-offset",
            AnomalyKind::LostWrite => "lost-write",
            AnomalyKind::NonmonotonicPoll => "nonmonotonic-poll",
            AnomalyKind::PollSkip => "poll-skip",
            AnomalyKind::CommitRegression => "commit-regression",
            AnomalyKind::QueueSendOrder => "queue-send-order",
            AnomalyKind::QueueDeliveryOrder => "queue-delivery-order",
            AnomalyKind::KeyOrder => "key-order",
            AnomalyKind::MalformedHistory => "malformed-history",
        }
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The sequence a lost value is placed in to tell a lost prefix, middle or postfix apart.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "by", content = "id", rename_all = "kebab-case")]
pub enum Stream {
    /// The sends of one sharding key, in invocation order.
    Key(String),
    /// The keyless messages of one queue, in offset order.
    Queue(QueueId),
    /// The keyless sends of one producer whose queue and offset are unknown, in invocation order.
    Process(ProcessId),
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stream::Key(key) => write!(f, "key {key:?}"),
            Stream::Queue(queue) => write!(f, "queue {queue}"),
            Stream::Process(process) => write!(f, "process {process}"),
        }
    }
}

/// Where in its stream a lost value sits relative to what the group did receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossPosition {
    /// Before the first received value.
    Prefix,
    /// Between the first and the last received value.
    Middle,
    /// After the last received value, or nothing of the stream was received.
    Postfix,
}

/// A queue offset.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    /// The queue.
    pub queue: QueueId,
    /// The offset in it.
    pub offset: i64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.queue, self.offset)
    }
}

/// What was seen, per kind of anomaly.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Evidence {
    /// `value` was acknowledged before `group` began its drain, and the group never received it.
    Lost {
        /// The consumer group that did not receive it.
        group: String,
        /// The lost value.
        value: ValueId,
        /// The stream it was classified in.
        stream: Stream,
        /// Where in the stream.
        position: LossPosition,
        /// The first and the last value of the stream the group received, if any.
        read_bounds: Option<(ValueId, ValueId)>,
    },
    /// `value` was acknowledged and `group` has not received it, but never drained.
    Unseen {
        /// The consumer group.
        group: String,
        /// The value.
        value: ValueId,
    },
    /// `group` received `value`, which no one ever tried to send.
    Unexpected {
        /// The consumer group.
        group: String,
        /// The value.
        value: ValueId,
        /// How many times it was received.
        received: usize,
    },
    /// `group` received `value` more often than it was sent.
    Duplicated {
        /// The consumer group.
        group: String,
        /// The value.
        value: ValueId,
        /// How many sends of it were attempted.
        attempts: usize,
        /// How many times the group received it.
        received: usize,
        /// The distinct positions it was read at: one means redelivery, several mean it was
        /// written more than once.
        positions: Vec<Position>,
    },
    /// `group` received `value`, whose send definitely failed.
    FailedSendReceived {
        /// The consumer group.
        group: String,
        /// The value.
        value: ValueId,
    },
    /// One queue offset held several values.
    InconsistentOffset {
        /// The queue.
        queue: QueueId,
        /// The offset.
        offset: i64,
        /// The values seen there, sorted.
        values: Vec<ValueId>,
    },
    /// `value` was acknowledged at `offset`, at or below `read_offset`, the highest offset of the
    /// queue the group read, and the group never received it.
    LostWrite {
        /// The consumer group.
        group: String,
        /// The queue.
        queue: QueueId,
        /// The acknowledged offset.
        offset: i64,
        /// The value.
        value: ValueId,
        /// The highest offset of the queue the group read.
        read_offset: i64,
    },
    /// Within one tenure `process` read `offset` right after `previous`, with `offset <=
    /// previous`.
    NonmonotonicPoll {
        /// The consumer group.
        group: String,
        /// The consumer.
        process: ProcessId,
        /// The queue.
        queue: QueueId,
        /// The offset read before.
        previous: i64,
        /// The offset read next.
        offset: i64,
    },
    /// Within one tenure `process` read `offset` right after `previous`, jumping over offsets
    /// known to hold messages.
    PollSkip {
        /// The consumer group.
        group: String,
        /// The consumer.
        process: ProcessId,
        /// The queue.
        queue: QueueId,
        /// The offset read before.
        previous: i64,
        /// The offset read next.
        offset: i64,
        /// The first few offsets jumped over.
        skipped: Vec<i64>,
        /// How many offsets were jumped over.
        skipped_count: usize,
    },
    /// The committed offset of `group` on `queue` went from `previous` down to `offset`.
    CommitRegression {
        /// The consumer group.
        group: String,
        /// The queue.
        queue: QueueId,
        /// The committed offset before.
        previous: i64,
        /// The lower committed offset after.
        offset: i64,
    },
    /// `earlier` was acknowledged at `earlier_offset` before `later` was invoked, yet `later`
    /// was stored at `later_offset <= earlier_offset` of the same queue.
    QueueSendOrder {
        /// The queue.
        queue: QueueId,
        /// The value acknowledged first.
        earlier: ValueId,
        /// Its offset.
        earlier_offset: i64,
        /// The value sent afterwards.
        later: ValueId,
        /// Its offset, not above `earlier_offset`.
        later_offset: i64,
    },
    /// `group` received offset `first` of `queue` for the first time before it first received
    /// the lower offset `then`.
    QueueDeliveryOrder {
        /// The consumer group.
        group: String,
        /// The queue.
        queue: QueueId,
        /// The offset received first.
        first: i64,
        /// The lower offset received afterwards.
        then: i64,
    },
    /// `earlier` was acknowledged before `later` was invoked, both with sharding key `key`, yet
    /// `group` first received `later` before it first received `earlier`.
    KeyOrder {
        /// The consumer group.
        group: String,
        /// The sharding key.
        key: String,
        /// The value sent first.
        earlier: ValueId,
        /// The value sent afterwards and received first.
        later: ValueId,
    },
    /// The history is inconsistent at this point.
    MalformedHistory {
        /// What is wrong.
        reason: String,
    },
}

impl Evidence {
    /// The kind of anomaly this evidence shows.
    pub fn kind(&self) -> AnomalyKind {
        match self {
            Evidence::Lost { position: LossPosition::Prefix, .. } => AnomalyKind::LostPrefix,
            Evidence::Lost { position: LossPosition::Middle, .. } => AnomalyKind::LostMiddle,
            Evidence::Lost { position: LossPosition::Postfix, .. } => AnomalyKind::LostPostfix,
            Evidence::Unseen { .. } => AnomalyKind::Unseen,
            Evidence::Unexpected { .. } => AnomalyKind::Unexpected,
            Evidence::Duplicated { .. } => AnomalyKind::Duplicated,
            Evidence::FailedSendReceived { .. } => AnomalyKind::FailedSendReceived,
            Evidence::InconsistentOffset { .. } => AnomalyKind::InconsistentOffset,
            Evidence::LostWrite { .. } => AnomalyKind::LostWrite,
            Evidence::NonmonotonicPoll { .. } => AnomalyKind::NonmonotonicPoll,
            Evidence::PollSkip { .. } => AnomalyKind::PollSkip,
            Evidence::CommitRegression { .. } => AnomalyKind::CommitRegression,
            Evidence::QueueSendOrder { .. } => AnomalyKind::QueueSendOrder,
            Evidence::QueueDeliveryOrder { .. } => AnomalyKind::QueueDeliveryOrder,
            Evidence::KeyOrder { .. } => AnomalyKind::KeyOrder,
            Evidence::MalformedHistory { .. } => AnomalyKind::MalformedHistory,
        }
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Lost { group, value, stream, position, read_bounds } => {
                write!(f, "group {group} never received acked value {value} ({stream}")?;
                match read_bounds {
                    Some((first, last)) => write!(f, ", received {first}..={last}")?,
                    None => write!(f, ", nothing received")?,
                }
                let position = match position {
                    LossPosition::Prefix => "prefix",
                    LossPosition::Middle => "middle",
                    LossPosition::Postfix => "postfix",
                };
                write!(f, ", lost {position})")
            }
            Evidence::Unseen { group, value } => {
                write!(f, "group {group} has not received acked value {value} (no drain)")
            }
            Evidence::Unexpected { group, value, received } => {
                write!(f, "group {group} received value {value} x{received}, never sent")
            }
            Evidence::Duplicated { group, value, attempts, received, positions } => {
                write!(
                    f,
                    "group {group} received value {value} x{received}, sent x{attempts}, at"
                )?;
                for position in positions {
                    write!(f, " {position}")?;
                }
                Ok(())
            }
            Evidence::FailedSendReceived { group, value } => {
                write!(f, "group {group} received value {value}, whose send failed")
            }
            Evidence::InconsistentOffset { queue, offset, values } => {
                write!(f, "{queue}@{offset} holds values {values:?}")
            }
            Evidence::LostWrite { group, queue, offset, value, read_offset } => write!(
                f,
                "group {group} read {queue} up to {read_offset} but never value {value}, \
                 acked at {offset}"
            ),
            Evidence::NonmonotonicPoll { group, process, queue, previous, offset } => write!(
                f,
                "process {process} of group {group} read {queue} at {previous} then {offset}"
            ),
            Evidence::PollSkip {
                group,
                process,
                queue,
                previous,
                offset,
                skipped,
                skipped_count,
            } => {
                write!(
                    f,
                    "process {process} of group {group} read {queue} at {previous} then \
                     {offset}, skipping {skipped:?}"
                )?;
                match skipped_count.checked_sub(skipped.len()) {
                    Some(more) if more > 0 => write!(f, " and {more} more"),
                    _ => Ok(()),
                }
            }
            Evidence::CommitRegression { group, queue, previous, offset } => {
                write!(f, "group {group} committed {queue} at {previous} then at {offset}")
            }
            Evidence::QueueSendOrder { queue, earlier, earlier_offset, later, later_offset } => {
                write!(
                    f,
                    "{queue}: value {earlier} acked at {earlier_offset} before value {later} \
                     was sent, which got {later_offset}"
                )
            }
            Evidence::QueueDeliveryOrder { group, queue, first, then } => {
                write!(f, "group {group} first received {queue} at {first}, then at {then}")
            }
            Evidence::KeyOrder { group, key, earlier, later } => write!(
                f,
                "group {group} received key {key:?} value {later} before value {earlier}, \
                 which was acked before {later} was sent"
            ),
            Evidence::MalformedHistory { reason } => f.write_str(reason),
        }
    }
}

/// One anomaly: its evidence and the indexes of the ops that show it, sorted and distinct.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Anomaly {
    /// What was seen.
    #[serde(flatten)]
    pub evidence: Evidence,
    /// The ops that show it.
    pub ops: Vec<u64>,
}

impl Anomaly {
    /// An anomaly from its evidence and the ops, which are sorted and deduplicated here.
    pub fn new(evidence: Evidence, mut ops: Vec<u64>) -> Self {
        ops.sort_unstable();
        ops.dedup();
        Self { evidence, ops }
    }

    /// The kind of anomaly.
    pub fn kind(&self) -> AnomalyKind {
        self.evidence.kind()
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (ops {:?})", self.kind(), self.evidence, self.ops)
    }
}
