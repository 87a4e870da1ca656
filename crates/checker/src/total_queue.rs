//! Jepsen's total-queue check, per consumer group, with NATS-style classification of losses.
//!
//! Every group subscribed to a topic must see every message (RocketMQ's clustering mode), so each
//! group that appears in the history (in a receive, commit, reset, assign or drain) is judged on
//! its own; a history without any group judges no loss:
//! - lost: acknowledged before the group's drain began, never received by the group;
//! - unseen: acknowledged and not received, where the group did not drain (or the ack came
//!   after its drain began), so loss cannot be judged;
//! - unexpected: received but never attempted;
//! - duplicated: received more often than attempted (allowed under at-least-once);
//! - failed-send-received: received although every attempt to send it definitely failed.
//!
//! Loss is judged on sets of values, as the NATS checker does: a value acknowledged twice and
//! received once is not lost. Workloads give every attempt a fresh value, so nothing is missed.
//!
//! Classification. Each attempted value belongs to one stream: its sharding key if it has one,
//! else the queue it was stored in (from its acknowledgement, or where it was first read), else
//! the producer that sent it. Within a stream values are ranked by the invocation index of their
//! first attempt, except in a queue stream, where the offset ranks them, because concurrent
//! producers can be stored in a different order than they were invoked. For a group, a lost value
//! ranked below the first value of its stream the group received is a lost prefix (the broker
//! may have started over), one ranked below the last received value is a lost middle (plain
//! loss: both neighbours arrived), and the rest, including every lost value of a stream the group
//! received nothing of, are a lost postfix (a lost tail, which an asynchronous flush permits).

use std::collections::BTreeMap;

use crate::anomaly::{Anomaly, Evidence, LossPosition, Position, Stream};
use crate::facts::{Facts, Outcome, ReceiveFact, SendFact};
use crate::history::ValueId;
use crate::verdict::Stats;

/// A value's stream and its rank within it.
#[derive(Clone, Debug)]
struct Placement {
    stream: Stream,
    rank: i128,
}

/// The received values of one stream with the lowest and the highest rank.
#[derive(Clone, Copy, Debug)]
struct ReadBounds {
    first: (i128, ValueId, u64),
    last: (i128, ValueId, u64),
}

/// Runs the check and fills the total-queue fields of `stats`.
pub(crate) fn check(facts: &Facts, stats: &mut Stats, found: &mut Vec<Anomaly>) {
    let sends = facts.sends_by_value();
    let received = facts.received_by_group();
    let placements = place(facts, &sends);
    count_sends(facts, stats);
    stats.received = facts.receives.len();
    stats.groups = facts.groups.len();
    stats.drained_groups = facts.drains.len();
    stats.recovered = sends
        .iter()
        .filter(|(value, attempts)| {
            attempts.iter().all(|s| s.outcome != Outcome::Acked)
                && attempts.iter().any(|s| s.outcome == Outcome::Unknown)
                && received.values().any(|by_value| by_value.contains_key(value))
        })
        .count();
    let empty = BTreeMap::new();
    for group in &facts.groups {
        let by_value = received.get(group.as_str()).unwrap_or(&empty);
        let drain = facts.drains.get(group).copied();
        check_receipts(group, &sends, by_value, stats, found);
        let bounds = read_bounds(by_value, &placements);
        for (value, attempts) in &sends {
            if by_value.contains_key(value) {
                continue;
            }
            let Some(ack) = attempts.iter().filter_map(|s| s.ack()).min() else {
                continue;
            };
            match drain {
                Some(drain) if ack < drain => {
                    let placement = placements.get(value);
                    let mut ops = vec![ack];
                    ops.extend(facts.drain_op(group));
                    let lost = classify(group, *value, placement, &bounds, ops);
                    match &lost.evidence {
                        Evidence::Lost { position: LossPosition::Prefix, .. } => {
                            stats.lost_prefix += 1
                        }
                        Evidence::Lost { position: LossPosition::Middle, .. } => {
                            stats.lost_middle += 1
                        }
                        _ => stats.lost_postfix += 1,
                    }
                    stats.lost += 1;
                    found.push(lost);
                }
                _ => {
                    stats.unseen += 1;
                    let evidence = Evidence::Unseen { group: group.clone(), value: *value };
                    found.push(Anomaly::new(evidence, vec![ack]));
                }
            }
        }
    }
}

fn count_sends(facts: &Facts, stats: &mut Stats) {
    stats.attempted = facts.sends.len();
    for send in &facts.sends {
        match send.outcome {
            Outcome::Acked => stats.acked += 1,
            Outcome::Failed => stats.failed += 1,
            Outcome::Unknown => stats.unknown += 1,
        }
    }
}

/// Unexpected, duplicated and failed-send-received values of one group.
fn check_receipts(
    group: &str,
    sends: &BTreeMap<ValueId, Vec<&SendFact>>,
    by_value: &BTreeMap<ValueId, Vec<&ReceiveFact>>,
    stats: &mut Stats,
    found: &mut Vec<Anomaly>,
) {
    for (value, receives) in by_value {
        let ops: Vec<u64> = receives.iter().map(|r| r.index).collect();
        let Some(attempts) = sends.get(value) else {
            stats.unexpected += 1;
            let evidence = Evidence::Unexpected {
                group: group.to_owned(),
                value: *value,
                received: ops.len(),
            };
            found.push(Anomaly::new(evidence, ops));
            continue;
        };
        if receives.len() > attempts.len() {
            stats.duplicated += 1;
            let mut positions: Vec<Position> = receives.iter().map(|r| r.position()).collect();
            positions.sort();
            positions.dedup();
            let evidence = Evidence::Duplicated {
                group: group.to_owned(),
                value: *value,
                attempts: attempts.len(),
                received: receives.len(),
                positions,
            };
            // Two receives show it for a value sent once; list them all when there are more
            // attempts to account for.
            let shown = ops.iter().copied().take(attempts.len() + 1).collect();
            found.push(Anomaly::new(evidence, shown));
        }
        if attempts.iter().all(|s| s.outcome == Outcome::Failed) {
            let mut ops: Vec<u64> = attempts.iter().filter_map(|s| s.completion).collect();
            ops.extend(receives.first().map(|r| r.index));
            let evidence = Evidence::FailedSendReceived { group: group.to_owned(), value: *value };
            found.push(Anomaly::new(evidence, ops));
        }
    }
}

/// The stream and rank of every attempted value (see the module documentation).
fn place(facts: &Facts, sends: &BTreeMap<ValueId, Vec<&SendFact>>) -> BTreeMap<ValueId, Placement> {
    // Where each value was first read, by any group, outside the retry path.
    let mut first_read: BTreeMap<ValueId, Position> = BTreeMap::new();
    for receive in facts.receives.iter().filter(|r| !r.redelivered) {
        first_read.entry(receive.value).or_insert_with(|| receive.position());
    }
    let mut placements = BTreeMap::new();
    for (value, attempts) in sends {
        let Some(first) = attempts.first() else {
            continue;
        };
        let invoked = i128::from(first.invoke);
        let placement = if let Some(key) = attempts.iter().find_map(|s| s.key.clone()) {
            Placement { stream: Stream::Key(key), rank: invoked }
        } else if let Some(position) = attempts
            .iter()
            .find_map(|s| s.acked_position())
            .or_else(|| first_read.get(value).cloned())
        {
            Placement { stream: Stream::Queue(position.queue), rank: i128::from(position.offset) }
        } else {
            Placement { stream: Stream::Process(first.process), rank: invoked }
        };
        placements.insert(*value, placement);
    }
    placements
}

/// Per stream, the lowest- and highest-ranked values the group received, with a receive of each.
fn read_bounds(
    by_value: &BTreeMap<ValueId, Vec<&ReceiveFact>>,
    placements: &BTreeMap<ValueId, Placement>,
) -> BTreeMap<Stream, ReadBounds> {
    let mut bounds: BTreeMap<Stream, ReadBounds> = BTreeMap::new();
    for (value, receives) in by_value {
        let (Some(placement), Some(receive)) = (placements.get(value), receives.first()) else {
            continue;
        };
        let read = (placement.rank, *value, receive.index);
        bounds
            .entry(placement.stream.clone())
            .and_modify(|b| {
                if read < b.first {
                    b.first = read;
                }
                if read > b.last {
                    b.last = read;
                }
            })
            .or_insert(ReadBounds { first: read, last: read });
    }
    bounds
}

fn classify(
    group: &str,
    value: ValueId,
    placement: Option<&Placement>,
    bounds: &BTreeMap<Stream, ReadBounds>,
    mut ops: Vec<u64>,
) -> Anomaly {
    // Every acknowledged value has a placement; the fallback only keeps this total.
    let (stream, rank) = match placement {
        Some(p) => (p.stream.clone(), p.rank),
        None => (Stream::Process(0), 0),
    };
    let bound = bounds.get(&stream).copied();
    let position = match bound {
        Some(b) if rank < b.first.0 => {
            ops.push(b.first.2);
            LossPosition::Prefix
        }
        Some(b) if rank < b.last.0 => {
            ops.extend([b.first.2, b.last.2]);
            LossPosition::Middle
        }
        Some(b) => {
            ops.push(b.last.2);
            LossPosition::Postfix
        }
        None => LossPosition::Postfix,
    };
    let read_bounds = bound.map(|b| (b.first.1, b.last.1));
    let evidence = Evidence::Lost { group: group.to_owned(), value, stream, position, read_bounds };
    Anomaly::new(evidence, ops)
}
