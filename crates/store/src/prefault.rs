//! Warming the CommitLog ahead of the appender (the part of RocketMQ's `warmMappedFile` that
//! pays: taking the page faults before the writes need the pages).
//!
//! A segment is a sparse file mapped into memory, so the first write to each of its pages takes
//! a page fault that reads a hole (zeroing a page) and reserves a block: on the measuring machine
//! about 4 µs per 4 KiB page, more than the copy of the record itself. The appender therefore
//! asks, once per half window, for the next [`PREFAULT_WINDOW`] bytes past its position to be
//! faulted in, and a task does it on the blocking pool through `SegmentFile::prefault`
//! (`MADV_POPULATE_WRITE`, which changes no byte, so it may run beside the appender writing the
//! same pages). The appender never waits for it: if the warmer falls behind, the appender takes
//! the faults itself, as it did without one.
//!
//! Durability is untouched: prefaulting writes nothing, and the flushes still sync exactly the
//! written range. It only spends page cache (one window) and the second core's time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rt::sync::Latch;
use tokio::sync::Notify;

use crate::commit_log::CommitLog;
use crate::error::{IoContext, Result};
use crate::message_store::StoreInner;

/// How far past the write position the pages are kept warm.
pub const PREFAULT_WINDOW: u64 = 16 * 1024 * 1024;
/// Bytes faulted in per blocking call, so that a stop request is seen within a few ms.
const PREFAULT_CHUNK: u64 = 2 * 1024 * 1024;

/// The appender's side: where the warmer should warm up to, and its wake-up.
#[derive(Debug)]
pub(crate) struct Prefaulter {
    window: u64,
    target: AtomicU64,
    notify: Notify,
}

impl Prefaulter {
    /// A warmer for segments of `file_size` bytes (a window never spans more than a segment).
    pub fn new(file_size: u64) -> Self {
        Self {
            window: PREFAULT_WINDOW.min(file_size),
            target: AtomicU64::new(0),
            notify: Notify::new(),
        }
    }

    /// Called by the appender, under its lock, after an append ending at `end`. `requested` is
    /// the appender's record of the last request. Costs one compare per put, and once per half
    /// window an atomic store and a wake-up.
    pub fn appended(&self, requested: &mut u64, end: u64) {
        if self.window == 0 || end + self.window / 2 <= *requested {
            return;
        }
        *requested = end + self.window;
        self.target.store(*requested, Ordering::Release);
        self.notify.notify_one();
    }
}

/// The warmer task: faults in what the appender asked for, chunk by chunk, never behind the
/// appender's position and never into a segment that does not exist yet (the appender creates
/// segments; the warmer catches up once it has).
pub(crate) async fn prefault_loop(store: Arc<StoreInner>, stop: Arc<Latch>) {
    let log = &store.commit_log;
    let file_size = log.file_size();
    let mut warmed = 0u64;
    loop {
        tokio::select! {
            biased;
            _ = stop.wait() => break,
            _ = log.prefault.notify.notified() => {}
        }
        let target = log.prefault.target.load(Ordering::Acquire);
        loop {
            warmed = warmed.max(log.max_offset());
            if warmed >= target || stop.is_set() {
                break;
            }
            let Some(seg) = log.files().find(warmed) else { break };
            let seg_start = seg.start();
            let end = target.min(seg_start + file_size).min(warmed + PREFAULT_CHUNK);
            let (from, len) = (warmed - seg_start, end - warmed);
            match rt::task::spawn_blocking(move || seg.file().prefault(from, len)).await {
                Ok(Ok(())) => warmed = end,
                Ok(Err(e)) => {
                    // An old kernel without MADV_POPULATE_WRITE: appends fault as before.
                    tracing::info!(error = %e, "CommitLog prefault unavailable; not warming");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "CommitLog prefault task failed");
                    return;
                }
            }
        }
    }
}

/// Faults in the next `bytes` of the CommitLog now, creating the segments they fall in, and
/// returns when done (a blocking call: for startup and benchmarks, which want appends measured
/// without page faults, not for the put path). A segment created here is an empty segment past
/// the end, which recovery already removes if a crash leaves it unused.
pub(crate) fn prefault_now(log: &CommitLog, bytes: u64) -> Result<()> {
    let file_size = log.file_size();
    let mut pos = log.max_offset();
    let to = pos.saturating_add(bytes);
    while pos < to {
        let seg = log.files().get_or_create(pos)?;
        let end = to.min(seg.start() + file_size);
        seg.file().prefault(pos - seg.start(), end - pos).ctx("prefault", seg.path())?;
        pos = end;
    }
    Ok(())
}
