//! `cargo xtask`: the project's own jobs that a cargo alias cannot express.
//!
//! - [`tidy`]: the repository rules that rustc and clippy cannot check (banned calls outside the
//!   runtime seam, no panicking shortcuts in core crates, file size).
//! - [`sim`]: simulation seed sweeps, one process per seed.
//!
//! xtask is a developer tool, not library code: it may use threads, processes and the file system
//! directly, and tidy does not scan it.

use std::path::PathBuf;

pub mod sim;
pub mod tidy;

/// The repository root: xtask always lives one level below it.
pub fn repo_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match manifest_dir.parent() {
        Some(parent) => parent.to_path_buf(),
        None => manifest_dir,
    }
}
