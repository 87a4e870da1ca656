//! The disk plugin inside the simulator: a node appends to a commit-log-like segment, flushing
//! now and then, and the harness cuts its power at a random moment (`kill`), restarts it and
//! checks what the next incarnation finds. Run for many seeds:
//! `for s in $(seq 1 50); do MADSIM_TEST_SEED=$s cargo sim -p apogee-rt --test sim_disk; done`.

#![cfg(madsim)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use madsim::runtime::{Handle, NodeHandle};
use madsim::task::NodeId;
use rt::disk::{read_file, sim_plugin, write_file_atomic, Disk, FileRef, OpenMode, SimDiskConfig};

const SEGMENT: &str = "commitlog/00000000000000000000";
const SEGMENT_LEN: u64 = 512 * 1024;

fn p(s: &str) -> &Path {
    Path::new(s)
}

/// What the writer did, kept outside the node so it survives the kill (the test's oracle).
#[derive(Debug, Default)]
struct Oracle {
    /// Every byte appended so far (recorded before the write, so it may be ahead of the disk).
    appended: Vec<u8>,
    /// Bytes known durable: recorded after the covering `sync_range` returned.
    flushed: usize,
    /// Checkpoint values whose atomic write started, and the last one that completed.
    checkpoints_started: Vec<u64>,
    checkpoint_done: Option<u64>,
    /// Scratch files created without a folder sync.
    scratch: Vec<String>,
    /// The writer's segment handle, to check it is dead after the crash.
    handle: Option<FileRef>,
}

type Shared = Arc<Mutex<Oracle>>;

/// The first incarnation: sets up the store folders durably, then appends records forever.
async fn writer(oracle: Shared) {
    let disk = rt::disk::node_disk();
    disk.create_dir_all(p("commitlog")).unwrap();
    disk.create_dir_all(p("config")).unwrap();
    disk.create_dir_all(p("scratch")).unwrap();
    disk.sync_dir(p("")).unwrap();
    let seg = disk.open_segment(p(SEGMENT), SEGMENT_LEN).unwrap();
    seg.sync().unwrap();
    disk.sync_dir(p("commitlog")).unwrap();
    oracle.lock().unwrap().handle = Some(seg.clone());
    let mut pos = 0usize;
    for record in 0u64.. {
        let len = rt::rand::range(1..6_000usize).min(SEGMENT_LEN as usize - pos);
        if len == 0 {
            break;
        }
        let data = vec![(record % 251) as u8 + 1; len];
        oracle.lock().unwrap().appended.extend_from_slice(&data);
        seg.write_at(pos as u64, &data).unwrap();
        pos += len;
        if rt::rand::chance(0.3) {
            let flushed = oracle.lock().unwrap().flushed;
            seg.sync_range(flushed as u64, (pos - flushed) as u64).unwrap();
            oracle.lock().unwrap().flushed = pos;
        }
        if rt::rand::chance(0.1) {
            let value = oracle.lock().unwrap().flushed as u64;
            oracle.lock().unwrap().checkpoints_started.push(value);
            write_file_atomic(&*disk, p("config/checkpoint"), value.to_string().as_bytes())
                .unwrap();
            oracle.lock().unwrap().checkpoint_done = Some(value);
        }
        if rt::rand::chance(0.05) {
            let name = format!("tmp-{record}");
            oracle.lock().unwrap().scratch.push(name.clone());
            let f = disk.open(&p("scratch").join(&name), OpenMode::CreateIfMissing).unwrap();
            f.write_at(0, b"scratch").unwrap();
            f.sync().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(rt::rand::range(0..5))).await;
    }
    std::future::pending::<()>().await;
}

/// What the next incarnation found, for reports and the determinism comparison.
#[derive(Debug, PartialEq, Eq)]
struct Found {
    flushed: usize,
    appended: usize,
    scratch_created: usize,
    scratch_found: usize,
}

/// The next incarnation: everything flushed is there, nothing unwritten appears.
async fn checker(oracle: Shared) -> Found {
    let disk = rt::disk::node_disk();
    let o = oracle.lock().unwrap();
    let seg = disk.open_segment(p(SEGMENT), SEGMENT_LEN).unwrap();
    assert_eq!(seg.len(), SEGMENT_LEN, "the synced segment length survives");
    let all = seg.read_at(0, SEGMENT_LEN as usize).unwrap();
    assert_eq!(&all[..o.flushed], &o.appended[..o.flushed], "flushed bytes survive");
    for (i, &b) in all.iter().enumerate().skip(o.flushed) {
        let written = o.appended.get(i).copied().unwrap_or(0);
        assert!(b == written || b == 0, "byte {i} is {b}, never written there");
    }
    // The checkpoint is whole: the last completed value or one whose write had started.
    match read_file(&*disk, p("config/checkpoint")).unwrap() {
        Some(bytes) => {
            let text = std::str::from_utf8(&bytes).unwrap();
            let value: u64 = text.parse().unwrap();
            assert!(o.checkpoints_started.contains(&value), "checkpoint {value} never written");
            if let Some(done) = o.checkpoint_done {
                let pos_done = o.checkpoints_started.iter().position(|&v| v == done).unwrap();
                let pos_value = o.checkpoints_started.iter().rposition(|&v| v == value).unwrap();
                assert!(pos_value >= pos_done, "checkpoint went back from {done} to {value}");
            }
        }
        None => assert!(o.checkpoint_done.is_none(), "a completed checkpoint vanished"),
    }
    let scratch = disk.list(p("scratch")).unwrap();
    for name in &scratch {
        assert!(o.scratch.contains(name), "scratch file {name} never created");
    }
    Found {
        flushed: o.flushed,
        appended: o.appended.len(),
        scratch_created: o.scratch.len(),
        scratch_found: scratch.len(),
    }
}

fn node_handle(handle: &Handle, id: NodeId) -> NodeHandle {
    handle.get_node(id).expect("the node exists")
}

/// One scenario: write, cut the power at a random moment, restart, check.
async fn power_cut_scenario() -> Found {
    let handle = Handle::current();
    let node = handle.create_node().name("store").build();
    let id = node.id();
    let oracle = Shared::default();
    node.spawn(writer(oracle.clone()));
    let run_for = rt::rand::range(1..400u64);
    tokio::time::sleep(Duration::from_millis(run_for)).await;
    handle.kill(id);
    let old = oracle.lock().unwrap().handle.clone();
    if let Some(old) = old {
        assert!(old.read_at(0, 1).is_err(), "a handle of the crashed incarnation still works");
    }
    handle.restart(id);
    let found = node_handle(&handle, id).spawn(checker(oracle)).await.unwrap();
    let stats = sim_plugin::disk_of(id).stats();
    assert_eq!(stats.crashes, 1);
    found
}

#[test]
fn flushed_data_survives_a_power_cut() {
    let found = rt::sim::run_test(power_cut_scenario);
    eprintln!("seed {}: {found:?}", rt::sim::seed_from_env());
}

#[test]
fn seeds_explore_different_crashes_and_repeat_exactly() {
    let first = rt::sim::seed_from_env().wrapping_mul(1000);
    let runs: Vec<Found> =
        (first..first + 24).map(|s| rt::sim::run_seed(s, power_cut_scenario)).collect();
    // The same seed repeats exactly.
    assert_eq!(rt::sim::run_seed(first, power_cut_scenario), runs[0]);
    // Unsynced scratch files vanish for some seeds and survive (a committed journal) for others.
    let vanished = runs.iter().filter(|f| f.scratch_found < f.scratch_created).count();
    let kept = runs.iter().filter(|f| f.scratch_created > 0 && f.scratch_found > 0).count();
    assert!(vanished > 0 && kept > 0, "vanished in {vanished}, kept in {kept} of {runs:?}");
}

#[test]
fn a_clean_restart_loses_nothing() {
    rt::sim::run_test(|| async {
        let handle = Handle::current();
        let node = handle.create_node().name("store").build();
        let id = node.id();
        node.spawn(async {
            let disk = rt::disk::node_disk();
            let f = disk.open(p("unsynced"), OpenMode::CreateIfMissing).unwrap();
            f.write_at(0, b"still in the page cache").unwrap();
        })
        .await
        .unwrap();
        // A process restart, not a power cut: the page cache and pending metadata stay.
        handle.restart(id);
        let got = node_handle(&handle, id)
            .spawn(async { read_file(&*rt::disk::node_disk(), p("unsynced")).unwrap() })
            .await
            .unwrap();
        assert_eq!(got.as_deref(), Some(&b"still in the page cache"[..]));
        assert_eq!(sim_plugin::disk_of(id).stats().crashes, 0);
    });
}

#[test]
fn nodes_have_separate_configurable_disks() {
    rt::sim::run_test(|| async {
        let handle = Handle::current();
        let small = handle.create_node().name("small").build();
        let big = handle.create_node().name("big").build();
        let cfg = SimDiskConfig { capacity_bytes: Some(10_000), ..SimDiskConfig::default() };
        sim_plugin::configure(small.id(), cfg);
        let write = || async {
            let disk = rt::disk::node_disk();
            let f = disk.open(p("f"), OpenMode::CreateIfMissing).unwrap();
            f.write_at(0, &[1u8; 20_000]).map_err(|e| e.raw_os_error())
        };
        assert_eq!(small.spawn(write()).await.unwrap(), Err(Some(28)));
        assert_eq!(big.spawn(write()).await.unwrap(), Ok(()));
        assert_eq!(sim_plugin::disk_of(small.id()).stats().no_space_errors, 1);
        assert_eq!(sim_plugin::disk_of(big.id()).stats().bytes_written, 20_000);
        assert_eq!(sim_plugin::simulator().config(small.id()).capacity_bytes, Some(10_000));
    });
}

#[test]
fn open_root_gives_each_node_its_own_surviving_disk() {
    rt::sim::run_test(|| async {
        let handle = Handle::current();
        let node = handle.create_node().name("broker").build();
        let id = node.id();
        node.spawn(async {
            let disk = rt::disk::open_root(p("/home/rocketmq/store")).unwrap();
            write_file_atomic(&*disk, p("config/topics.json"), b"{}").unwrap();
        })
        .await
        .unwrap();
        handle.kill(id);
        handle.restart(id);
        let got = node_handle(&handle, id)
            .spawn(async {
                let disk = rt::disk::open_root(p("/home/rocketmq/store")).unwrap();
                read_file(&*disk, p("config/topics.json")).unwrap()
            })
            .await
            .unwrap();
        assert_eq!(got.as_deref(), Some(&b"{}"[..]));
        let files = sim_plugin::disk_of(id).list(p("home/rocketmq/store/config")).unwrap();
        assert_eq!(files, vec!["topics.json"]);
    });
}
