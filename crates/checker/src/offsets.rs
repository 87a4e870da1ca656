//! Offset checks, after Jepsen's Kafka workload.
//!
//! - inconsistent-offset: one queue offset observed holding two different values, whether the
//!   observations are send acknowledgements or receives. A ConsumeQueue slot is written once; two
//!   values at one offset mean a replica diverged or a truncated log was appended to again.
//! - lost-write: acknowledged at an offset at or below the highest offset of that queue the
//!   group has read, yet never received by the group. It needs no drain: the group has already
//!   read past the value. It assumes groups start from the first offset
//!   (`CONSUME_FROM_FIRST_OFFSET`), as the workloads do.
//! - nonmonotonic-poll: within one tenure (see below) a consumer read offset `m` of a queue right
//!   after offset `n`, with `m <= n`.
//! - poll-skip: within one tenure a consumer read offset `m` right after `n`, and some offset
//!   strictly between them is known to hold a message (from any acknowledgement or receive in
//!   the whole history). Offsets nobody observed are not counted, as Jepsen judges skips against
//!   the observed version order. Tag filtering skips offsets legitimately; workloads that filter
//!   allow this kind.
//!
//! A tenure is one consumer process's continuous ownership of one queue for one group: it
//! starts at the process's first receive from the queue and ends at the process's next `assign`
//! for the group (a rebalance or a restart; at-least-once delivery may then rewind to the
//! committed offset) or at a `reset-offset` of that group and queue. Receives through the retry
//! path (`reconsume_times > 0`) are left out of every offset check, because their offsets may
//! belong to a retry queue.

use std::collections::{BTreeMap, BTreeSet};

use crate::anomaly::{Anomaly, Evidence, Position};
use crate::facts::Facts;
use crate::history::{History, OpBody, OpType, ProcessId, QueueId, ValueId};

/// How many skipped offsets a poll-skip lists; the count stays exact.
const SKIPPED_LISTED_MAX: usize = 8;

/// Runs the offset checks.
pub(crate) fn check(history: &History, facts: &Facts, found: &mut Vec<Anomaly>) {
    let observed = observed_positions(facts);
    inconsistent_offsets(&observed, found);
    lost_writes(facts, found);
    // Per queue, every offset known to hold a message, with the first op showing it.
    let mut known: BTreeMap<&QueueId, BTreeMap<i64, u64>> = BTreeMap::new();
    for (position, values) in &observed {
        let first = values.values().min().copied().unwrap_or_default();
        known.entry(&position.queue).or_default().insert(position.offset, first);
    }
    tenures(history, &known, found);
}

/// Every position observed, with the values seen there and, per value, the first op showing it.
fn observed_positions(facts: &Facts) -> BTreeMap<Position, BTreeMap<ValueId, u64>> {
    let mut observed: BTreeMap<Position, BTreeMap<ValueId, u64>> = BTreeMap::new();
    let acked = facts.sends.iter().filter_map(|s| Some((s.acked_position()?, s.value, s.ack()?)));
    let read =
        facts.receives.iter().filter(|r| !r.redelivered).map(|r| (r.position(), r.value, r.index));
    for (position, value, index) in acked.chain(read) {
        let first = observed.entry(position).or_default().entry(value).or_insert(index);
        *first = (*first).min(index);
    }
    observed
}

fn inconsistent_offsets(
    observed: &BTreeMap<Position, BTreeMap<ValueId, u64>>,
    found: &mut Vec<Anomaly>,
) {
    for (position, values) in observed {
        if values.len() < 2 {
            continue;
        }
        let evidence = Evidence::InconsistentOffset {
            queue: position.queue.clone(),
            offset: position.offset,
            values: values.keys().copied().collect(),
        };
        found.push(Anomaly::new(evidence, values.values().copied().collect()));
    }
}

fn lost_writes(facts: &Facts, found: &mut Vec<Anomaly>) {
    // Per group: every value it received, and per queue the highest offset read, with its op.
    let mut received: BTreeMap<&str, BTreeSet<ValueId>> = BTreeMap::new();
    let mut highest: BTreeMap<(&str, &QueueId), (i64, u64)> = BTreeMap::new();
    for receive in &facts.receives {
        received.entry(receive.group.as_str()).or_default().insert(receive.value);
        if receive.redelivered {
            continue;
        }
        let read = (receive.offset, receive.index);
        highest
            .entry((receive.group.as_str(), &receive.queue))
            .and_modify(|h| {
                if read.0 > h.0 {
                    *h = read;
                }
            })
            .or_insert(read);
    }
    for (group, values) in &received {
        for send in &facts.sends {
            let (Some(ack), Some(position)) = (send.ack(), send.acked_position()) else {
                continue;
            };
            if values.contains(&send.value) {
                continue;
            }
            let Some(&(read_offset, read)) = highest.get(&(*group, &position.queue)) else {
                continue;
            };
            if position.offset <= read_offset {
                let evidence = Evidence::LostWrite {
                    group: (*group).to_owned(),
                    queue: position.queue,
                    offset: position.offset,
                    value: send.value,
                    read_offset,
                };
                found.push(Anomaly::new(evidence, vec![ack, read]));
            }
        }
    }
}

/// Walks the history once, tracking each tenure's last read offset.
fn tenures(
    history: &History,
    known: &BTreeMap<&QueueId, BTreeMap<i64, u64>>,
    found: &mut Vec<Anomaly>,
) {
    // (group, process, queue) -> the offset last read in the current tenure and its op.
    let mut last: BTreeMap<(&str, ProcessId, &QueueId), (i64, u64)> = BTreeMap::new();
    for op in history.ops().iter().filter(|op| op.kind == OpType::Ok) {
        match &op.body {
            OpBody::Assign { group, .. } => {
                last.retain(|&(g, process, _), _| g != group || process != op.process);
            }
            OpBody::ResetOffset { group, queue, .. } => {
                last.retain(|&(g, _, q), _| g != group || q != queue);
            }
            OpBody::Receive { group, queue, offset, reconsume_times: 0, .. } => {
                let key = (group.as_str(), op.process, queue);
                let Some((previous, previous_op)) = last.insert(key, (*offset, op.index)) else {
                    continue;
                };
                let ops = vec![previous_op, op.index];
                if *offset <= previous {
                    let evidence = Evidence::NonmonotonicPoll {
                        group: group.clone(),
                        process: op.process,
                        queue: queue.clone(),
                        previous,
                        offset: *offset,
                    };
                    found.push(Anomaly::new(evidence, ops));
                    continue;
                }
                let skipped: Vec<(i64, u64)> = known
                    .get(queue)
                    .map(|offsets| {
                        offsets.range(previous + 1..*offset).map(|(&o, &at)| (o, at)).collect()
                    })
                    .unwrap_or_default();
                if let Some(&(_, shown_at)) = skipped.first() {
                    // The op that shows the first skipped offset holds a message completes the
                    // evidence.
                    let ops = vec![previous_op, shown_at, op.index];
                    let evidence = Evidence::PollSkip {
                        group: group.clone(),
                        process: op.process,
                        queue: queue.clone(),
                        previous,
                        offset: *offset,
                        skipped_count: skipped.len(),
                        skipped: skipped.iter().map(|&(o, _)| o).take(SKIPPED_LISTED_MAX).collect(),
                    };
                    found.push(Anomaly::new(evidence, ops));
                }
            }
            _ => {}
        }
    }
}
