//! The clock, randomness and task seams inside the simulator.

#![cfg(madsim)]

use std::time::Duration;

use madsim::runtime::Handle;
use rt::clock;

#[test]
fn node_clocks_carry_their_own_skew_drift_and_jumps() {
    rt::sim::run_test(|| async {
        let handle = Handle::current();
        let exact = handle.create_node().name("exact").build();
        let fast = handle.create_node().name("fast").build();
        clock::sim::set_skew(fast.id(), 5_000, 1_000); // 5 s ahead, gaining 1 ms per second
        let read = |node: &madsim::runtime::NodeHandle| node.spawn(async { clock::now_millis() });
        let (a, b) = (read(&exact).await.unwrap(), read(&fast).await.unwrap());
        assert!((4_990..=5_010).contains(&(b as i64 - a as i64)), "{a} vs {b}");
        tokio::time::sleep(Duration::from_secs(100)).await;
        let (a, b) = (read(&exact).await.unwrap(), read(&fast).await.unwrap());
        assert!((5_090..=5_110).contains(&(b as i64 - a as i64)), "after drift: {a} vs {b}");
        clock::sim::jump(fast.id(), -60_000); // an NTP step backwards
        let (a, b) = (read(&exact).await.unwrap(), read(&fast).await.unwrap());
        assert!((-54_910..=-54_890).contains(&(b as i64 - a as i64)), "after jump: {a} vs {b}");
        assert!((-54_910..=-54_890).contains(&clock::sim::offset_now(fast.id())));
        clock::sim::reset(fast.id());
        assert_eq!(clock::sim::offset_now(fast.id()), 0);
        // The monotonic clock is shared and unskewed.
        let t0 = clock::now();
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(clock::now() - t0 >= Duration::from_secs(3));
    });
}

#[test]
fn randomized_skews_are_seeded() {
    let draw = || async {
        let node = Handle::current().create_node().build();
        clock::sim::randomize(node.id(), 10_000, 500)
    };
    let a = rt::sim::run_seed(5, draw);
    assert_eq!(a, rt::sim::run_seed(5, draw));
    assert!(a.0.abs() <= 10_000 && a.1.abs() <= 500);
    assert!((6..12).any(|s| rt::sim::run_seed(s, draw) != a));
}

#[test]
fn randomness_follows_the_seed() {
    let draw = || async {
        let mut buf = [0u8; 16];
        rt::rand::fill(&mut buf);
        (rt::rand::u64(), rt::rand::u32(), rt::rand::range(10..20u32), rt::rand::chance(0.5), buf)
    };
    let a = rt::sim::run_seed(42, draw);
    assert_eq!(a, rt::sim::run_seed(42, draw));
    assert_ne!(a, rt::sim::run_seed(43, draw));
    assert!((10..20).contains(&a.2));
    // Ambient rand 0.9 randomness is seeded by madsim too (it intercepts getrandom).
    let ambient = || async { rand::random::<u64>() };
    assert_eq!(rt::sim::run_seed(42, ambient), rt::sim::run_seed(42, ambient));
}

#[test]
fn spawn_blocking_runs_as_a_simulated_task() {
    rt::sim::run_test(|| async {
        let v = rt::task::spawn_blocking(|| 6 * 7).await.unwrap();
        assert_eq!(v, 42);
    });
}

#[test]
fn the_determinism_check_passes_a_deterministic_run() {
    rt::sim::check_determinism(9, || async {
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(rt::rand::range(1..100))).await;
        }
        rt::rand::u64()
    });
}

#[test]
#[should_panic(expected = "non-determinism")]
fn the_determinism_check_catches_ambient_state() {
    use std::sync::atomic::{AtomicU64, Ordering};
    // State that outlives a run (a static) changes what the second run does.
    static RUNS: AtomicU64 = AtomicU64::new(0);
    rt::sim::check_determinism(9, || async {
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(1 + n)).await;
    });
}
