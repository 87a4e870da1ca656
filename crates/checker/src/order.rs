//! Order: per queue and per sharding key.
//!
//! Real-time precedence is the only send order the checkers trust: send A precedes send B when
//! A was acknowledged before B was invoked. Concurrent sends have no order, whichever producer
//! made them. A single producer sending synchronously makes every one of its sends precede the
//! next, which is the case RocketMQ's ordered messages promise.
//!
//! - queue-send-order: if A precedes B and both were acknowledged in the same queue, B's offset
//!   is above A's. The broker assigned A's offset before B existed, so anything else means an
//!   offset was handed out twice or a log was rewritten.
//! - queue-delivery-order: a group's first receipts of a queue's offsets come in offset order.
//! - key-order (openmessaging's OrderChecker, made precise): if A precedes B, both with the same
//!   sharding key, and the group received both, then it first received A before it first
//!   received B. Only first receipts are compared: at-least-once delivery may rewind to an
//!   earlier point and deliver values again, which is allowed, but it must never move forward
//!   past a value it has not delivered yet. Values the group never received are left to the
//!   loss checks, so one lost message is reported once, as loss, not again as disorder of
//!   everything sent after it.
//!
//! Receipts are compared in the order they were recorded, so these checks mean something only
//! for consumers that record in delivery order (orderly push consumers, pull consumers);
//! `CheckOptions::concurrent_consumer` allows them for the others. Monotonic progress within one
//! consumer's tenure is checked per queue by the offset checks.

use std::collections::{BTreeMap, BTreeSet};

use crate::anomaly::{Anomaly, Evidence};
use crate::facts::{Facts, SendFact};
use crate::history::{QueueId, ValueId};

/// Runs the three order checks.
pub(crate) fn check(facts: &Facts, found: &mut Vec<Anomaly>) {
    queue_send_order(facts, found);
    queue_delivery_order(facts, found);
    key_order(facts, found);
}

/// The entries of `earlier` acknowledged before `invoke`, as a prefix length of `earlier`, which
/// is sorted by acknowledgement index.
fn preceding(earlier: &[(u64, usize)], invoke: u64) -> usize {
    earlier.partition_point(|&(ack, _)| ack < invoke)
}

/// Running maxima of `key` over a list, remembering where each maximum came from.
fn running_max<T: Copy + Ord>(keys: impl Iterator<Item = T>) -> Vec<(T, usize)> {
    let mut out: Vec<(T, usize)> = Vec::new();
    for (i, key) in keys.enumerate() {
        let best = match out.last() {
            Some(&(max, at)) if max >= key => (max, at),
            _ => (key, i),
        };
        out.push(best);
    }
    out
}

fn queue_send_order(facts: &Facts, found: &mut Vec<Anomaly>) {
    let mut by_queue: BTreeMap<QueueId, Vec<(&SendFact, u64, i64)>> = BTreeMap::new();
    for send in &facts.sends {
        if let (Some(ack), Some(position)) = (send.ack(), send.acked_position()) {
            by_queue.entry(position.queue).or_default().push((send, ack, position.offset));
        }
    }
    for (queue, mut sends) in by_queue {
        sends.sort_by_key(|&(_, ack, _)| ack);
        let acks: Vec<(u64, usize)> =
            sends.iter().enumerate().map(|(i, &(_, ack, _))| (ack, i)).collect();
        let max = running_max(sends.iter().map(|&(_, _, offset)| offset));
        for &(later, later_ack, later_offset) in &sends {
            let n = preceding(&acks, later.invoke);
            let Some(&(max_offset, at)) = n.checked_sub(1).and_then(|last| max.get(last)) else {
                continue;
            };
            let Some(&(earlier, earlier_ack, _)) = sends.get(at) else {
                continue;
            };
            if max_offset >= later_offset {
                let evidence = Evidence::QueueSendOrder {
                    queue: queue.clone(),
                    earlier: earlier.value,
                    earlier_offset: max_offset,
                    later: later.value,
                    later_offset,
                };
                found.push(Anomaly::new(evidence, vec![earlier_ack, later.invoke, later_ack]));
            }
        }
    }
}

fn queue_delivery_order(facts: &Facts, found: &mut Vec<Anomaly>) {
    // Per (group, queue): offsets received so far, and the highest with the receive showing it.
    type Seen = (BTreeSet<i64>, Option<(i64, u64)>);
    let mut seen: BTreeMap<(&str, &QueueId), Seen> = BTreeMap::new();
    for receive in facts.receives.iter().filter(|r| !r.redelivered) {
        let (delivered, highest) =
            seen.entry((receive.group.as_str(), &receive.queue)).or_default();
        if !delivered.insert(receive.offset) {
            continue;
        }
        match *highest {
            Some((first, index)) if first > receive.offset => {
                let evidence = Evidence::QueueDeliveryOrder {
                    group: receive.group.clone(),
                    queue: receive.queue.clone(),
                    first,
                    then: receive.offset,
                };
                found.push(Anomaly::new(evidence, vec![index, receive.index]));
            }
            _ => *highest = Some((receive.offset, receive.index)),
        }
    }
}

fn key_order(facts: &Facts, found: &mut Vec<Anomaly>) {
    let mut by_key: BTreeMap<&str, Vec<&SendFact>> = BTreeMap::new();
    for send in &facts.sends {
        if let Some(key) = &send.key {
            by_key.entry(key.as_str()).or_default().push(send);
        }
    }
    // Per group, the first receive of each value.
    let mut first_receipt: BTreeMap<&str, BTreeMap<ValueId, u64>> = BTreeMap::new();
    for receive in &facts.receives {
        first_receipt
            .entry(receive.group.as_str())
            .or_default()
            .entry(receive.value)
            .or_insert(receive.index);
    }
    for (group, receipts) in &first_receipt {
        for (key, sends) in &by_key {
            key_order_of(group, key, sends, receipts, found);
        }
    }
}

fn key_order_of(
    group: &str,
    key: &str,
    sends: &[&SendFact],
    receipts: &BTreeMap<ValueId, u64>,
    found: &mut Vec<Anomaly>,
) {
    // Acknowledged sends whose value the group received, by acknowledgement index.
    let mut earlier: Vec<(u64, &SendFact, u64)> =
        sends.iter().filter_map(|s| Some((s.ack()?, *s, *receipts.get(&s.value)?))).collect();
    earlier.sort_by_key(|&(ack, _, _)| ack);
    let acks: Vec<(u64, usize)> = earlier.iter().enumerate().map(|(i, e)| (e.0, i)).collect();
    let max = running_max(earlier.iter().map(|&(_, _, receipt)| receipt));
    let mut reported: BTreeSet<(ValueId, ValueId)> = BTreeSet::new();
    for later in sends {
        let Some(&later_receipt) = receipts.get(&later.value) else {
            continue;
        };
        let n = preceding(&acks, later.invoke);
        let Some(&(max_receipt, at)) = n.checked_sub(1).and_then(|last| max.get(last)) else {
            continue;
        };
        let Some(&(earlier_ack, first, _)) = earlier.get(at) else {
            continue;
        };
        if max_receipt > later_receipt && reported.insert((first.value, later.value)) {
            let evidence = Evidence::KeyOrder {
                group: group.to_owned(),
                key: key.to_owned(),
                earlier: first.value,
                later: later.value,
            };
            let ops = vec![earlier_ack, later.invoke, later_receipt, max_receipt];
            found.push(Anomaly::new(evidence, ops));
        }
    }
}
