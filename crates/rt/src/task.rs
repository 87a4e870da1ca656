//! Tasks that block. Spawning ordinary tasks goes through `tokio::spawn` (madsim's under the
//! simulation build); library crates may not call `spawn_blocking` themselves, because the
//! simulator has no blocking pool and because every use should be one of the few audited ones.

/// Runs `f`, which may block (msync, fsync, a large file read), without stalling an async worker.
///
/// Production: tokio's blocking pool. Simulation: an ordinary task on the current node (madsim
/// has no threads; the simulated disk never blocks anyway), so it is scheduled, killed with the
/// node and seeded like any other task.
pub fn spawn_blocking<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    #[cfg(madsim)]
    {
        tokio::spawn(async move { f() })
    }
    #[cfg(not(madsim))]
    {
        tokio::task::spawn_blocking(f)
    }
}
