//! Store hot paths on the real disk (FsDisk in a temporary folder, tokio multi-thread runtime):
//! - ASYNC_FLUSH append of 128 B, 1 KiB and 4 KiB records, end to end (`append_async`: the
//!   appends also take whatever page faults the store's prefault task has not taken ahead of
//!   them, and the kernel's dirty-page throttling once the disk falls behind), and the appender
//!   itself (`appender`: before each sample the pages it will write are faulted in with
//!   `MessageStore::prefault_commit_log`, so neither page faults nor writeback are timed);
//! - SYNC_FLUSH append of 1 KiB records with 1, 16 and 128 concurrent writers (group commit);
//! - a read of 32 records by queue offset, and a ConsumeQueue lookup;
//! - abnormal recovery of a 2 GiB CommitLog (full CRC scan and ConsumeQueue rebuild).
//!
//! Record sizes are the stored size (header + topic + properties + body). `APOGEE_BENCH_DIR`
//! chooses where the store lives (default: the system temporary folder).

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use protocol::message::MessageExtBrokerInner;
use rt::disk::FsDisk;
use store::{FlushDiskType, MessageStore, MessageStoreConfig};

const TOPIC: &str = "BenchTopic";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime")
}

fn temp_dir() -> tempfile::TempDir {
    match std::env::var_os("APOGEE_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).expect("bench dir"),
        None => tempfile::tempdir().expect("temp dir"),
    }
}

/// A message whose stored record is `record_len` bytes (with the CRC property).
fn message(record_len: usize, queue_id: i32) -> MessageExtBrokerInner {
    let addr: SocketAddr = "10.0.0.1:10911".parse().expect("addr");
    let mut m = MessageExtBrokerInner {
        topic: TOPIC.to_owned(),
        queue_id,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: addr,
        store_timestamp: 0,
        store_host: addr,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::new(),
        properties: "TAGS\u{1}TagA\u{2}".to_owned(),
        tags_code: 0,
    };
    let overhead = m.encoded_len() + 20;
    m.body = Bytes::from(vec![b'x'; record_len.saturating_sub(overhead)]);
    m
}

fn open(dir: &tempfile::TempDir, flush: FlushDiskType) -> Arc<MessageStore> {
    let disk = Arc::new(FsDisk::new(dir.path()).expect("disk"));
    let config = MessageStoreConfig {
        flush_disk_type: flush,
        // No keys in the bench records; the index is exercised by the tests.
        message_index_enable: false,
        ..MessageStoreConfig::default()
    };
    MessageStore::open(disk, config).expect("open")
}

fn append_async(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("append_async");
    group.measurement_time(Duration::from_secs(3)).sample_size(10);
    for size in [128usize, 1024, 4096] {
        let dir = temp_dir();
        let store = rt.block_on(async {
            let s = open(&dir, FlushDiskType::AsyncFlush);
            s.start().expect("start");
            s
        });
        let msg = message(size, 0);
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("{size}B"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let r = store.put_message(&msg).await;
                        debug_assert!(r.is_ok());
                        black_box(r);
                    }
                    start.elapsed()
                })
            })
        });
        rt.block_on(store.shutdown()).expect("shutdown");
    }
    group.finish();
}

/// The appender alone: each sample's pages are faulted in (and throttled by writeback, if the
/// disk is behind) before the clock starts.
fn appender(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("appender");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    group.sample_size(10);
    for size in [128usize, 1024, 4096] {
        let dir = temp_dir();
        let store = rt.block_on(async {
            let s = open(&dir, FlushDiskType::AsyncFlush);
            s.start().expect("start");
            s
        });
        let msg = message(size, 0);
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("{size}B"), |b| {
            b.iter_custom(|iters| {
                // Slack for the records that skip the blank end of a segment.
                let bytes = iters * size as u64 + (1 << 20);
                store.prefault_commit_log(bytes).expect("prefault");
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let r = store.put_message(&msg).await;
                        debug_assert!(r.is_ok());
                        black_box(r);
                    }
                    start.elapsed()
                })
            })
        });
        rt.block_on(store.shutdown()).expect("shutdown");
    }
    group.finish();
}

fn append_sync(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("append_sync_1KiB");
    group.measurement_time(Duration::from_secs(4)).sample_size(10);
    for writers in [1usize, 16, 128] {
        let dir = temp_dir();
        let store = rt.block_on(async {
            let s = open(&dir, FlushDiskType::SyncFlush);
            s.start().expect("start");
            s
        });
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("{writers}_writers"), |b| {
            b.iter_custom(|iters| {
                let per_writer = iters.div_ceil(writers as u64);
                rt.block_on(async {
                    let start = Instant::now();
                    let mut tasks = Vec::new();
                    for w in 0..writers {
                        let store = store.clone();
                        let msg = message(1024, (w % 8) as i32);
                        tasks.push(tokio::spawn(async move {
                            for _ in 0..per_writer {
                                let r = store.put_message(&msg).await;
                                assert!(r.is_ok(), "{r:?}");
                            }
                        }));
                    }
                    for t in tasks {
                        t.await.expect("writer");
                    }
                    // Report the time per put actually made.
                    start.elapsed().mul_f64(iters as f64 / (per_writer * writers as u64) as f64)
                })
            })
        });
        rt.block_on(store.shutdown()).expect("shutdown");
    }
    group.finish();
}

fn reads(c: &mut Criterion) {
    let rt = runtime();
    let dir = temp_dir();
    const N: i64 = 100_000;
    let store = rt.block_on(async {
        let s = open(&dir, FlushDiskType::AsyncFlush);
        s.start().expect("start");
        let msg = message(1024, 0);
        for _ in 0..N {
            s.put_message(&msg).await;
        }
        s.wait_dispatched(s.max_phy_offset()).await;
        s
    });
    let mut group = c.benchmark_group("read");
    group.measurement_time(Duration::from_secs(2));
    let mut off = 0i64;
    group.throughput(Throughput::Elements(32));
    group.bench_function("get_message_32x1KiB", |b| {
        b.iter(|| {
            off = (off + 7919) % (N - 32);
            let r = store.get_message(TOPIC, 0, off, 32, usize::MAX, None);
            assert_eq!(r.messages.len(), 32);
            black_box(r)
        })
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("consume_queue_lookup", |b| {
        b.iter(|| {
            off = (off + 7919) % N;
            black_box(store.commit_log_offset_in_queue(TOPIC, 0, off))
        })
    });
    group.finish();
    rt.block_on(store.shutdown()).expect("shutdown");
}

fn recovery(c: &mut Criterion) {
    const LOG_BYTES: u64 = 2 * 1024 * 1024 * 1024;
    let rt = runtime();
    let dir = temp_dir();
    rt.block_on(async {
        let s = open(&dir, FlushDiskType::AsyncFlush);
        s.start().expect("start");
        let msgs: Vec<_> = (0..32).map(|i| message(1024, i % 8)).collect();
        while s.max_phy_offset() < LOG_BYTES {
            s.put_messages(&msgs).await;
        }
        s.shutdown().await.expect("shutdown");
    });
    let mut group = c.benchmark_group("recovery");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Bytes(LOG_BYTES));
    group.bench_function("abnormal_2GiB_full_scan", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // A crash with no checkpoint: the whole log is CRC-scanned and every
                // ConsumeQueue entry rebuilt.
                let _ = std::fs::remove_file(dir.path().join("checkpoint"));
                std::fs::write(dir.path().join("abort"), b"").expect("abort marker");
                let start = Instant::now();
                let s = open(&dir, FlushDiskType::AsyncFlush);
                total += start.elapsed();
                assert!(s.recovery_report().scanned_bytes() >= LOG_BYTES);
                drop(s);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, append_async, appender, append_sync, reads, recovery);
criterion_main!(benches);
