//! Fails a simulation run that silently lost `--cfg madsim`.
//!
//! `cargo sim` passes the cfg through `--config target.'cfg(all())'.rustflags`, which cargo
//! ignores whenever RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS is set in the environment: the tests
//! then build and pass on real tokio while claiming to be simulations. Two signals say a build
//! was meant to be simulated, and either one demands the cfg:
//! - the build directory: the alias always builds into `target/sim`, and integration tests know
//!   their target directory at compile time (`CARGO_TARGET_TMPDIR` is `<target-dir>/tmp`);
//! - `APOGEE_EXPECT_SIM=1` in the test's environment, which CI's simulation step sets.
//!
//! A normal build (`target/`, no variable) passes without the cfg.

use std::path::Path;

/// True if this test binary was built into the simulation target directory.
fn built_for_simulation() -> bool {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().and_then(Path::file_name).is_some_and(|dir| dir == "sim")
}

fn simulation_expected() -> bool {
    built_for_simulation() || std::env::var_os("APOGEE_EXPECT_SIM").is_some_and(|v| v != "0")
}

#[test]
fn a_simulation_build_has_cfg_madsim() {
    // Through a variable: clippy rejects asserting a constant, and this one is constant per build.
    let has_cfg = cfg!(madsim);
    if simulation_expected() {
        assert!(
            has_cfg,
            "this is meant to be a simulation build (target/sim or APOGEE_EXPECT_SIM) but \
             --cfg madsim is missing: is RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS set in the \
             environment? cargo then ignores the `cargo sim` alias's rustflags"
        );
    }
}

/// Under the cfg, tokio's timers really are madsim's: an hour passes at once.
#[cfg(madsim)]
#[test]
fn simulated_time_is_virtual() {
    let wall = std::time::Instant::now();
    let elapsed = rt::sim::run_seed(1, || async {
        let start = rt::clock::now();
        tokio::time::sleep(std::time::Duration::from_secs(3_600)).await;
        rt::clock::now() - start
    });
    assert!(elapsed >= std::time::Duration::from_secs(3_600));
    // `wall` was read outside the runtime: real time.
    assert!(wall.elapsed() < std::time::Duration::from_secs(60));
}
