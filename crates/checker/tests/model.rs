//! Histories generated from a correct in-memory queue model are judged valid, and deleting the
//! receipts of one acknowledged value makes the verdict invalid with exactly that value lost.
//!
//! The model: queues are append-only logs; producers invoke sends (with or without a sharding
//! key, a key always mapping to the same queue), the message is appended between invocation and
//! completion, and a send may fail (never appended) or end unknown (appended or not). Consumers
//! of one group own disjoint queues and read each in offset order; restarts and rebalances
//! rewind to the committed offset, which produces duplicates, as at-least-once delivery allows.
//! The run ends with every send completed, a drain, and every queue read to its end.

use checker::{
    check, AnomalyKind, CheckOptions, Evidence, History, HistoryBuilder, OpBody, PendingSend,
    QueueId, ValueId,
};
use proptest::prelude::*;
use proptest::sample::Index;

const GROUP: &str = "g";
const PRODUCERS: usize = 3;
const CONSUMERS: usize = 2;
const KEYS: u8 = 3;
/// Consumer processes are numbered after the producers.
const CONSUMER_BASE: u64 = 100;

#[derive(Clone, Debug)]
enum Step {
    /// Invoke a send on an idle producer; `fate` 0 fails, 1 ends unknown unappended, 2 ends
    /// unknown appended, anything else is acknowledged.
    Invoke {
        producer: usize,
        key: Option<u8>,
        queue: usize,
        fate: u8,
    },
    /// Append the producer's message, or complete its send.
    Advance {
        producer: usize,
    },
    Poll {
        consumer: usize,
        pick: usize,
    },
    Commit {
        consumer: usize,
    },
    Restart {
        consumer: usize,
    },
    Rebalance {
        shift: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..PRODUCERS, proptest::option::of(0..KEYS), 0..8usize, 0..8u8).prop_map(
            |(producer, key, queue, fate)| Step::Invoke { producer, key, queue, fate }
        ),
        4 => (0..PRODUCERS).prop_map(|producer| Step::Advance { producer }),
        5 => (0..CONSUMERS, 0..8usize).prop_map(|(consumer, pick)| Step::Poll { consumer, pick }),
        1 => (0..CONSUMERS).prop_map(|consumer| Step::Commit { consumer }),
        1 => (0..CONSUMERS).prop_map(|consumer| Step::Restart { consumer }),
        1 => (0..CONSUMERS).prop_map(|shift| Step::Rebalance { shift }),
    ]
}

struct InFlight {
    pending: PendingSend,
    queue: usize,
    fate: u8,
    appended: Option<i64>,
}

struct Model {
    b: HistoryBuilder,
    logs: Vec<Vec<ValueId>>,
    producers: Vec<Option<InFlight>>,
    next_value: ValueId,
    owner: Vec<usize>,
    position: Vec<i64>,
    committed: Vec<i64>,
    /// Values acknowledged, for the deletion property.
    acked: Vec<ValueId>,
}

fn queue(id: usize) -> QueueId {
    QueueId::new("t", "broker-a", id as i32)
}

fn consumer_process(consumer: usize) -> u64 {
    CONSUMER_BASE + consumer as u64
}

impl Model {
    fn new(queues: usize) -> Self {
        let mut model = Model {
            b: HistoryBuilder::new(),
            logs: vec![Vec::new(); queues],
            producers: (0..PRODUCERS).map(|_| None).collect(),
            next_value: 0,
            owner: (0..queues).map(|q| q % CONSUMERS).collect(),
            position: vec![0; queues],
            committed: vec![0; queues],
            acked: Vec::new(),
        };
        model.assign_all();
        model
    }

    fn owned(&self, consumer: usize) -> Vec<usize> {
        (0..self.logs.len()).filter(|&q| self.owner[q] == consumer).collect()
    }

    fn assign_all(&mut self) {
        for consumer in 0..CONSUMERS {
            let queues = self.owned(consumer).into_iter().map(queue).collect();
            self.b.assign(consumer_process(consumer), GROUP, queues);
        }
    }

    fn apply(&mut self, step: Step) {
        let queues = self.logs.len();
        match step {
            Step::Invoke { producer, key, queue: q, fate } => {
                if self.producers[producer].is_some() {
                    return;
                }
                let value = self.next_value;
                self.next_value += 1;
                let key_name = key.map(|k| format!("k{k}"));
                let q = key.map_or(q, usize::from) % queues;
                let pending = self.b.send(producer as u64, value, key_name.as_deref());
                self.producers[producer] =
                    Some(InFlight { pending, queue: q, fate, appended: None });
            }
            Step::Advance { producer } => self.advance(producer),
            Step::Poll { consumer, pick } => {
                let ready: Vec<usize> = self
                    .owned(consumer)
                    .into_iter()
                    .filter(|&q| self.position[q] < self.logs[q].len() as i64)
                    .collect();
                if !ready.is_empty() {
                    self.read(consumer, ready[pick % ready.len()]);
                }
            }
            Step::Commit { consumer } => self.commit(consumer),
            Step::Restart { consumer } => {
                let owned = self.owned(consumer);
                for &q in &owned {
                    self.position[q] = self.committed[q];
                }
                let assigned = owned.into_iter().map(queue).collect();
                self.b.assign(consumer_process(consumer), GROUP, assigned);
            }
            Step::Rebalance { shift } => {
                for q in 0..queues {
                    let owner = (q + shift) % CONSUMERS;
                    if owner != self.owner[q] {
                        self.owner[q] = owner;
                        self.position[q] = self.committed[q];
                    }
                }
                self.assign_all();
            }
        }
    }

    fn advance(&mut self, producer: usize) {
        let Some(mut flight) = self.producers[producer].take() else {
            return;
        };
        let stored = flight.fate >= 2;
        match (flight.appended, stored) {
            (None, true) => {
                let log = &mut self.logs[flight.queue];
                flight.appended = Some(log.len() as i64);
                log.push(flight.pending.value());
                self.producers[producer] = Some(flight);
            }
            (None, false) if flight.fate == 0 => {
                self.b.send_fail(flight.pending);
            }
            (None, false) => {
                self.b.send_info(flight.pending);
            }
            (Some(_), _) if flight.fate == 2 => {
                self.b.send_info(flight.pending);
            }
            (Some(offset), _) => {
                self.acked.push(flight.pending.value());
                self.b.send_ok(flight.pending, queue(flight.queue), offset);
            }
        }
    }

    fn read(&mut self, consumer: usize, q: usize) {
        let offset = self.position[q];
        let value = self.logs[q][offset as usize];
        self.b.receive(consumer_process(consumer), GROUP, value, queue(q), offset);
        self.position[q] += 1;
    }

    fn commit(&mut self, consumer: usize) {
        for q in self.owned(consumer) {
            self.committed[q] = self.position[q];
            self.b.commit(consumer_process(consumer), GROUP, queue(q), self.position[q]);
        }
    }

    /// Completes every send, drains, and reads every queue to its end.
    fn finish(mut self) -> (History, Vec<ValueId>) {
        for producer in 0..PRODUCERS {
            // At most two steps complete a send: append, then acknowledge.
            self.advance(producer);
            self.advance(producer);
        }
        self.b.drain(consumer_process(0), GROUP);
        for q in 0..self.logs.len() {
            while self.position[q] < self.logs[q].len() as i64 {
                self.read(self.owner[q], q);
            }
        }
        for consumer in 0..CONSUMERS {
            self.commit(consumer);
        }
        (self.b.build(), self.acked)
    }
}

fn run(queues: usize, steps: Vec<Step>) -> (History, Vec<ValueId>) {
    let mut model = Model::new(queues);
    for step in steps {
        model.apply(step);
    }
    model.finish()
}

fn lost(verdict: &checker::Verdict) -> Vec<ValueId> {
    let mut values: Vec<ValueId> =
        [AnomalyKind::LostPrefix, AnomalyKind::LostMiddle, AnomalyKind::LostPostfix]
            .into_iter()
            .flat_map(|kind| verdict.examples(kind).iter())
            .filter_map(|a| match &a.evidence {
                Evidence::Lost { value, .. } => Some(*value),
                _ => None,
            })
            .collect();
    values.sort_unstable();
    values
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn histories_of_a_correct_queue_are_valid(
        queues in 1..4usize,
        steps in proptest::collection::vec(step(), 0..200),
    ) {
        let (history, _) = run(queues, steps);
        let verdict = check(&history, &CheckOptions::default());
        prop_assert!(verdict.valid, "{}", verdict);
        let unexpected: Vec<_> =
            verdict.anomalies.keys().filter(|&&k| k != AnomalyKind::Duplicated).collect();
        prop_assert!(unexpected.is_empty(), "{}", verdict);
        prop_assert_eq!(verdict.stats.lost + verdict.stats.unseen, 0);
    }

    #[test]
    fn deleting_the_receipts_of_one_acked_value_loses_exactly_it(
        queues in 1..4usize,
        steps in proptest::collection::vec(step(), 1..200),
        pick in any::<Index>(),
    ) {
        let (history, acked) = run(queues, steps);
        prop_assume!(!acked.is_empty());
        let victim = acked[pick.index(acked.len())];
        let damaged = history.filtered(|op| {
            !matches!(op.body, OpBody::Receive { value, .. } if value == victim)
        });
        prop_assert!(damaged.len() < history.len());
        let verdict = check(&damaged, &CheckOptions::default());
        prop_assert!(!verdict.valid, "{}", verdict);
        prop_assert_eq!(lost(&verdict), vec![victim], "{}", verdict);
        prop_assert_eq!(verdict.stats.lost, 1);
    }
}
