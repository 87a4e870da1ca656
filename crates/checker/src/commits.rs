//! Commit-offset sanity: a group's committed offset on a queue never goes backwards.
//!
//! A `commit` records an offset the client saw acknowledged as durable. A later, lower committed
//! offset for the same group and queue means the broker forgot a commit (a failover to a replica
//! with a stale consumer-offset table, say), which makes the group consume again what it had
//! already consumed. The only legitimate way back is an operator's reset, recorded as
//! `reset-offset`, after which commits are judged against the reset offset.
//!
//! Caveat: a concurrent push consumer that loses a queue in a rebalance persists its offset for
//! it, and that write can land after the new owner's higher commit. RocketMQ's broker keeps the
//! last commit it received, so such histories regress legitimately (the cost is redelivery, not
//! loss); `CheckOptions::subscribe` allows this kind. Orderly consumers hold the broker's queue
//! lock while they persist, so for them a regression is a real anomaly.

use std::collections::BTreeMap;

use crate::anomaly::{Anomaly, Evidence};
use crate::history::{History, OpBody, OpType, QueueId};

/// Runs the check.
pub(crate) fn check(history: &History, found: &mut Vec<Anomaly>) {
    // (group, queue) -> the last committed (or reset) offset and its op.
    let mut last: BTreeMap<(&str, &QueueId), (i64, u64)> = BTreeMap::new();
    for op in history.ops().iter().filter(|op| op.kind == OpType::Ok) {
        match &op.body {
            OpBody::Commit { group, queue, offset } => {
                let previous = last.insert((group.as_str(), queue), (*offset, op.index));
                if let Some((previous, previous_op)) = previous {
                    if *offset < previous {
                        let evidence = Evidence::CommitRegression {
                            group: group.clone(),
                            queue: queue.clone(),
                            previous,
                            offset: *offset,
                        };
                        found.push(Anomaly::new(evidence, vec![previous_op, op.index]));
                    }
                }
            }
            OpBody::ResetOffset { group, queue, offset } => {
                last.insert((group.as_str(), queue), (*offset, op.index));
            }
            _ => {}
        }
    }
}
