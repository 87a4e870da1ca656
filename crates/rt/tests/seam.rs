//! The clock, randomness and task seams in whichever build runs them (`#[tokio::test]` is
//! madsim's test macro in the simulation build).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;

#[tokio::test]
async fn now_millis_reads_the_wall_clock() {
    let system = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let ours = rt::clock::now_millis();
    assert!(ours.abs_diff(system) < 1_000, "{ours} vs {system}");
    let t0 = rt::clock::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(rt::clock::now() - t0 >= Duration::from_millis(5));
}

#[tokio::test]
async fn spawn_blocking_returns_the_result() {
    let v = rt::task::spawn_blocking(|| (1..=10).sum::<u32>()).await.unwrap();
    assert_eq!(v, 55);
}

#[test]
fn random_draws_respect_their_bounds() {
    for _ in 0..1_000 {
        assert!((5..9).contains(&rt::rand::range(5..9)));
        assert!((-3..=3).contains(&rt::rand::range(-3i64..=3)));
        let f: f64 = rt::rand::range(0.25..0.5);
        assert!((0.25..0.5).contains(&f));
    }
    assert!(!rt::rand::chance(0.0));
    assert!(!rt::rand::chance(-1.0));
    assert!(!rt::rand::chance(f64::NAN));
    assert!(rt::rand::chance(1.0));
    assert!(rt::rand::chance(2.0));
    let mut buf = [0u8; 64];
    rt::rand::fill(&mut buf);
    assert!(buf.iter().any(|&b| b != 0));
    let draws: Vec<u64> = (0..8).map(|_| rt::rand::u64()).collect();
    assert!(draws.windows(2).any(|w| w[0] != w[1]));
    let _ = rt::rand::u32();
}

#[test]
fn seeded_streams_repeat() {
    let a: Vec<u32> = rt::rand::seeded(7).random_iter().take(5).collect();
    let b: Vec<u32> = rt::rand::seeded(7).random_iter().take(5).collect();
    let c: Vec<u32> = rt::rand::seeded(8).random_iter().take(5).collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
}
