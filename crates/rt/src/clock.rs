//! Wall-clock and monotonic time.
//!
//! Library code reads the wall clock only through [`now_millis`] (RocketMQ's bornTimestamp and
//! storeTimestamp, file names of time-stamped files, expiry) and monotonic time only through
//! [`now`] or tokio's timers (timeouts, intervals, leases measured on one host).
//!
//! Under madsim both are virtual (madsim intercepts the libc clocks), and madsim has one global
//! clock. Real hosts disagree about wall-clock time, so in simulation each node's [`now_millis`]
//! may carry an offset, a drift and steps set by the harness through [`sim`]; code that compares
//! wall-clock stamps from different nodes (lease expiry, message ages) is then tested against
//! unequal clocks. Monotonic time is left unskewed: timers on a node fire by the same clock that
//! `now` reads, so skewing one without the other would model nothing real.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, as RocketMQ stamps bornTimestamp/storeTimestamp. A clock
/// set before 1970 reads as 0. Under simulation, the calling node's skew applies.
pub fn now_millis() -> u64 {
    let system = system_millis();
    #[cfg(madsim)]
    {
        sim::skewed(system)
    }
    #[cfg(not(madsim))]
    {
        system
    }
}

/// The host's wall clock, unskewed: the one place outside tests that reads `SystemTime`.
fn system_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A monotonic instant, for timeouts and intervals.
pub fn now() -> tokio::time::Instant {
    tokio::time::Instant::now()
}

/// Per-node wall-clock skew in simulation.
///
/// A node's clock reads `true + offset + drift * (true - anchor)`, where `true` is the simulated
/// wall clock, `drift` is in parts per million and `anchor` is the true time when the drift was
/// last set (so changing the drift does not make the clock jump). Nodes start exact.
///
/// The table lives in a thread-local: madsim runs each runtime on its own thread, so a new run
/// starts with exact clocks and no state leaks between seeds.
#[cfg(madsim)]
pub mod sim {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use madsim::task::NodeId;

    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    struct Skew {
        offset_ms: i64,
        drift_ppm: i64,
        anchor_ms: u64,
    }

    thread_local! {
        static SKEWS: RefCell<BTreeMap<NodeId, Skew>> = const { RefCell::new(BTreeMap::new()) };
    }

    fn true_millis() -> u64 {
        super::system_millis()
    }

    fn update(node: NodeId, f: impl FnOnce(&mut Skew)) {
        SKEWS.with(|skews| f(skews.borrow_mut().entry(node).or_default()));
    }

    /// Sets `node`'s clock to read `offset_ms` from true time now, drifting by `drift_ppm`
    /// (positive: runs fast) from now on.
    pub fn set_skew(node: NodeId, offset_ms: i64, drift_ppm: i64) {
        let anchor_ms = true_millis();
        update(node, |s| *s = Skew { offset_ms, drift_ppm, anchor_ms });
    }

    /// Steps `node`'s clock by `delta_ms` (negative: backwards), as an NTP step or an operator
    /// setting the clock would; the drift continues.
    pub fn jump(node: NodeId, delta_ms: i64) {
        update(node, |s| s.offset_ms = s.offset_ms.saturating_add(delta_ms));
    }

    /// Gives `node` a seeded random offset in `-max_offset_ms..=max_offset_ms` and drift in
    /// `-max_drift_ppm..=max_drift_ppm`, and returns them.
    pub fn randomize(node: NodeId, max_offset_ms: u64, max_drift_ppm: u64) -> (i64, i64) {
        let pick = |max: u64| {
            let max = i64::try_from(max).unwrap_or(i64::MAX / 2).min(i64::MAX / 2);
            crate::rand::range(-max..=max)
        };
        let (offset, drift) = (pick(max_offset_ms), pick(max_drift_ppm));
        set_skew(node, offset, drift);
        (offset, drift)
    }

    /// Makes `node`'s clock exact again.
    pub fn reset(node: NodeId) {
        SKEWS.with(|skews| skews.borrow_mut().remove(&node));
    }

    /// Makes every node's clock exact again.
    pub fn reset_all() {
        SKEWS.with(|skews| skews.borrow_mut().clear());
    }

    /// The offset `node`'s clock has from true time right now, in milliseconds.
    pub fn offset_now(node: NodeId) -> i64 {
        let t = true_millis();
        let skew = SKEWS.with(|skews| skews.borrow().get(&node).copied()).unwrap_or_default();
        apply(skew, t) as i64 - t as i64
    }

    fn apply(skew: Skew, true_ms: u64) -> u64 {
        let since = i128::from(true_ms) - i128::from(skew.anchor_ms);
        let drift = since * i128::from(skew.drift_ppm) / 1_000_000;
        let read = i128::from(true_ms) + i128::from(skew.offset_ms) + drift;
        u64::try_from(read.max(0)).unwrap_or(u64::MAX)
    }

    /// The skewed reading for the calling node; exact outside a simulation.
    pub(super) fn skewed(true_ms: u64) -> u64 {
        if madsim::runtime::Handle::try_current().is_err() {
            return true_ms;
        }
        // Inside a runtime every poll (and every drop of a killed task) runs in a task context,
        // so the current node is known.
        let node = madsim::plugin::node();
        match SKEWS.with(|skews| skews.borrow().get(&node).copied()) {
            Some(skew) => apply(skew, true_ms),
            None => true_ms,
        }
    }
}
