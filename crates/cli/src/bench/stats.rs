//! Latency statistics for the benchmarks: an HDR-style log-linear histogram (about 0.8%
//! relative precision at any magnitude, fixed memory, no allocation per record) and the
//! per-second window the reporters swap out.

/// Sub-buckets per power of two, as a bit count: 2^7 = 128 exact values, then 64 buckets per
/// doubling, so a bucket spans at most 1/64 of its values.
const SUB_BITS: u32 = 7;
const SUB_COUNT: u64 = 1 << SUB_BITS;
const HALF: u64 = SUB_COUNT / 2;
/// Buckets needed to cover every u64.
const BUCKETS: usize = (SUB_COUNT + (64 - SUB_BITS as u64) * HALF) as usize;

/// A histogram of non-negative integer values (the benchmarks record microseconds).
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self { counts: vec![0; BUCKETS], total: 0, sum: 0, min: u64::MAX, max: 0 }
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram").field("count", &self.total).field("max", &self.max).finish()
    }
}

/// The bucket of `v`: values below `SUB_COUNT` have their own; above, the top `SUB_BITS - 1`
/// bits after the leading one pick one of `HALF` buckets within the value's power of two.
fn bucket_of(v: u64) -> usize {
    if v < SUB_COUNT {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let shift = msb - (SUB_BITS - 1);
    (SUB_COUNT + u64::from(shift - 1) * HALF + ((v >> shift) - HALF)) as usize
}

/// The largest value that falls in bucket `i` (what HdrHistogram calls the highest
/// equivalent value).
fn bucket_high(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB_COUNT {
        return i;
    }
    let shift = (i - SUB_COUNT) / HALF + 1;
    let sub = (i - SUB_COUNT) % HALF + HALF;
    let low = sub << shift;
    low.saturating_add((1u64 << shift) - 1)
}

impl Histogram {
    /// Records one value.
    pub fn record(&mut self, v: u64) {
        if let Some(c) = self.counts.get_mut(bucket_of(v)) {
            *c += 1;
        }
        self.total += 1;
        self.sum += u128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest value recorded (0 if none).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The smallest value recorded (0 if none).
    pub fn min(&self) -> u64 {
        if self.total == 0 {
            0
        } else {
            self.min
        }
    }

    /// The exact mean (0 if none).
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The value at percentile `p` (0..=100): the smallest bucket bound with at least `p`% of
    /// the values at or below it, never above the recorded max (0 if none).
    pub fn value_at_percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let p = p.clamp(0.0, 100.0);
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_high(i).min(self.max).max(self.min());
            }
        }
        self.max
    }
}

/// Successes, failures and latencies of one reporting interval (or a whole run).
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// Messages that succeeded (a batch counts its messages).
    pub ok: u64,
    /// Messages that failed.
    pub failed: u64,
    /// Latency per request, microseconds.
    pub rt_us: Histogram,
}

impl Window {
    /// Adds another window.
    pub fn merge(&mut self, other: &Window) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.rt_us.merge(&other.rt_us);
    }

    /// Messages per second over `secs`.
    pub fn tps(&self, secs: f64) -> f64 {
        if secs <= 0.0 {
            0.0
        } else {
            self.ok as f64 / secs
        }
    }
}

/// Microseconds as milliseconds with three decimals.
pub fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

/// The fractional mean in microseconds as milliseconds.
pub fn ms_f(us: f64) -> String {
    format!("{:.3}", us / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut prev = 0;
        for v in [0u64, 1, 127, 128, 129, 255, 256, 1000, 65_535, 1 << 40, u64::MAX] {
            let b = bucket_of(v);
            assert!(b >= prev, "{v}");
            prev = b;
            let high = bucket_high(b);
            assert!(high >= v, "{v} -> {high}");
            // Relative error within 1/64.
            assert!((high - v) as f64 <= v as f64 / 64.0 + 1.0, "{v} -> {high}");
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        for i in 1..BUCKETS {
            assert_eq!(bucket_of(bucket_high(i - 1) + 1), i);
        }
    }

    #[test]
    fn percentiles_exact_below_128_and_within_one_percent_above() {
        let mut h = Histogram::default();
        assert_eq!(h.value_at_percentile(99.0), 0);
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.value_at_percentile(50.0), 50);
        assert_eq!(h.value_at_percentile(99.0), 99);
        assert_eq!(h.value_at_percentile(100.0), 100);
        assert_eq!(h.value_at_percentile(0.0), 1);
        assert_eq!((h.min(), h.max(), h.mean()), (1, 100, 50.5));

        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v * 10);
        }
        for (p, want) in [(50.0, 500_000.0), (99.0, 990_000.0), (99.9, 999_000.0)] {
            let got = h.value_at_percentile(p) as f64;
            assert!((got - want).abs() / want < 0.01, "p{p}: {got} vs {want}");
        }
        assert_eq!(h.value_at_percentile(100.0), 1_000_000);
    }

    #[test]
    fn merge_and_windows() {
        let mut a = Window { ok: 3, failed: 1, ..Default::default() };
        a.rt_us.record(10);
        let mut b = Window { ok: 2, ..Default::default() };
        b.rt_us.record(1000);
        a.merge(&b);
        assert_eq!((a.ok, a.failed, a.rt_us.count(), a.rt_us.max()), (5, 1, 2, 1000));
        assert_eq!(a.tps(0.5), 10.0);
        assert_eq!(a.tps(0.0), 0.0);
        assert_eq!(ms(1500), "1.500");
        assert_eq!(ms_f(2500.0), "2.500");
    }
}
