//! Message counters for GET_BROKER_RUNTIME_INFO (RocketMQ `BrokerStatsManager`, reduced to what
//! the admin tools print): messages stored and messages delivered since the broker started.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters since start.
#[derive(Debug, Default)]
pub struct BrokerStats {
    put_total: AtomicU64,
    get_total: AtomicU64,
}

impl BrokerStats {
    /// `n` messages were stored.
    pub fn inc_put(&self, n: u64) {
        self.put_total.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` messages were delivered by pulls.
    pub fn inc_get(&self, n: u64) {
        self.get_total.fetch_add(n, Ordering::Relaxed);
    }

    /// Messages stored since start.
    pub fn put_total(&self) -> u64 {
        self.put_total.load(Ordering::Relaxed)
    }

    /// Messages delivered since start.
    pub fn get_total(&self) -> u64 {
        self.get_total.load(Ordering::Relaxed)
    }

    /// Average per second over `elapsed_ms`, formatted like RocketMQ's `"tps10s tps60s tps600s"`
    /// (the same average three times: no sliding windows are kept).
    pub fn tps_triplet(total: u64, elapsed_ms: i64) -> String {
        let secs = (elapsed_ms.max(1) as f64) / 1000.0;
        let tps = total as f64 / secs;
        format!("{tps:.2} {tps:.2} {tps:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_formats() {
        let s = BrokerStats::default();
        s.inc_put(3);
        s.inc_get(2);
        assert_eq!((s.put_total(), s.get_total()), (3, 2));
        assert_eq!(BrokerStats::tps_triplet(10, 2000), "5.00 5.00 5.00");
    }
}
