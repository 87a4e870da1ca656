#!/usr/bin/env bash
# The whole check, in the order a failure is cheapest to find: formatting, lints (normal and
# simulated builds), the test suite (tidy included), every simulation test at its default seed,
# then a short seed sweep. Runs from any folder; exits non-zero at the first failing step.
#
#   SIM_SEEDS   seed range of the sweep (default 1..10; wider ranges: cargo xtask sim)
#   SIM_JOBS    processes the sweep runs at once (default 2)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SIM_SEEDS="${SIM_SEEDS:-1..10}"
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
total=7
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
# The sweep covers the packages whose simulations pass across seeds. The cluster scenarios of
# apogee-sim run above at their default seed. Their own sweep (the four scenarios take about
# 3.5 s of both cores per seed, so seeds 1..101 run in under 6 minutes) still fails on seeds
# whose nemesis makes an fsync fail while a CommitLog segment is being created (48 and 55 in
# 1..101): the store then refuses every put with SYSTEM_ERROR without poisoning itself, so
# healing never restarts it. The scenarios join as their own step once that store bug is fixed:
#   cargo xtask sim --seeds 1..101 --jobs 2 --check-determinism 0 -p apogee-sim \
#       --test ordered --test ordered_async --test queue --test batch
# (trace_hash stays out of that sweep: a run that restarts a broker does not yet give the same
# trace in two fresh processes.)
step "simulation sweep, seeds $SIM_SEEDS" cargo xtask sim --seeds "$SIM_SEEDS" --jobs "$SIM_JOBS" \
    --check-determinism 0 -p apogee-rt -p apogee-store -p apogee-remoting -p apogee-namesrv \
    -p apogee-broker -p apogee-client
# Same seed, same run: madsim replays each sampled seed and fails at the first divergent random
# draw. Listed packages are the ones whose simulations are known to replay exactly; the broker's
# smoke test does not yet (a wake-up order that differs between two runs in one process) and
# joins this list once that is found and fixed.
step "determinism check" cargo xtask sim --seeds 1..4 --jobs "$SIM_JOBS" --check-determinism 6 \
    -p apogee-rt -p apogee-remoting -p apogee-namesrv

echo
echo "ci: all steps passed in $((SECONDS - ci_start))s"
echo "ci: $passed passed, 0 failed"
