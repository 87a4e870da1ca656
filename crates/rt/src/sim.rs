//! Running simulations (only under `--cfg madsim`).
//!
//! `#[madsim::test]` builds its runtime itself and cannot register simulator plugins, so tests
//! that need the disk plugin build the runtime here instead. [`run_test`] reads the same
//! environment as madsim's own test macro:
//! - `MADSIM_TEST_SEED`: the first seed (default [`DEFAULT_SEED`], fixed so a plain run is
//!   reproducible; sweep seeds with one process per seed, see the xtask);
//! - `MADSIM_TEST_NUM`: how many consecutive seeds to run (default 1);
//! - `MADSIM_TEST_TIME_LIMIT`: a limit in simulated seconds;
//! - `MADSIM_TEST_CHECK_DETERMINISM`: run each seed twice and compare the runs.
//!
//! madsim's own determinism checker (`Runtime::check_determinism`) builds runtimes it cannot
//! register plugins on, and its per-draw log is private to madsim, so this check compares what
//! two runs of a seed leave behind instead: the simulated time they took, the state of the
//! seeded RNG (which advances on every scheduling decision and every draw), and the test's own
//! fingerprint (its return value's `Debug` form). Any divergence in scheduling shows in these.

use std::future::Future;
use std::time::Duration;

use madsim::rand::RngCore;
use madsim::runtime::Runtime;

use crate::disk::sim_plugin::DiskSim;

/// The seed a test runs with when `MADSIM_TEST_SEED` is unset.
pub const DEFAULT_SEED: u64 = 1;

fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse() {
        Ok(v) => Some(v),
        Err(_) => panic!("{name}={value:?} is not a number"),
    }
}

/// The seed from `MADSIM_TEST_SEED`, or [`DEFAULT_SEED`].
pub fn seed_from_env() -> u64 {
    env_number("MADSIM_TEST_SEED").unwrap_or(DEFAULT_SEED)
}

/// A madsim runtime for `seed` with Apogee's simulator plugins registered and the time limit
/// from `MADSIM_TEST_TIME_LIMIT`, if set.
///
/// Also makes every node's clock exact again and forgets every node's process-local state: both
/// live in thread-locals (see [`crate::clock::sim`] and [`crate::process_local`]), and a new
/// runtime on this thread must not inherit an old run's.
pub fn runtime(seed: u64) -> Runtime {
    // The runtime first: it seeds std's hash keys on this thread, which only works before
    // anything on the thread has made a HashMap (see `madsim::rand`).
    let mut rt = Runtime::with_seed_and_config(seed, madsim::Config::default());
    crate::clock::sim::reset_all();
    crate::process_local::reset_all();
    rt.add_simulator::<DiskSim>();
    if let Some(secs) = env_number::<f64>("MADSIM_TEST_TIME_LIMIT") {
        rt.set_time_limit(Duration::from_secs_f64(secs));
    }
    rt
}

/// What one run of a seed leaves behind, compared by the determinism check.
#[derive(Debug, PartialEq, Eq)]
struct Trace {
    elapsed: Duration,
    rng_after: u64,
    output: String,
}

/// Runs `make()`'s future for one `seed` on a fresh runtime with the plugins, in its own thread
/// (as madsim does, so no thread-local state leaks between runs), and returns its output. A
/// failure is re-raised with a note naming the seed.
pub fn run_seed<F, Fut>(seed: u64, make: F) -> Fut::Output
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: std::fmt::Debug + Send + 'static,
{
    run_once(seed, make).0
}

/// [`run_seed`], also returning the run's trace for the determinism check.
fn run_once<F, Fut>(seed: u64, make: F) -> (Fut::Output, Trace)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: std::fmt::Debug + Send + 'static,
{
    let joined = std::thread::Builder::new()
        .name(format!("sim-seed-{seed}"))
        .spawn(move || {
            let rt = runtime(seed);
            rt.block_on(async move {
                let start = madsim::time::Instant::now();
                let output = make().await;
                let elapsed = start.elapsed();
                let rng_after = madsim::rand::thread_rng().next_u64();
                let trace = Trace { elapsed, rng_after, output: format!("{output:?}") };
                (output, trace)
            })
        })
        .map(|h| h.join());
    match joined {
        Ok(Ok(result)) => result,
        Ok(Err(payload)) => {
            eprintln!("note: run with `MADSIM_TEST_SEED={seed}` to reproduce this failure");
            std::panic::resume_unwind(payload)
        }
        Err(e) => panic!("cannot start a simulation thread: {e}"),
    }
}

/// Runs a simulation test for the seeds the environment asks for (see the module docs),
/// panicking with the seed to reproduce on the first failure. `make` builds the test's future;
/// it is called once per run. Returns the last run's output.
pub fn run_test<F, Fut>(make: F) -> Fut::Output
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: std::fmt::Debug + Send + 'static,
{
    let first = seed_from_env();
    let count: u64 = env_number("MADSIM_TEST_NUM").unwrap_or(1).max(1);
    let check = std::env::var_os("MADSIM_TEST_CHECK_DETERMINISM").is_some();
    let run_seed = |seed: u64| {
        if check {
            check_determinism(seed, make.clone())
        } else {
            run_seed(seed, make.clone())
        }
    };
    let mut output = run_seed(first);
    for seed in first.saturating_add(1)..first.saturating_add(count) {
        output = run_seed(seed);
    }
    output
}

/// Runs `seed` twice and panics if the two runs differ in simulated time, RNG state or output
/// (see the module docs); returns the output.
pub fn check_determinism<F, Fut>(seed: u64, make: F) -> Fut::Output
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: std::fmt::Debug + Send + 'static,
{
    let (output, trace) = run_once(seed, make.clone());
    let (_, again) = run_once(seed, make);
    assert_eq!(
        trace, again,
        "non-determinism: seed {seed} gave two different runs (first, second)"
    );
    output
}
