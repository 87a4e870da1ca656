//! Queue allocation strategies for clustering consumers (RocketMQ
//! `AllocateMessageQueueStrategy`): every consumer of a group runs the same function over the
//! same sorted inputs and takes its own share, so the shares never overlap.

use crate::message::MessageQueue;

/// Splits a topic's queues among a group's consumers.
pub trait AllocateMessageQueueStrategy: Send + Sync + 'static {
    /// The queues of `current_cid` out of `mq_all`, given every consumer id `cid_all`. Both
    /// lists are sorted by the caller. An id not in `cid_all` gets nothing.
    fn allocate(
        &self,
        group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue>;

    /// The strategy's RocketMQ name.
    fn name(&self) -> &'static str;
}

/// Contiguous blocks, the first `queues % consumers` consumers taking one more (RocketMQ's
/// default, `AVG`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocateMessageQueueAveragely;

impl AllocateMessageQueueStrategy for AllocateMessageQueueAveragely {
    fn allocate(
        &self,
        _group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = cid_all.iter().position(|c| c == current_cid) else {
            return Vec::new();
        };
        let (queues, consumers) = (mq_all.len(), cid_all.len());
        let rem = queues % consumers;
        let size = if queues <= consumers {
            1
        } else if rem > 0 && index < rem {
            queues / consumers + 1
        } else {
            queues / consumers
        };
        let start = if rem > 0 && index < rem { index * size } else { index * size + rem };
        let range = size.min(queues.saturating_sub(start));
        mq_all.iter().skip(start).take(range).cloned().collect()
    }

    fn name(&self) -> &'static str {
        "AVG"
    }
}

/// Round robin: consumer `i` takes queues `i`, `i + n`, `i + 2n`, ... (RocketMQ `AVG_BY_CIRCLE`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocateMessageQueueAveragelyByCircle;

impl AllocateMessageQueueStrategy for AllocateMessageQueueAveragelyByCircle {
    fn allocate(
        &self,
        _group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = cid_all.iter().position(|c| c == current_cid) else {
            return Vec::new();
        };
        mq_all.iter().skip(index).step_by(cid_all.len()).cloned().collect()
    }

    fn name(&self) -> &'static str {
        "AVG_BY_CIRCLE"
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn mqs(n: i32) -> Vec<MessageQueue> {
        (0..n)
            .map(|i| MessageQueue { topic: "T".into(), broker_name: "b".into(), queue_id: i })
            .collect()
    }

    fn cids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    fn ids(v: &[MessageQueue]) -> Vec<i32> {
        v.iter().map(|m| m.queue_id).collect()
    }

    /// Every queue is taken exactly once, whatever the split.
    fn check_partition(s: &dyn AllocateMessageQueueStrategy, queues: i32, consumers: usize) {
        let (all, cids) = (mqs(queues), cids(consumers));
        let mut seen = BTreeSet::new();
        for c in &cids {
            for mq in s.allocate("G", c, &all, &cids) {
                assert!(seen.insert(mq.queue_id), "{} gave queue {} twice", s.name(), mq.queue_id);
            }
        }
        assert_eq!(seen.len(), queues as usize, "{} {queues}/{consumers}", s.name());
    }

    #[test]
    fn averagely_uneven_splits() {
        let s = AllocateMessageQueueAveragely;
        let (all, c) = (mqs(8), cids(3));
        assert_eq!(ids(&s.allocate("G", "c0", &all, &c)), vec![0, 1, 2]);
        assert_eq!(ids(&s.allocate("G", "c1", &all, &c)), vec![3, 4, 5]);
        assert_eq!(ids(&s.allocate("G", "c2", &all, &c)), vec![6, 7]);
        // More consumers than queues: the extra ones idle.
        let (all, c) = (mqs(2), cids(3));
        assert_eq!(ids(&s.allocate("G", "c1", &all, &c)), vec![1]);
        assert!(s.allocate("G", "c2", &all, &c).is_empty());
        assert!(s.allocate("G", "stranger", &all, &c).is_empty());
        for (q, n) in [(8, 3), (4, 4), (5, 2), (1, 3), (16, 5), (0, 2)] {
            check_partition(&s, q, n);
        }
    }

    #[test]
    fn by_circle() {
        let s = AllocateMessageQueueAveragelyByCircle;
        let (all, c) = (mqs(8), cids(3));
        assert_eq!(ids(&s.allocate("G", "c0", &all, &c)), vec![0, 3, 6]);
        assert_eq!(ids(&s.allocate("G", "c2", &all, &c)), vec![2, 5]);
        for (q, n) in [(8, 3), (4, 4), (5, 2), (1, 3), (16, 5)] {
            check_partition(&s, q, n);
        }
    }
}
