//! State that a real process keeps for its whole life (a registry of client instances, an id
//! counter), reached through the seam so that the simulation sees one copy per simulated process.
//!
//! In production a `static` would do. Under simulation it would not: every simulated node, and
//! every test running in parallel in the same test binary, shares the one real process, so a
//! `static` leaks state between hosts that are meant to be separate machines and between runs
//! that must be independent (a seed's second run would see the first run's counters, and the
//! determinism check would fail). Here, under `--cfg madsim`, the state is kept per simulation
//! run (madsim drives each runtime on a thread of its own, so a thread-local is per run) and per
//! node, and [`crate::sim::runtime`] clears it when it builds a runtime on the thread.
//!
//! A value lives as long as its process: on tokio, until exit; under simulation, until the run
//! ends (a killed and restarted node keeps it, which is harmless for the counters and registries
//! of weak references this is used for).

use std::any::{Any, TypeId};
use std::sync::Arc;

type Value = Arc<dyn Any + Send + Sync>;

/// The process's one value of type `T`, made with `T::default()` on first use.
///
/// Key the state by a type of its own (a newtype around the counter or map), so that two users
/// never share one value by accident.
pub fn get<T: Any + Default + Send + Sync>() -> Arc<T> {
    let value = imp::get_or_insert(TypeId::of::<T>(), || Arc::new(T::default()));
    match value.downcast::<T>() {
        Ok(v) => v,
        // tidy: allow(no-panic) the table is keyed by `TypeId::of::<T>()`, so the value is a `T`
        Err(_) => unreachable!("process-local value stored under another type's id"),
    }
}

/// The process id, as RocketMQ puts it in client ids and message ids. Under simulation each
/// node has its own, drawn from the seed on first use: the real id differs from run to run and
/// would make a replay of the same seed take other paths (client ids order the rebalance).
pub fn pid() -> u32 {
    #[cfg(madsim)]
    {
        #[derive(Default)]
        struct Pid(std::sync::OnceLock<u32>);
        // Linux pids start above the kernel's own and stay below pid_max's default.
        if madsim::runtime::Handle::try_current().is_err() {
            return std::process::id();
        }
        *get::<Pid>().0.get_or_init(|| 300 + crate::rand::u32() % 32_000)
    }
    #[cfg(not(madsim))]
    {
        std::process::id()
    }
}

#[cfg(not(madsim))]
mod imp {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock, PoisonError};

    use super::{TypeId, Value};

    static VALUES: OnceLock<Mutex<HashMap<TypeId, Value>>> = OnceLock::new();

    pub(super) fn get_or_insert(id: TypeId, make: impl FnOnce() -> Value) -> Value {
        let mut values =
            VALUES.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner);
        values.entry(id).or_insert_with(make).clone()
    }
}

#[cfg(madsim)]
mod imp {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use madsim::task::NodeId;

    use super::{TypeId, Value};

    // A BTreeMap, not a HashMap: this table may be created on a run's thread before madsim
    // seeds std's hash keys there, and a HashMap made first would fix that thread's keys to
    // real randomness, so every HashMap of the run would iterate differently in each process.
    thread_local! {
        static VALUES: RefCell<BTreeMap<(NodeId, TypeId), Value>> =
            const { RefCell::new(BTreeMap::new()) };
    }

    thread_local! {
        /// Values used outside any simulation (a plain unit test of a simulation build).
        static OUTSIDE: RefCell<BTreeMap<TypeId, Value>> = const { RefCell::new(BTreeMap::new()) };
    }

    pub(super) fn get_or_insert(id: TypeId, make: impl FnOnce() -> Value) -> Value {
        if madsim::runtime::Handle::try_current().is_err() {
            return OUTSIDE
                .with(|values| values.borrow_mut().entry(id).or_insert_with(make).clone());
        }
        let node = madsim::plugin::node();
        VALUES.with(|values| values.borrow_mut().entry((node, id)).or_insert_with(make).clone())
    }

    /// Forgets every node's values: a new run on this thread starts from fresh processes.
    pub(crate) fn reset_all() {
        VALUES.with(|values| values.borrow_mut().clear());
        OUTSIDE.with(|values| values.borrow_mut().clear());
    }
}

#[cfg(madsim)]
pub(crate) use imp::reset_all;

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::get;

    #[derive(Default)]
    struct Counter(AtomicU64);

    #[derive(Default)]
    struct Other(AtomicU64);

    fn bump() -> u64 {
        get::<Counter>().0.fetch_add(1, Ordering::Relaxed) + 1
    }

    #[cfg(not(madsim))]
    #[test]
    fn one_value_per_type() {
        let first = bump();
        assert!(bump() > first);
        assert_eq!(get::<Other>().0.load(Ordering::Relaxed), 0);
    }

    /// Each simulated node is its own process, and each run starts from fresh processes.
    #[cfg(madsim)]
    #[test]
    fn one_value_per_node_and_run() {
        for _run in 0..2 {
            crate::sim::run_seed(1, || async {
                assert_eq!((bump(), bump()), (1, 2));
                let handle = madsim::runtime::Handle::current();
                let node = handle.create_node().name("other").build();
                let there = node.spawn(async { bump() }).await.unwrap_or(0);
                assert_eq!(there, 1);
                assert_eq!(get::<Other>().0.load(Ordering::Relaxed), 0);
            });
        }
    }
}
