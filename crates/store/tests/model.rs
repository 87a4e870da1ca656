//! Model test: random appends (single and batch), flushes, checkpoints, reads, concurrent puts cut
//! short by a power cut, injected fsync failures, crashes and clean restarts, on a SimDisk in
//! SYNC_FLUSH mode with tiny segments, compared with a plain in-memory model. After every
//! restart the recovery invariants must hold:
//! - every acknowledged record is readable, at its acknowledged queue offset, byte-identical;
//! - nothing is served that was never written or that the model knows lost; every served record
//!   passes its CRC;
//! - each ConsumeQueue equals one rebuilt from the CommitLog, with dense offsets min..max.
#![cfg(not(madsim))]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use common::{msg, small_config};
use proptest::prelude::*;
use protocol::message::decode_message;
use rt::disk::{SimDisk, SimDiskConfig};
use store::{FlushDiskType, GetMessageStatus, MessageStore, PutMessageStatus};

const TOPICS: [&str; 3] = ["TopicA", "TopicB", "%RETRY%g"];

#[derive(Debug, Clone)]
enum Op {
    Put {
        topic: usize,
        queue: i32,
        size: usize,
    },
    Batch {
        topic: usize,
        queue: i32,
        sizes: Vec<usize>,
    },
    /// Spawns `n` puts, lets the runtime run `yields` steps, then cuts the power.
    ConcurrentThenCrash {
        n: usize,
        yields: usize,
        topic: usize,
    },
    /// The next fsync fails: that put and every later one must be refused; then a crash.
    FailSyncThenCrash {
        topic: usize,
    },
    Flush,
    Checkpoint,
    Read {
        topic: usize,
        queue: i32,
    },
    Crash,
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3usize, 0..2i32, 0..2500usize).prop_map(|(topic, queue, size)| Op::Put { topic, queue, size }),
        2 => (0..3usize, 0..2i32, prop::collection::vec(0..900usize, 1..6))
            .prop_map(|(topic, queue, sizes)| Op::Batch { topic, queue, sizes }),
        2 => (1..12usize, 0..30usize, 0..3usize)
            .prop_map(|(n, yields, topic)| Op::ConcurrentThenCrash { n, yields, topic }),
        1 => (0..3usize).prop_map(|topic| Op::FailSyncThenCrash { topic }),
        1 => Just(Op::Flush),
        1 => Just(Op::Checkpoint),
        2 => (0..3usize, 0..2i32).prop_map(|(topic, queue)| Op::Read { topic, queue }),
        1 => Just(Op::Crash),
        1 => Just(Op::Restart),
    ]
}

type QueueKey = (String, i32);

/// The `idN` prefix of a body, for messages.
fn id_of(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(12)]).into_owned()
}

/// What the store must (acked) and may (pending) hold.
#[derive(Default)]
struct Model {
    next_id: u64,
    /// Acknowledged records by queue and offset.
    acked: HashMap<QueueKey, BTreeMap<i64, Vec<u8>>>,
    /// Bodies written but not acknowledged: may have survived, may not.
    pending: HashSet<Vec<u8>>,
}

impl Model {
    fn body(&mut self, size: usize) -> Vec<u8> {
        self.next_id += 1;
        let mut b = format!("id{}:", self.next_id).into_bytes();
        b.resize(b.len() + size, b'a' + (self.next_id % 26) as u8);
        b
    }
}

struct Harness {
    disk: SimDisk,
    store: Option<Arc<MessageStore>>,
    model: Model,
    /// Bodies known lost in a crash: they must never be served again.
    lost_forever: Vec<Vec<u8>>,
}

fn config() -> store::MessageStoreConfig {
    small_config(FlushDiskType::SyncFlush)
}

impl Harness {
    fn store(&self) -> &Arc<MessageStore> {
        self.store.as_ref().unwrap()
    }

    fn open(&mut self) {
        let store = MessageStore::open(self.disk.as_disk_ref(), config()).unwrap();
        store.start().unwrap();
        self.store = Some(store);
        self.check_after_restart();
    }

    async fn put(&mut self, topic: usize, queue: i32, sizes: &[usize]) {
        let bodies: Vec<Vec<u8>> = sizes.iter().map(|s| self.model.body(*s)).collect();
        let msgs: Vec<_> =
            bodies.iter().map(|b| msg(TOPICS[topic], queue, b, Some("t"), Some("k"))).collect();
        let r = self.store().put_messages(&msgs).await;
        self.record(topic, queue, bodies, r);
    }

    fn record(
        &mut self,
        topic: usize,
        queue: i32,
        bodies: Vec<Vec<u8>>,
        r: store::PutMessageResult,
    ) {
        if r.status == PutMessageStatus::PutOk {
            let first = r.append.unwrap().logics_offset;
            let q = self.model.acked.entry((TOPICS[topic].to_owned(), queue)).or_default();
            for (i, b) in bodies.into_iter().enumerate() {
                assert!(q.insert(first + i as i64, b).is_none(), "queue offset handed out twice");
            }
        } else {
            assert!(r.status != PutMessageStatus::MessageIllegal, "{r:?}");
            self.model.pending.extend(bodies);
        }
    }

    /// Cuts the power: the store's tasks stop where they are, unsynced bytes may be lost.
    fn crash(&mut self) {
        drop(self.store.take());
        self.disk.crash();
        self.disk.set_faults(&SimDiskConfig { sync_error_probability: 0.0, ..self.disk.config() });
        self.open();
    }

    async fn restart(&mut self) {
        let store = self.store.take().unwrap();
        store.shutdown().await.unwrap();
        drop(store);
        let store = MessageStore::open(self.disk.as_disk_ref(), config()).unwrap();
        assert!(!store.recovery_report().abnormal);
        assert_eq!(store.recovery_report().scanned_bytes(), 0);
        store.start().unwrap();
        self.store = Some(store);
        self.check_after_restart();
    }

    /// Every queue's records as (offset, decoded body), CRC-checked.
    fn read_queue(&self, topic: &str, queue: i32) -> Vec<(i64, Vec<u8>)> {
        let store = self.store();
        let mut out = Vec::new();
        let mut off = store.min_offset_in_queue(topic, queue);
        let max = store.max_offset_in_queue(topic, queue);
        while off < max {
            let r = store.get_message(topic, queue, off, 32, usize::MAX, None);
            assert_eq!(r.status, GetMessageStatus::Found, "{topic}/{queue} at {off} of {max}");
            for (rec, qo) in r.messages.iter().zip(&r.message_queue_offsets) {
                let m = decode_message(rec, true).expect("served record fails its checks");
                assert_eq!((m.topic.as_str(), m.queue_id, m.queue_offset), (topic, queue, *qo));
                out.push((*qo, m.body.to_vec()));
            }
            off = r.next_begin_offset;
        }
        out
    }

    fn check_after_restart(&mut self) {
        let store = self.store().clone();
        store.check_consume_queues().unwrap();
        for t in TOPICS {
            for q in 0..2 {
                let key = (t.to_owned(), q);
                let served = self.read_queue(t, q);
                let acked = self.model.acked.entry(key).or_default();
                // Dense from 0 (nothing is deleted in this test).
                for (i, (off, _)) in served.iter().enumerate() {
                    assert_eq!(*off, i as i64, "{t}/{q}: offsets not dense");
                }
                for (off, body) in acked.iter() {
                    let got = served.get(*off as usize).map(|(_, b)| b);
                    assert!(
                        got == Some(body),
                        "{t}/{q}: acknowledged record {off} ({}) lost or changed",
                        id_of(body)
                    );
                }
                for (off, body) in &served {
                    if acked.get(off) != Some(body) {
                        assert!(
                            self.model.pending.remove(body),
                            "{t}/{q}: served record {off} was never written or is known lost"
                        );
                        // It survived the crash, so it is durable now: the store must keep it.
                        acked.insert(*off, body.clone());
                    }
                }
                assert_eq!(store.queue_next_offset(t, q), served.len() as i64);
            }
        }
        // The index holds every record's key exactly once.
        for t in TOPICS {
            let total: usize = (0..2).map(|q| self.read_queue(t, q).len()).sum();
            let found = store.query_message(t, "k", 100_000, 0, i64::MAX).unwrap();
            assert_eq!(found.messages.len(), total, "{t}: index entries for key k");
        }
        // Whatever pending did not survive is lost for good and must never appear later.
        let lost = std::mem::take(&mut self.model.pending);
        self.lost_forever.extend(lost);
    }
}

async fn run(ops: Vec<Op>, seed: u64) {
    let disk = SimDisk::new(SimDiskConfig {
        seed,
        page_size: 512,
        sector_size: 128,
        // Half the damaged pages are garbled rather than torn: a record's header and tail may
        // survive around garbage, and only its CRC keeps it from being served.
        garble_probability: 0.5,
        ..SimDiskConfig::default()
    });
    let mut h = Harness { disk, store: None, model: Model::default(), lost_forever: Vec::new() };
    h.open();
    for op in ops {
        match op {
            Op::Put { topic, queue, size } => h.put(topic, queue, &[size]).await,
            Op::Batch { topic, queue, sizes } => h.put(topic, queue, &sizes).await,
            Op::ConcurrentThenCrash { n, yields, topic } => {
                let mut tasks = Vec::new();
                for i in 0..n {
                    let body = h.model.body(50 + i * 37);
                    let m = msg(TOPICS[topic], (i % 2) as i32, &body, None, Some("k"));
                    let store = h.store().clone();
                    tasks.push((i, body, tokio::spawn(async move { store.put_message(&m).await })));
                }
                for _ in 0..yields {
                    tokio::task::yield_now().await;
                }
                for (i, body, t) in tasks {
                    if t.is_finished() {
                        let r = t.await.unwrap();
                        h.record(topic, (i % 2) as i32, vec![body], r);
                    } else {
                        t.abort();
                        let _ = t.await;
                        h.model.pending.insert(body);
                    }
                }
                h.crash();
            }
            Op::FailSyncThenCrash { topic } => {
                let acked = |h: &Harness| h.model.acked.values().map(|q| q.len()).sum::<usize>();
                let before = acked(&h);
                h.disk
                    .set_faults(&SimDiskConfig { sync_error_probability: 1.0, ..h.disk.config() });
                h.put(topic, 0, &[10]).await;
                h.put(topic, 1, &[20]).await;
                assert_eq!(acked(&h), before, "acknowledged while every fsync fails");
                // Faults off again: a poisoned store must still refuse, it cannot know what the
                // failed fsync lost.
                h.disk
                    .set_faults(&SimDiskConfig { sync_error_probability: 0.0, ..h.disk.config() });
                if h.store().poison_reason().is_some() {
                    h.put(topic, 0, &[30]).await;
                    assert_eq!(acked(&h), before, "acknowledged after a failed fsync");
                }
                h.crash();
            }
            Op::Flush => {
                h.store().flush().unwrap();
            }
            Op::Checkpoint => {
                h.store().checkpoint().unwrap();
            }
            Op::Read { topic, queue } => {
                let store = h.store().clone();
                store.wait_dispatched(store.flushed_where()).await;
                let served = h.read_queue(TOPICS[topic], queue);
                let acked = &h.model.acked[&(TOPICS[topic].to_owned(), queue)];
                assert_eq!(served.len(), acked.len());
            }
            Op::Crash => h.crash(),
            Op::Restart => h.restart().await,
        }
    }
    for body in &h.lost_forever {
        for t in TOPICS {
            for q in 0..2 {
                assert!(
                    !h.read_queue(t, q).iter().any(|(_, b)| b == body),
                    "a lost record came back"
                );
            }
        }
    }
}

proptest! {
    // PROPTEST_CASES raises the count for longer runs.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        ..ProptestConfig::default()
    })]

    #[test]
    fn store_matches_model_across_crashes(ops in prop::collection::vec(op(), 1..40), seed in any::<u64>()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(run(ops, seed));
    }
}

/// A case the model found: records that survived a crash after failed fsyncs must be indexed.
#[test]
fn regression_index_after_failed_fsyncs() {
    use Op::*;
    let ops = vec![
        Put { topic: 1, queue: 0, size: 2366 },
        Crash,
        FailSyncThenCrash { topic: 0 },
        Put { topic: 0, queue: 1, size: 880 },
        Batch { topic: 0, queue: 0, sizes: vec![722] },
        Put { topic: 1, queue: 1, size: 2158 },
        Crash,
        Put { topic: 0, queue: 0, size: 627 },
        ConcurrentThenCrash { n: 6, yields: 1, topic: 0 },
        Put { topic: 0, queue: 0, size: 2420 },
        Checkpoint,
        FailSyncThenCrash { topic: 2 },
        FailSyncThenCrash { topic: 2 },
    ];
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    rt.block_on(run(ops, 7689071068674231200));
}

/// A failed fsync while a put creates the next CommitLog segment poisons the store (found by the
/// cluster simulation: the put failed with CREATE_MAPPED_FILE_FAILED, every later put failed the
/// same way because the half-made file keeps failing its syncs, and nothing restarted the store
/// because it did not look poisoned).
#[test]
fn failed_sync_creating_a_segment_poisons() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    rt.block_on(async {
        let disk = SimDisk::new(SimDiskConfig { seed: 7, ..SimDiskConfig::default() });
        let config = small_config(FlushDiskType::AsyncFlush);
        let store = MessageStore::open(disk.as_disk_ref(), config.clone()).unwrap();
        store.start().unwrap();
        let m = msg("TopicA", 0, &[7u8; 1000], None, None);
        let first = store.put_message(&m).await;
        assert_eq!(first.status, PutMessageStatus::PutOk);
        let per_segment =
            config.mapped_file_size_commit_log / first.append.unwrap().wrote_bytes as u64;
        for _ in 1..per_segment {
            assert_eq!(store.put_message(&m).await.status, PutMessageStatus::PutOk);
        }
        disk.set_faults(&SimDiskConfig { sync_error_probability: 1.0, ..SimDiskConfig::default() });
        // This put needs the next segment, whose creation syncs the new file.
        assert_eq!(store.put_message(&m).await.status, PutMessageStatus::CreateMappedFileFailed);
        assert!(store.poison_reason().is_some());
        disk.set_faults(&SimDiskConfig::default());
        assert_eq!(store.put_message(&m).await.status, PutMessageStatus::ServiceNotAvailable);
    });
}

/// A failed sync while dispatching (a ConsumeQueue or index file being created or sealed)
/// poisons the store: the file would fail every later sync, dispatch would stall behind it for
/// good, and puts acknowledged meanwhile would never become readable.
#[test]
fn failed_sync_while_dispatching_poisons() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    rt.block_on(async {
        let disk = SimDisk::new(SimDiskConfig { seed: 7, ..SimDiskConfig::default() });
        let store = MessageStore::open(disk.as_disk_ref(), small_config(FlushDiskType::AsyncFlush))
            .unwrap();
        store.start().unwrap();
        let first = msg("TopicA", 0, b"first", None, Some("k0"));
        assert_eq!(store.put_message(&first).await.status, PutMessageStatus::PutOk);
        store.wait_dispatched(store.max_phy_offset()).await;
        assert!(store.poison_reason().is_none());

        disk.set_faults(&SimDiskConfig { sync_error_probability: 1.0, ..SimDiskConfig::default() });
        // More entries than one ConsumeQueue file and one index file hold: dispatching them
        // creates (and syncs) new files.
        for i in 1..48 {
            let m = msg("TopicA", 0, b"more", None, Some(&format!("k{i}")));
            assert_eq!(store.put_message(&m).await.status, PutMessageStatus::PutOk);
        }
        let mut reason = None;
        for _ in 0..100 {
            reason = store.poison_reason();
            if reason.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let reason = reason.expect("a failed sync while dispatching must poison the store");
        assert!(reason.contains("dispatch"), "{reason}");
        disk.set_faults(&SimDiskConfig::default());
        assert_eq!(store.put_message(&first).await.status, PutMessageStatus::ServiceNotAvailable);
    });
}
