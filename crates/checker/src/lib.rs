//! History checkers shared by the simulation and the real-process harness.
//!
//! A test records a [`History`]: each send's invocation and outcome, each message a consumer
//! received, offset commits, queue assignments and the start of the final drain. [`check`] turns
//! it into a [`Verdict`]: which anomalies were found, with exact counts, the evidence of each
//! (values, offsets and the indexes of the ops that show it) and the smallest counter-example.
//!
//! The checks, each in its own module:
//! - `total_queue`: lost (split into prefix, middle and postfix), unseen, unexpected,
//!   duplicated and recovered values, per consumer group (Jepsen's total-queue, NATS's loss
//!   classification);
//! - `order`: per-queue and per-sharding-key order (openmessaging-chaos's OrderChecker);
//! - `offsets`: inconsistent offsets, lost writes, nonmonotonic polls and poll skips (Jepsen's
//!   Kafka workload);
//! - `commits`: committed offsets never go backwards.
//!
//! Which anomalies are fatal is the caller's choice ([`CheckOptions`]): at-least-once delivery
//! allows duplicates, a run without a drain cannot judge loss, and consumers that do not record
//! rebalances cannot be held to monotonic reads.
//!
//! This is a pure library: no I/O, no clock, no randomness, and the same history always gives
//! the same verdict, byte for byte.
//!
//! ```
//! use checker::{check, AnomalyKind, CheckOptions, HistoryBuilder, QueueId};
//!
//! let queue = QueueId::new("orders", "broker-a", 0);
//! let mut history = HistoryBuilder::new();
//! history.assign(10, "group", vec![queue.clone()]);
//! for value in 0..3 {
//!     let send = history.send(1, value, Some("customer-7"));
//!     history.send_ok(send, queue.clone(), value as i64);
//! }
//! history.receive(10, "group", 0, queue.clone(), 0);
//! history.drain(10, "group");
//! history.receive(10, "group", 2, queue.clone(), 2);
//!
//! let verdict = check(&history.build(), &CheckOptions::default());
//! assert!(!verdict.valid);
//! assert_eq!(verdict.count(AnomalyKind::LostMiddle), 1);
//! assert_eq!(verdict.count(AnomalyKind::PollSkip), 1);
//! println!("{verdict}");
//! ```

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
#![deny(missing_docs)]

mod anomaly;
mod builder;
mod commits;
mod facts;
mod history;
mod offsets;
mod options;
mod order;
mod total_queue;
mod verdict;

pub use anomaly::{Anomaly, AnomalyKind, Evidence, LossPosition, Position, Stream};
pub use builder::{HistoryBuilder, PendingSend};
pub use history::{History, HistoryError, Op, OpBody, OpType, ProcessId, QueueId, ValueId};
pub use options::{CheckOptions, EXAMPLES_PER_KIND_DEFAULT};
pub use verdict::{AnomalyReport, Stats, Verdict};

/// Runs every check on `history` and judges the anomalies found by `options`.
pub fn check(history: &History, options: &CheckOptions) -> Verdict {
    let facts = facts::Facts::new(history, options.assume_drained);
    let mut stats = Stats::default();
    let mut found = facts.malformed.clone();
    total_queue::check(&facts, &mut stats, &mut found);
    order::check(&facts, &mut found);
    offsets::check(history, &facts, &mut found);
    commits::check(history, &mut found);
    Verdict::new(found, stats, options)
}
