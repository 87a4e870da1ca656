//! Synchronisation whose wake-up order the simulation can replay.
//!
//! Why not `tokio::sync::watch` for a stop or closed flag: a watch channel spreads its waiters
//! over eight internal queues chosen by tokio's thread-local random generator, which is seeded
//! from a process-wide counter. Two runs of one seed in the same process (the determinism check,
//! or tests of one binary running in parallel) then wake the same waiters in different orders,
//! and the runs diverge. [`Latch`] keeps its waiters in one queue, so they wake in the order
//! they started waiting, in every run. (For the same reason, `tokio::select!` in library code
//! is written `biased;`, which tidy checks.)

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::Notify;

/// A flag that is set once and never cleared, which any number of tasks can wait for: the
/// shape of a stop signal or of a connection's "closed".
#[derive(Debug, Default)]
pub struct Latch {
    set: AtomicBool,
    notify: Notify,
}

impl Latch {
    /// An unset latch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the latch and wakes every waiter. Returns whether it was set already.
    pub fn set(&self) -> bool {
        let was_set = self.set.swap(true, Ordering::AcqRel);
        if !was_set {
            self.notify.notify_waiters();
        }
        was_set
    }

    /// Whether the latch is set.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Resolves once the latch is set (at once if it is already).
    pub async fn wait(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        // Registered before the flag is read, so a `set` in between still wakes this waiter.
        notified.as_mut().enable();
        if self.is_set() {
            return;
        }
        notified.await;
    }
}

/// A number that only grows (how far the dispatcher has got, say), which tasks wait to reach.
#[derive(Debug, Default)]
pub struct Watermark {
    value: AtomicU64,
    notify: Notify,
}

impl Watermark {
    /// A watermark at `value`.
    pub fn new(value: u64) -> Self {
        Self { value: AtomicU64::new(value), notify: Notify::new() }
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Acquire)
    }

    /// Raises the watermark to `value` (never lowers it) and wakes the waiters if it rose.
    pub fn advance(&self, value: u64) {
        if self.value.fetch_max(value, Ordering::AcqRel) < value {
            self.notify.notify_waiters();
        }
    }

    /// Sets the watermark to `value` even if that is lower (a store truncated on recovery, a
    /// reset): waiters are woken to look again.
    pub fn reset(&self, value: u64) {
        self.value.store(value, Ordering::Release);
        self.notify.notify_waiters();
    }

    /// Resolves once the watermark is at least `target`; returns the value seen.
    pub async fn wait_for(&self, target: u64) -> u64 {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = self.get();
            if now >= target {
                return now;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Latch, Watermark};

    async fn set_wakes_every_waiter_and_stays_set() {
        let latch = Arc::new(Latch::new());
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let latch = latch.clone();
                tokio::spawn(async move { latch.wait().await })
            })
            .collect();
        tokio::task::yield_now().await;
        assert!(!latch.is_set());
        assert!(!latch.set());
        for w in waiters {
            w.await.unwrap_or_else(|e| panic!("waiter failed: {e}"));
        }
        assert!(latch.set());
        latch.wait().await;
    }

    async fn watermark_wakes_waiters_once_reached() {
        let mark = Arc::new(Watermark::new(5));
        assert_eq!(mark.wait_for(3).await, 5);
        let waiter = {
            let mark = mark.clone();
            tokio::spawn(async move { mark.wait_for(10).await })
        };
        tokio::task::yield_now().await;
        mark.advance(7);
        mark.advance(6);
        assert_eq!(mark.get(), 7);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        mark.advance(12);
        assert_eq!(waiter.await.unwrap_or_else(|e| panic!("waiter failed: {e}")), 12);
        mark.reset(2);
        assert_eq!(mark.get(), 2);
    }

    async fn all() {
        set_wakes_every_waiter_and_stays_set().await;
        watermark_wakes_waiters_once_reached().await;
    }

    #[cfg(not(madsim))]
    #[test]
    fn wakes_waiters() {
        let rt = tokio::runtime::Builder::new_current_thread().build();
        rt.unwrap_or_else(|e| panic!("{e}")).block_on(all());
    }

    #[cfg(madsim)]
    #[test]
    fn wakes_waiters() {
        crate::sim::run_seed(1, all);
    }
}
