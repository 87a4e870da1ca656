//! The store on the production disk (FsDisk in a temporary folder): put/get, statuses, the
//! index, retention, and restarts after a clean shutdown and after a crash-like drop.
#![cfg(not(madsim))]

mod common;

use std::sync::{Arc, Mutex};

use common::{body_of, msg, small_config};
use rt::disk::{DiskRef, FsDisk};
use store::{
    BoundaryType, FlushDiskType, GetMessageStatus, MessageArrivingListener, MessageStore,
    PutMessageStatus, TagsCodeFilter,
};

fn fs_disk(dir: &tempfile::TempDir) -> DiskRef {
    Arc::new(FsDisk::new(dir.path()).unwrap())
}

async fn put_n(store: &MessageStore, topic: &str, q: i32, n: usize, tag: &str) -> u64 {
    let mut end = 0;
    for i in 0..n {
        let body = format!("{topic}-{q}-{i}-{}", "x".repeat(i % 300));
        let r = store
            .put_message(&msg(topic, q, body.as_bytes(), Some(tag), Some(&format!("k{i} common"))))
            .await;
        assert_eq!(r.status, PutMessageStatus::PutOk);
        let a = r.append.unwrap();
        assert_eq!(a.logics_offset, i as i64);
        end = (a.wrote_offset + a.wrote_bytes as i64) as u64;
    }
    end
}

fn read_all(store: &MessageStore, topic: &str, q: i32) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut off = store.min_offset_in_queue(topic, q);
    loop {
        let r = store.get_message(topic, q, off, 32, usize::MAX, None);
        if r.status != GetMessageStatus::Found {
            break;
        }
        for m in &r.messages {
            out.push(body_of(m).to_vec());
        }
        off = r.next_begin_offset;
    }
    out
}

#[tokio::test]
async fn put_get_across_segments_and_clean_restart() {
    let dir = tempfile::tempdir().unwrap();
    for flush in [FlushDiskType::SyncFlush, FlushDiskType::AsyncFlush] {
        let _ = std::fs::remove_dir_all(dir.path());
        let store = MessageStore::open(fs_disk(&dir), small_config(flush)).unwrap();
        assert!(!store.recovery_report().abnormal);
        store.start().unwrap();
        let end = put_n(&store, "TopicA", 0, 200, "TagA").await;
        put_n(&store, "TopicB", 3, 50, "TagB").await;
        assert!(end > 8 * 1024 * 4, "records span several segments");
        store.wait_dispatched(store.max_phy_offset()).await;
        assert_eq!(store.max_offset_in_queue("TopicA", 0), 200);
        assert_eq!(read_all(&store, "TopicA", 0).len(), 200);
        store.check_consume_queues().unwrap();
        store.shutdown().await.unwrap();
        drop(store);

        let store = MessageStore::open(fs_disk(&dir), small_config(flush)).unwrap();
        let rep = store.recovery_report().clone();
        assert!(!rep.abnormal);
        assert_eq!(rep.scanned_bytes(), 0, "a clean shutdown leaves nothing to scan: {rep:?}");
        let bodies = read_all(&store, "TopicA", 0);
        assert_eq!(bodies.len(), 200);
        assert!(bodies[7].starts_with(b"TopicA-0-7-"));
        assert_eq!(store.queue_next_offset("TopicA", 0), 200);
        assert_eq!(store.queue_next_offset("TopicB", 3), 50);
        store.check_consume_queues().unwrap();
        store.start().unwrap();
        let r = store.put_message(&msg("TopicA", 0, b"after", None, None)).await;
        assert_eq!(r.append.unwrap().logics_offset, 200);
        store.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn crash_like_reopen_runs_abnormal_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(fs_disk(&dir), small_config(FlushDiskType::SyncFlush)).unwrap();
    store.start().unwrap();
    put_n(&store, "T", 1, 120, "x").await;
    drop(store); // no shutdown: the abort marker stays
    let store = MessageStore::open(fs_disk(&dir), small_config(FlushDiskType::SyncFlush)).unwrap();
    assert!(store.recovery_report().abnormal);
    assert_eq!(read_all(&store, "T", 1).len(), 120);
    store.check_consume_queues().unwrap();
    // The index was rebuilt too.
    let found = store.query_message("T", "k5", 10, 0, i64::MAX).unwrap();
    assert_eq!(found.messages.len(), 1);
    store.start().unwrap();
    put_n_from(&store, "T", 1, 120).await;
    store.shutdown().await.unwrap();
}

/// Segments created ahead by `prefault_commit_log` are empty segments past the end: appends run
/// into them, and both a crash and a clean restart recover exactly the records written.
#[tokio::test]
async fn prefaulted_segments_ahead_are_used_and_recovered() {
    let dir = tempfile::tempdir().unwrap();
    for crash in [true, false] {
        let _ = std::fs::remove_dir_all(dir.path());
        let config = small_config(FlushDiskType::AsyncFlush);
        let store = MessageStore::open(fs_disk(&dir), config.clone()).unwrap();
        store.start().unwrap();
        put_n(&store, "T", 2, 10, "x").await;
        // Five segments' worth ahead of a log that ends in its second segment.
        store.prefault_commit_log(5 * config.mapped_file_size_commit_log).unwrap();
        let segments = std::fs::read_dir(dir.path().join("commitlog")).unwrap().count();
        assert!(segments >= 5, "{segments} segments");
        put_n_from(&store, "T", 2, 10).await;
        for i in 11..60 {
            put_n_from(&store, "T", 2, i).await;
        }
        if crash {
            store.flush().unwrap();
            drop(store);
        } else {
            store.shutdown().await.unwrap();
        }
        let store = MessageStore::open(fs_disk(&dir), config.clone()).unwrap();
        assert_eq!(store.recovery_report().abnormal, crash);
        assert_eq!(read_all(&store, "T", 2).len(), 60);
        store.check_consume_queues().unwrap();
        store.start().unwrap();
        put_n_from(&store, "T", 2, 60).await;
        store.shutdown().await.unwrap();
    }
}

async fn put_n_from(store: &MessageStore, topic: &str, q: i32, first: i64) {
    let r = store.put_message(&msg(topic, q, b"more", None, None)).await;
    assert_eq!(r.append.unwrap().logics_offset, first);
}

#[tokio::test]
async fn torn_tail_is_truncated_and_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(fs_disk(&dir), small_config(FlushDiskType::SyncFlush)).unwrap();
    store.start().unwrap();
    put_n(&store, "T", 0, 30, "x").await;
    let end = store.max_phy_offset();
    drop(store);
    // Garbage after the end (a torn write of a record that was never acknowledged), and a fake
    // record in a later segment.
    let seg_size = 8 * 1024u64;
    let seg = dir.path().join("commitlog").join(format!("{:020}", end - end % seg_size));
    let mut data = std::fs::read(&seg).unwrap();
    let pos = (end % seg_size) as usize;
    data[pos..pos + 40].copy_from_slice(&[0xAB; 40]);
    std::fs::write(&seg, &data).unwrap();
    let store = MessageStore::open(fs_disk(&dir), small_config(FlushDiskType::SyncFlush)).unwrap();
    assert_eq!(store.recovery_report().valid_end, end);
    assert_eq!(store.max_phy_offset(), end);
    assert_eq!(read_all(&store, "T", 0).len(), 30);
    let data = std::fs::read(&seg).unwrap();
    assert!(data[pos..].iter().all(|b| *b == 0), "the torn tail is zeroed");
}

#[derive(Default)]
struct Arrivals(Mutex<Vec<(String, i32, i64)>>);

impl MessageArrivingListener for Arrivals {
    fn arriving(&self, topic: &str, queue_id: i32, next: i64, _tags: i64, _ts: i64) {
        self.0.lock().unwrap().push((topic.to_owned(), queue_id, next));
    }
}

#[tokio::test]
async fn statuses_filters_batches_and_listener() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(fs_disk(&dir), small_config(FlushDiskType::AsyncFlush)).unwrap();
    let arrivals = Arc::new(Arrivals::default());
    store.set_arriving_listener(arrivals.clone());
    // Not started: puts are refused.
    let r = store.put_message(&msg("T", 0, b"x", None, None)).await;
    assert_eq!(r.status, PutMessageStatus::ServiceNotAvailable);
    store.start().unwrap();

    assert_eq!(
        store.get_message("T", 0, 0, 32, usize::MAX, None).status,
        GetMessageStatus::NoMatchedLogicQueue
    );
    let batch: Vec<_> = (0..5)
        .map(|i| {
            msg(
                "T",
                0,
                format!("b{i}").as_bytes(),
                Some(if i % 2 == 0 { "even" } else { "odd" }),
                None,
            )
        })
        .collect();
    let r = store.put_messages(&batch).await;
    assert_eq!(r.status, PutMessageStatus::PutOk);
    let a = r.append.unwrap();
    assert_eq!((a.msg_num, a.logics_offset), (5, 0));
    assert_eq!(a.msg_id.split(',').count(), 5);
    assert_eq!(a.msg_id.split(',').next().unwrap().len(), 32);
    store.wait_dispatched(store.max_phy_offset()).await;
    assert_eq!(arrivals.0.lock().unwrap().last().cloned(), Some(("T".to_owned(), 0, 5)));

    let even =
        TagsCodeFilter { codes: vec![i64::from(protocol::message::java_string_hash("even"))] };
    let r = store.get_message("T", 0, 0, 32, usize::MAX, Some(&even));
    assert_eq!(r.status, GetMessageStatus::Found);
    assert_eq!(r.message_queue_offsets, vec![0, 2, 4]);
    assert_eq!(r.next_begin_offset, 5);
    let none = TagsCodeFilter { codes: vec![1] };
    let r = store.get_message("T", 0, 0, 32, usize::MAX, Some(&none));
    assert_eq!((r.status, r.next_begin_offset), (GetMessageStatus::NoMatchedMessage, 5));

    let r = store.get_message("T", 0, 5, 32, usize::MAX, None);
    assert_eq!((r.status, r.next_begin_offset), (GetMessageStatus::OffsetOverflowOne, 5));
    let r = store.get_message("T", 0, 9, 32, usize::MAX, None);
    assert_eq!((r.status, r.next_begin_offset), (GetMessageStatus::OffsetOverflowBadly, 5));
    let r = store.get_message("T", 0, 1, 2, usize::MAX, None);
    assert_eq!((r.status, r.messages.len(), r.next_begin_offset), (GetMessageStatus::Found, 2, 3));
    assert_eq!((r.min_offset, r.max_offset), (0, 5));

    // Size limits.
    let big = vec![7u8; 7000];
    let r = store.put_message(&msg("T", 0, &big, None, None)).await;
    assert_eq!(r.status, PutMessageStatus::MessageIllegal);
    let r = store.put_message(&msg("../x", 0, b"x", None, None)).await;
    assert_eq!(r.status, PutMessageStatus::MessageIllegal);

    // Offsets by time and physical lookups.
    let t0 = store.message_store_timestamp("T", 0, 0);
    assert!(t0 > 0);
    assert_eq!(store.offset_in_queue_by_time("T", 0, t0, BoundaryType::Lower), 0);
    assert_eq!(store.offset_in_queue_by_time("T", 0, t0, BoundaryType::Upper), 4);
    assert_eq!(store.earliest_message_time("T", 0), t0);
    let phy = store.commit_log_offset_in_queue("T", 0, 3);
    assert_eq!(body_of(&store.look_message_by_offset(phy).unwrap()).as_ref(), b"b3");
    assert!(
        store.commit_log_data(0, 1 << 20).unwrap().len() as u64 >= store.max_phy_offset().min(8192)
    );
    store.shutdown().await.unwrap();
}

#[tokio::test]
async fn retention_deletes_expired_segments_and_moves_min_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(FlushDiskType::SyncFlush);
    cfg.file_reserved_time = 1;
    cfg.delete_when = "04".to_owned();
    cfg.disk_max_used_space_ratio = 100;
    let store = MessageStore::open(fs_disk(&dir), cfg).unwrap();
    store.start().unwrap();
    put_n(&store, "T", 0, 300, "x").await;
    store.wait_dispatched(store.max_phy_offset()).await;
    let now = rt::clock::now_millis() as i64;
    // Not the hour: nothing goes.
    let hour = |h: i64| (now / 86_400_000) * 86_400_000 + h * 3_600_000 + 86_400_000;
    let r = store.clean_expired(hour(3)).unwrap();
    assert_eq!(r.commit_log_files, 0);
    // 04:xx the next day, more than an hour after everything was written: all but the newest go.
    let r = store.clean_expired(hour(4)).unwrap();
    assert!(r.commit_log_files > 0, "{r:?}");
    let min_phy = store.min_phy_offset();
    assert!(min_phy > 0);
    let min_q = store.min_offset_in_queue("T", 0);
    assert!(min_q > 0);
    let r = store.get_message("T", 0, 0, 32, usize::MAX, None);
    assert_eq!((r.status, r.next_begin_offset), (GetMessageStatus::OffsetTooSmall, min_q));
    let r = store.get_message("T", 0, min_q, 32, usize::MAX, None);
    assert_eq!(r.status, GetMessageStatus::Found);
    store.check_consume_queues().unwrap();
    store.shutdown().await.unwrap();
    drop(store);
    let store = MessageStore::open(fs_disk(&dir), small_config(FlushDiskType::SyncFlush)).unwrap();
    assert_eq!(store.min_offset_in_queue("T", 0), min_q);
    assert_eq!(store.max_offset_in_queue("T", 0), 300);
    store.check_consume_queues().unwrap();
}

#[tokio::test]
async fn index_query_by_key_and_uniq_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(fs_disk(&dir), small_config(FlushDiskType::AsyncFlush)).unwrap();
    store.start().unwrap();
    // 32 entries per index file and 2 keys + ... per message: several index files.
    put_n(&store, "T", 0, 100, "x").await;
    let mut m = msg("T", 1, b"uniq", None, None);
    m.properties.push_str("UNIQ_KEY\u{1}ABCDEF\u{2}");
    store.put_message(&m).await;
    store.wait_dispatched(store.max_phy_offset()).await;
    let r = store.query_message("T", "common", 1000, 0, i64::MAX).unwrap();
    assert_eq!(r.messages.len(), 100);
    let r = store.query_message("T", "common", 10, 0, i64::MAX).unwrap();
    assert_eq!(r.messages.len(), 10);
    let r = store.query_message("T", "ABCDEF", 10, 0, i64::MAX).unwrap();
    assert_eq!(r.messages.len(), 1);
    assert_eq!(body_of(&r.messages[0]).as_ref(), b"uniq");
    assert!(store.query_message("Other", "common", 10, 0, i64::MAX).unwrap().messages.is_empty());
    store.shutdown().await.unwrap();
}
