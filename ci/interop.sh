#!/usr/bin/env bash
# Interoperability with a stock RocketMQ client: builds mqnamesrv and mqbroker, then runs the
# apogee-interop tests, which start both as real processes on free loopback ports and drive them
# with rocketmq-client-rust (from crates.io). Runs from any folder on a fresh clone; the only
# network it needs is the crate registry, for the first build.
#
#   APOGEE_INTEROP_LOG   RUST_LOG of the daemons (default info; their logs are printed on failure)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -n "${RUSTFLAGS:-}" || -n "${CARGO_ENCODED_RUSTFLAGS:-}" ]]; then
    # Not fatal here (no simulation build), but it would rebuild everything the other steps built.
    echo "interop: note: RUSTFLAGS is set; the build will not share artifacts with ci/test.sh" >&2
fi
if [[ -n "${CI:-}" ]]; then
    export CARGO_INCREMENTAL=0
    export CARGO_TERM_COLOR=never
fi
command -v cargo >/dev/null || { echo "interop: cargo not found on PATH" >&2; exit 2; }

start=$SECONDS
echo "==> building mqnamesrv and mqbroker"
cargo build -p apogee-namesrv -p apogee-broker --bins

# The test takes the daemons from here instead of building them itself.
target_dir="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
export APOGEE_BIN_DIR="$target_dir/debug"

echo "==> stock client against the real daemons (bins from $APOGEE_BIN_DIR)"
cargo test -p apogee-interop -- --nocapture

echo "interop: passed in $((SECONDS - start))s"
