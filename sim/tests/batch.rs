//! Batch sends under the nemesis, read back by a lite pull consumer assigned every queue: a
//! batch is stored whole at consecutive offsets of one queue, nothing acknowledged is lost and
//! each queue is read in order. Replay one seed: `MADSIM_TEST_SEED=<n> cargo sim -p apogee-sim
//! --test batch -- <test name>`.
#![cfg(madsim)]

use std::time::Duration;

use sim::nemesis::Fault;
use sim::scenario::{run, Scenario, Workload};
use store::FlushDiskType;

#[test]
fn batch_sync_flush() {
    rt::sim::run_test(|| {
        run(Scenario {
            name: "batch_sync_flush",
            test: "batch",
            workload: Workload::Batch,
            flush: FlushDiskType::SyncFlush,
            namesrvs: 1,
            brokers: 1,
            producers: 2,
            faults: &Fault::ALL,
            safety: Duration::from_secs(60),
        })
    });
}
