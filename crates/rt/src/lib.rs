//! The runtime seam (DESIGN.md §2). Library crates reach the disk, the clock and randomness only
//! through this crate, and tasks, timers and sockets only through `tokio` (madsim-tokio), so that
//! one build runs on real tokio and one (`--cfg madsim`) runs inside the deterministic simulator.
//!
//! This is the only crate that names `madsim` or `memmap2`. Under `--cfg madsim` it also offers
//! [`sim`], the helpers that build simulation runtimes with Apogee's plugins.

pub mod clock;
pub mod disk;
pub mod process_local;
pub mod rand;
#[cfg(madsim)]
pub mod sim;
pub mod sync;
pub mod task;
