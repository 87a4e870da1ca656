//! Derived files a crash damaged never stop the store from opening, and never serve anything
//! the CommitLog does not hold: a garbled ConsumeQueue entry is dropped and rebuilt, a garbled
//! index file is removed and rebuilt. The damage is planted by hand on a `SimDisk` after a stop
//! that leaves the `abort` marker, so abnormal recovery runs over it.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{body_of, msg, small_config};
use rt::disk::{Disk, OpenMode, SimDisk};
use store::{FlushDiskType, MessageStore};

const TOPIC: &str = "T";

async fn store_with(disk: &SimDisk, n: usize) -> Arc<MessageStore> {
    let store =
        MessageStore::open(disk.as_disk_ref(), small_config(FlushDiskType::SyncFlush)).unwrap();
    store.start().unwrap();
    for i in 0..n {
        let r =
            store.put_message(&msg(TOPIC, 0, format!("m{i}").as_bytes(), None, Some("k"))).await;
        assert!(r.append.is_some(), "put {i}: {:?}", r.status);
    }
    store.wait_dispatched(store.max_phy_offset()).await;
    store
}

/// Reopens after an unclean stop and returns the store (started).
fn reopen(disk: &SimDisk) -> Arc<MessageStore> {
    let store =
        MessageStore::open(disk.as_disk_ref(), small_config(FlushDiskType::SyncFlush)).unwrap();
    store.start().unwrap();
    store
}

fn bodies(store: &MessageStore) -> Vec<String> {
    let mut out = Vec::new();
    let mut off = store.min_offset_in_queue(TOPIC, 0);
    while off < store.max_offset_in_queue(TOPIC, 0) {
        let r = store.get_message(TOPIC, 0, off, 32, usize::MAX, None);
        for rec in &r.messages {
            out.push(String::from_utf8(body_of(rec).to_vec()).unwrap());
        }
        assert!(r.next_begin_offset > off, "no progress at {off}");
        off = r.next_begin_offset;
    }
    out
}

/// The single ConsumeQueue file of queue 0 and the entry count it holds.
fn cq_file(disk: &SimDisk) -> String {
    let dir = Path::new("consumequeue").join(TOPIC).join("0");
    let names = disk.list(&dir).unwrap();
    dir.join(names.last().unwrap()).to_string_lossy().into_owned()
}

#[tokio::test]
async fn a_garbled_consume_queue_entry_past_the_real_ones_is_dropped() {
    let disk = SimDisk::default();
    let store = store_with(&disk, 5).await;
    let expected = bodies(&store);
    // A clean stop, so the checkpoint vouches for every entry, then the marker of a crash: the
    // search for the durable prefix trusts the checkpoint, and only a check against the
    // CommitLog can tell the planted entry from a real one.
    store.shutdown().await.unwrap();
    disk.open(Path::new("abort"), OpenMode::CreateIfMissing).unwrap();
    // After the 5 real entries, an entry that looks valid and points below the cut (at the
    // first record), as a crash that garbled the unsynced tail of the file could leave.
    let cq = disk.open(Path::new(&cq_file(&disk)), OpenMode::Existing).unwrap();
    let first = cq.read_at(0, 20).unwrap();
    cq.write_at(5 * 20, &first).unwrap();
    let store = reopen(&disk);
    assert_eq!(store.max_offset_in_queue(TOPIC, 0), 5, "the garbled entry is not an entry");
    store.check_consume_queues().unwrap();
    assert_eq!(bodies(&store), expected);
}

#[tokio::test]
async fn a_garbled_first_consume_queue_entry_is_rebuilt_not_skipped() {
    let disk = SimDisk::default();
    let store = store_with(&disk, 3).await;
    let expected = bodies(&store);
    drop(store);
    // Entry 0 garbled into something invalid (negative size) but not zero: it is not the zero
    // prefix of a queue that began later, so recovery must not start the queue at 1.
    let cq = disk.open(Path::new(&cq_file(&disk)), OpenMode::Existing).unwrap();
    cq.write_at(8, &(-7i32).to_be_bytes()).unwrap();
    // Tell recovery nothing of the queue is durable, as after a crash before its first flush.
    disk.remove(Path::new("checkpoint")).unwrap();
    let store = reopen(&disk);
    assert_eq!(store.min_offset_in_queue(TOPIC, 0), 0);
    assert_eq!(store.max_offset_in_queue(TOPIC, 0), 3);
    store.check_consume_queues().unwrap();
    assert_eq!(bodies(&store), expected);
}

#[tokio::test]
async fn a_damaged_newest_index_file_is_removed_and_rebuilt() {
    let disk = SimDisk::default();
    let store = store_with(&disk, 10).await;
    assert_eq!(store.query_message(TOPIC, "k", 100, 0, i64::MAX).unwrap().messages.len(), 10);
    drop(store);
    let names = disk.list(Path::new("index")).unwrap();
    let newest = Path::new("index").join(names.last().unwrap());
    let f = disk.open(&newest, OpenMode::Existing).unwrap();
    // A header whose slot count is negative: the file cannot be opened as an index.
    f.write_at(0, &[0xA5; 40]).unwrap();
    let store = reopen(&disk);
    let found = store.query_message(TOPIC, "k", 100, 0, i64::MAX).unwrap();
    assert_eq!(found.messages.len(), 10, "the index was rebuilt from the CommitLog");
}
