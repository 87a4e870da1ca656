//! Deterministic simulation of a whole Apogee cluster (only under `--cfg madsim`).
//!
//! Name servers, brokers and clients run as madsim nodes through the daemons' real entry
//! points; a nemesis drawn from the seed injects process, network, disk and clock faults; the
//! workloads record a history that the checker judges at the end. One seed replays one run
//! exactly, and each run ends with a hash of its event trace.
//!
//! - [`cluster`]: the nodes, their addresses and disks;
//! - [`nemesis`]: the faults, drawn per seed (swarm testing), and healing;
//! - [`workload`]: producers and consumers that record what they see;
//! - [`trace`]: the history recorder and the trace hash;
//! - [`scenario`]: the phases and the verdict.
//!
//! Run: `cargo sim -p apogee-sim` (each scenario at its default seed), one seed with
//! `MADSIM_TEST_SEED=<n> cargo sim -p apogee-sim --test <file> -- <scenario>`, a sweep with
//! `cargo xtask sim --seeds 1..100 -p apogee-sim`.
#![cfg(madsim)]

pub mod cluster;
pub mod nemesis;
pub mod scenario;
pub mod trace;
pub mod workload;
