//! The store's error type.

use std::io;
use std::path::PathBuf;

/// What can go wrong inside the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A disk operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file on disk is not what the store wrote (bad name, size or content).
    #[error("corrupt store file {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// An earlier fsync failed; nothing more is written or acknowledged until a restart recovers.
    #[error("store poisoned by a failed flush: {0}")]
    Poisoned(String),
    /// The store is shut down or not started.
    #[error("store is not running")]
    NotRunning,
    /// A recovery invariant did not hold; the store refuses to open rather than serve bad data.
    #[error("recovery invariant violated: {0}")]
    Invariant(String),
    /// A bad argument from the caller.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Adds the operation and path to an `io::Error`.
pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl StoreError {
    /// A failed fsync of a file or a folder: fatal for the store, because the file keeps
    /// failing its syncs (fsyncgate) and what it held may not be on disk.
    pub fn is_sync_failure(&self) -> bool {
        matches!(self, StoreError::Io { op, .. } if op.starts_with("sync"))
    }
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| StoreError::Io { op, path: path.into(), source })
    }
}
