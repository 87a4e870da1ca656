//! Ordered sends by sharding key under the nemesis, read back by a lite pull consumer assigned
//! every queue: per-queue and per-key order, no acknowledged message lost, consistent offsets,
//! monotonic reads. Replay one seed: `MADSIM_TEST_SEED=<n> cargo sim -p apogee-sim --test
//! ordered -- <test name>`.
#![cfg(madsim)]

use std::time::Duration;

use sim::nemesis::Fault;
use sim::scenario::{run, Scenario, Workload};
use store::FlushDiskType;

/// One scenario per test binary (ASYNC_FLUSH is in `ordered_async`): the remoting layer's
/// channel ids come from a process-wide counter, so scenarios running side by side in one
/// process would shape each other's runs.
fn scenario(name: &'static str, flush: FlushDiskType) -> Scenario {
    Scenario {
        name,
        test: "ordered",
        workload: Workload::Ordered,
        flush,
        namesrvs: 2,
        brokers: 1,
        producers: 2,
        faults: &Fault::ALL,
        safety: Duration::from_secs(60),
    }
}

#[test]
fn ordered_sync_flush() {
    rt::sim::run_test(|| run(scenario("ordered_sync_flush", FlushDiskType::SyncFlush)));
}
