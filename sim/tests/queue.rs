//! Plain sends under the nemesis, consumed by a group of push consumers that join, leave and die
//! during the run (so the group rebalances): every acknowledged message is delivered at least
//! once (duplicates allowed, order not promised). Replay one seed: `MADSIM_TEST_SEED=<n> cargo
//! sim -p apogee-sim --test queue -- <test name>`.
#![cfg(madsim)]

use std::time::Duration;

use sim::nemesis::Fault;
use sim::scenario::{run, Scenario, Workload};
use store::FlushDiskType;

#[test]
fn queue_sync_flush() {
    rt::sim::run_test(|| {
        run(Scenario {
            name: "queue_sync_flush",
            test: "queue",
            workload: Workload::Queue,
            flush: FlushDiskType::SyncFlush,
            namesrvs: 2,
            brokers: 2,
            producers: 2,
            faults: &Fault::ALL,
            safety: Duration::from_secs(60),
        })
    });
}
