//! The ordered workload on ASYNC_FLUSH brokers: a power cut may take back what was acknowledged
//! within the flush window before it (and what an fsync error left unsynced), nothing else; see
//! the README's durability contract. Replay one seed: `MADSIM_TEST_SEED=<n> cargo sim -p
//! apogee-sim --test ordered_async -- <test name>`.
#![cfg(madsim)]

use std::time::Duration;

use sim::nemesis::Fault;
use sim::scenario::{run, Scenario, Workload};
use store::FlushDiskType;

#[test]
fn ordered_async_flush() {
    rt::sim::run_test(|| {
        run(Scenario {
            name: "ordered_async_flush",
            test: "ordered_async",
            workload: Workload::Ordered,
            flush: FlushDiskType::AsyncFlush,
            namesrvs: 2,
            brokers: 1,
            producers: 2,
            faults: &Fault::ALL,
            safety: Duration::from_secs(60),
        })
    });
}
