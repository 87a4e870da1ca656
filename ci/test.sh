#!/usr/bin/env bash
# The whole check, in the order a failure is cheapest to find: formatting, clippy, the test
# suite (tidy included), the simulation build without warnings, every simulation test at its
# default seed, seed sweeps of the packages and of the cluster scenarios, and a same-process
# determinism check. Runs from any folder; exits non-zero at the first failing step.
#
#   SIM_SEEDS      seed range of the package sweep (default 1..10; wider: cargo xtask sim)
#   CLUSTER_SEEDS  seed range of the cluster-scenario sweep (default 1..101)
#   SIM_JOBS       processes a sweep runs at once (default 2)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SIM_SEEDS="${SIM_SEEDS:-1..10}"
CLUSTER_SEEDS="${CLUSTER_SEEDS:-1..101}"
SIM_JOBS="${SIM_JOBS:-2}"

# Config-file rustflags (how `cargo sim` adds --cfg madsim) are ignored when RUSTFLAGS is set,
# so an inherited value would silently turn the simulation steps into plain tokio runs.
if [[ -n "${RUSTFLAGS:-}" || -n "${CARGO_ENCODED_RUSTFLAGS:-}" ]]; then
    echo "ci: RUSTFLAGS/CARGO_ENCODED_RUSTFLAGS is set; unset it (it overrides --cfg madsim)" >&2
    exit 2
fi

if [[ -n "${CI:-}" ]]; then
    # A fresh machine builds everything once: incremental caches only cost time and disk.
    export CARGO_INCREMENTAL=0
    export CARGO_TERM_COLOR=never
fi

command -v cargo >/dev/null || { echo "ci: cargo not found on PATH" >&2; exit 2; }
for component in rustfmt clippy; do
    sub="${component/rustfmt/fmt}"
    if ! cargo "$sub" --version >/dev/null 2>&1; then
        echo "ci: installing missing component $component"
        rustup component add "$component"
    fi
done
cargo --version
rustc --version

passed=0
total=8
ci_start=$SECONDS

step() {
    local name="$1"
    shift
    local n=$((passed + 1))
    echo
    echo "==> [$n/$total] $name"
    echo "    \$ $*"
    local start=$SECONDS
    if "$@"; then
        passed=$n
        echo "==> [$n/$total] $name: ok ($((SECONDS - start))s)"
    else
        local rc=$?
        echo "==> [$n/$total] $name: FAILED with exit code $rc ($((SECONDS - start))s)"
        echo "ci: $passed passed, 1 failed"
        exit 1
    fi
}

# The simulation build with rustc's warnings denied. Clippy runs on the normal build only: a
# second clippy pass over the madsim build checked every dependency again and cost as much as
# the build itself. Warnings in simulation-only code still fail here (cargo prints a
# "generated N warnings" line per workspace crate that has any, also when replaying a cached
# build); `cargo sim-clippy` runs the simulation lints by hand.
sim_build_without_warnings() {
    local log
    log="$(mktemp)"
    if ! cargo sim --workspace --no-run 2>&1 | tee "$log"; then
        rm -f "$log"
        return 1
    fi
    if grep -E 'generated [0-9]+ warnings?' "$log"; then
        echo "ci: the simulation build has warnings (listed above)" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

step "format" cargo fmt --all --check
step "clippy" cargo clippy --workspace --all-targets -- -D warnings
step "tests (tidy included)" cargo test --workspace
step "simulation build, warnings denied" sim_build_without_warnings
# A fixed seed: `#[madsim::test]` would otherwise draw one from the wall clock, and a CI run must
# be replayable. APOGEE_EXPECT_SIM makes the sim_guard test fail if the cfg was lost.
step "simulation tests, default seeds" env MADSIM_TEST_SEED="${MADSIM_TEST_SEED:-1}" \
    APOGEE_EXPECT_SIM=1 cargo sim --workspace
# The sweep: every seed of the range through each package's simulations, one process per seed.
step "simulation sweep, seeds $SIM_SEEDS" cargo xtask sim --seeds "$SIM_SEEDS" --jobs "$SIM_JOBS" \
    --check-determinism 0 -p apogee-rt -p apogee-store -p apogee-remoting -p apogee-namesrv \
    -p apogee-broker -p apogee-client
# The cluster scenarios (name server, brokers, producers and consumers under the swarm
# nemesis, checked by crates/checker) over a wider range: the four of them take about 1.5 s of
# both cores per seed at opt-level 1. trace_hash ran above; it checks replay itself.
step "cluster simulation sweep, seeds $CLUSTER_SEEDS" cargo xtask sim --seeds "$CLUSTER_SEEDS" \
    --jobs "$SIM_JOBS" --check-determinism 0 -p apogee-sim \
    --test ordered --test ordered_async --test queue --test batch
# Same seed, same run: each sampled seed runs twice in one process and must make the same
# random draws at the same simulated times (madsim's check), so a failure replays exactly.
step "determinism check" cargo xtask sim --seeds 1..4 --jobs "$SIM_JOBS" --check-determinism 6 \
    -p apogee-rt -p apogee-remoting -p apogee-namesrv -p apogee-store -p apogee-broker \
    -p apogee-client

echo
echo "ci: all steps passed in $((SECONDS - ci_start))s"
echo "ci: $passed passed, 0 failed"
