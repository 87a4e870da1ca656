//! Randomness: real entropy in production, madsim's seeded generator in simulation.
//!
//! Library code draws random numbers only here (jitter, ids, sampling, election timeouts), so one
//! `MADSIM_TEST_SEED` reproduces a simulation. Under madsim the draws come from the runtime's
//! global RNG, which its determinism check also watches; outside a running simulation (a plain
//! unit test in the simulation build) they fall back to the thread's generator.
//!
//! Code that wants its own reproducible stream (a workload generator, a model test) takes one
//! from [`seeded`].

use ::rand::distr::uniform::{SampleRange, SampleUniform};
use ::rand::rngs::StdRng;
use ::rand::{Rng, RngCore, SeedableRng};

/// Runs `f` on the generator in force: madsim's inside a simulation, the thread's otherwise.
fn with_rng<T>(f: impl FnOnce(&mut dyn RngCore) -> T) -> T {
    #[cfg(madsim)]
    {
        if madsim::runtime::Handle::try_current().is_ok() {
            return f(&mut sim::MadsimRng(madsim::rand::thread_rng()));
        }
    }
    f(&mut ::rand::rng())
}

/// A random u64.
pub fn u64() -> u64 {
    with_rng(|rng| rng.next_u64())
}

/// A random u32.
pub fn u32() -> u32 {
    with_rng(|rng| rng.next_u32())
}

/// A uniform draw from `range` (`lo..hi` or `lo..=hi`).
///
/// # Panics
/// If the range is empty, as rand does.
pub fn range<T, R>(range: R) -> T
where
    T: SampleUniform,
    R: SampleRange<T>,
{
    with_rng(|rng| rng.random_range(range))
}

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) {
    with_rng(|rng| rng.fill_bytes(buf));
}

/// True with probability `p`; `p` at or below 0 (or NaN) is never, at or above 1 always.
pub fn chance(p: f64) -> bool {
    if p.is_nan() || p <= 0.0 {
        return false;
    }
    if p >= 1.0 {
        return true;
    }
    with_rng(|rng| rng.random_bool(p))
}

/// An independent generator with its own reproducible stream.
pub fn seeded(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

#[cfg(madsim)]
mod sim {
    use madsim::rand::RngCore as MadsimRngCore;

    /// madsim's global RNG (rand 0.8's traits) seen through rand 0.9's `RngCore`.
    pub(super) struct MadsimRng(pub madsim::rand::GlobalRng);

    impl ::rand::RngCore for MadsimRng {
        fn next_u32(&mut self) -> u32 {
            self.0.next_u32()
        }

        fn next_u64(&mut self) -> u64 {
            self.0.next_u64()
        }

        fn fill_bytes(&mut self, dst: &mut [u8]) {
            self.0.fill_bytes(dst)
        }
    }
}
