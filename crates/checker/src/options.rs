//! What a run promises, as the set of anomaly kinds it tolerates: the same history is judged
//! differently for an orderly pull consumer than for a concurrent push consumer, as Jepsen's
//! Kafka checker allows poll skips under `subscribe` but not under `assign`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::anomaly::AnomalyKind;

/// How many anomalies of one kind a verdict lists by default; the counts stay exact.
pub const EXAMPLES_PER_KIND_DEFAULT: usize = 20;

/// Which anomalies are fatal, and how much evidence to keep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOptions {
    /// Kinds that are reported but leave the verdict valid.
    pub allowed: BTreeSet<AnomalyKind>,
    /// Treat every group that recorded no drain as drained at the end of the history, for
    /// recorders that stop producers and drain without writing the marker.
    pub assume_drained: bool,
    /// How many anomalies of one kind to list.
    pub examples_per_kind: usize,
}

impl Default for CheckOptions {
    /// At-least-once delivery to orderly consumers whose rebalances are recorded: duplicates
    /// are allowed, and so is an unseen value in a run that never drained.
    fn default() -> Self {
        Self {
            allowed: BTreeSet::from([AnomalyKind::Duplicated, AnomalyKind::Unseen]),
            assume_drained: false,
            examples_per_kind: EXAMPLES_PER_KIND_DEFAULT,
        }
    }
}

impl CheckOptions {
    /// Consumers that rebalance without recording it as `assign` ops: a queue may move away and
    /// back within what looks like one tenure, so rewinds and jumps are allowed. A consumer that
    /// loses a queue also persists its offset for it, which can land after, and below, the new
    /// owner's commit; RocketMQ's broker keeps the last commit it got, so commits may regress.
    pub fn subscribe() -> Self {
        Self::default()
            .allow(AnomalyKind::NonmonotonicPoll)
            .allow(AnomalyKind::PollSkip)
            .allow(AnomalyKind::CommitRegression)
    }

    /// Concurrent push consumers: messages of one queue are handed to a thread pool, so the
    /// order receives are recorded in says nothing about delivery order.
    pub fn concurrent_consumer() -> Self {
        Self::subscribe().allow(AnomalyKind::QueueDeliveryOrder).allow(AnomalyKind::KeyOrder)
    }

    /// Exactly-once expectations: nothing is tolerated except an unseen value without a drain.
    pub fn exactly_once() -> Self {
        Self::default().forbid(AnomalyKind::Duplicated)
    }

    /// Tolerates `kind`.
    pub fn allow(mut self, kind: AnomalyKind) -> Self {
        self.allowed.insert(kind);
        self
    }

    /// Makes `kind` fatal.
    pub fn forbid(mut self, kind: AnomalyKind) -> Self {
        self.allowed.remove(&kind);
        self
    }

    /// Whether an anomaly of `kind` makes the verdict invalid.
    pub fn is_fatal(&self, kind: AnomalyKind) -> bool {
        !self.allowed.contains(&kind)
    }
}
