//! Simulation: many producers putting concurrently under SYNC_FLUSH while the disk loses power at
//! a seeded random moment, with torn pages and, in some runs, failing fsyncs. After each crash
//! the store is reopened on the same disk and must hold every acknowledged put, serve nothing
//! that was never written, and keep its ConsumeQueues equal to the CommitLog's.
//!
//! Run: `MADSIM_TEST_SEED=<n> cargo sim -p apogee-store --test sim_crash`.
#![cfg(madsim)]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{msg, small_config};
use madsim::rand::{thread_rng, Rng};
use protocol::message::decode_message;
use rt::disk::{SimDisk, SimDiskConfig};
use store::{FlushDiskType, GetMessageStatus, MessageStore, PutMessageStatus};

const TOPICS: [&str; 2] = ["SimA", "SimB"];
const QUEUES: i32 = 3;
const ROUNDS: usize = 4;

#[derive(Default)]
struct Ledger {
    acked: HashMap<(String, i32), BTreeMap<i64, Vec<u8>>>,
    pending: HashSet<Vec<u8>>,
    violations: Vec<String>,
}

fn read_queue(store: &MessageStore, topic: &str, queue: i32) -> Vec<(i64, Vec<u8>)> {
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

/// The invariants after a restart; survivors of `pending` become acknowledged (durable now).
fn check(store: &MessageStore, ledger: &mut Ledger, seed_info: &str) {
    store.check_consume_queues().unwrap_or_else(|e| panic!("{seed_info}: {e}"));
    for t in TOPICS {
        for q in 0..QUEUES {
            let served = read_queue(store, t, q);
            let acked = ledger.acked.entry((t.to_owned(), q)).or_default();
            for (i, (off, _)) in served.iter().enumerate() {
                assert_eq!(*off, i as i64, "{seed_info}: {t}/{q} offsets not dense");
            }
            for (off, body) in acked.iter() {
                assert!(
                    served.get(*off as usize).map(|(_, b)| b) == Some(body),
                    "{seed_info}: {t}/{q}: acknowledged record {off} lost or changed"
                );
            }
            for (off, body) in &served {
                if acked.get(off) != Some(body) {
                    assert!(
                        ledger.pending.remove(body),
                        "{seed_info}: {t}/{q}: served record {off} was never written"
                    );
                    acked.insert(*off, body.clone());
                }
            }
        }
    }
    ledger.pending.clear();
}

#[tokio::test]
async fn crash_during_group_commit() {
    let mut rng = thread_rng();
    let page = [512usize, 1024, 4096][rng.gen_range(0..3)];
    let disk = SimDisk::new(SimDiskConfig {
        seed: rng.gen(),
        page_size: page,
        sector_size: 128,
        garble_probability: 0.5,
        ..SimDiskConfig::default()
    });
    let mut config = small_config(FlushDiskType::SyncFlush);
    config.mapped_file_size_commit_log = 16 * 1024;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let next_id = Arc::new(std::sync::atomic::AtomicU64::new(0));
    for round in 0..ROUNDS {
        let store = MessageStore::open(disk.as_disk_ref(), config.clone()).unwrap();
        let info = format!("round {round}");
        check(&store, &mut ledger.lock().unwrap(), &info);
        store.start().unwrap();
        let fail_syncs = rng.gen_bool(0.3);
        let writers = rng.gen_range(16..=64);
        let mut tasks = Vec::new();
        for w in 0..writers {
            let store = store.clone();
            let ledger = ledger.clone();
            let next_id = next_id.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let id = next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let topic = TOPICS[w % 2];
                    let queue = thread_rng().gen_range(0..QUEUES);
                    let mut body = format!("w{w}-id{id}:").into_bytes();
                    body.resize(
                        body.len() + thread_rng().gen_range(0..1500),
                        b'a' + (id % 26) as u8,
                    );
                    ledger.lock().unwrap().pending.insert(body.clone());
                    let poisoned_before = store.poison_reason().is_some();
                    let r =
                        store.put_message(&msg(topic, queue, &body, Some("t"), Some("k"))).await;
                    {
                        let mut l = ledger.lock().unwrap();
                        if r.status == PutMessageStatus::PutOk {
                            if poisoned_before {
                                l.violations.push(format!("put {id} acknowledged after poisoning"));
                            }
                            l.pending.remove(&body);
                            let off = r.append.unwrap().logics_offset;
                            let q = l.acked.entry((topic.to_owned(), queue)).or_default();
                            if q.insert(off, body).is_some() {
                                l.violations
                                    .push(format!("{topic}/{queue}: offset {off} given twice"));
                            }
                        }
                    }
                    let pause = thread_rng().gen_range(0..300);
                    tokio::time::sleep(Duration::from_micros(pause)).await;
                }
            }));
        }
        let run_for = Duration::from_micros(rng.gen_range(200..20_000));
        if fail_syncs {
            tokio::time::sleep(run_for / 2).await;
            disk.set_faults(&SimDiskConfig { sync_error_probability: 0.5, ..disk.config() });
            tokio::time::sleep(run_for / 2).await;
        } else {
            tokio::time::sleep(run_for).await;
        }
        // Power cut: every task stops where it is, then the disk loses what was not durable.
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
        drop(store);
        disk.crash();
        disk.set_faults(&SimDiskConfig::default());
        let l = ledger.lock().unwrap();
        assert!(l.violations.is_empty(), "{:?}", l.violations);
    }
    let store = MessageStore::open(disk.as_disk_ref(), config).unwrap();
    let mut l = ledger.lock().unwrap();
    check(&store, &mut l, "final");
    let acked: usize = l.acked.values().map(|q| q.len()).sum();
    assert!(acked > 0, "the run acknowledged nothing");
    let stats = disk.stats();
    eprintln!("acked {acked} records; disk {stats:?}");
}
