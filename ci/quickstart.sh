#!/usr/bin/env bash
# Builds and starts a single-node Apogee: one name server and one broker with the shipped
# conf/namesrv.conf and conf/broker.conf, data under ./data/store. The name server runs in the
# background, the broker in the foreground; Ctrl-C stops both.
#
#   ci/quickstart.sh             build (release) and start
#   QUICKSTART_BUILD=0 ci/...    start what was built last time
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"

command -v cargo >/dev/null || { echo "quickstart: cargo not found on PATH (install Rust first)" >&2; exit 2; }

# Whatever ships mqadmin is built too, once it exists.
packages=(-p apogee-namesrv -p apogee-broker)
if [[ -f crates/cli/Cargo.toml ]]; then
    cli_package="$(sed -n 's/^name *= *"\(.*\)"/\1/p' crates/cli/Cargo.toml | head -n1)"
    [[ -n "$cli_package" ]] && packages+=(-p "$cli_package")
fi
if [[ "${QUICKSTART_BUILD:-1}" != 0 ]]; then
    echo "==> cargo build --release ${packages[*]}"
    cargo build --release "${packages[@]}"
fi
target_dir="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
bin="$target_dir/release"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in 9876 10911 10909; do
    if listening "$port"; then
        echo "quickstart: something already listens on 127.0.0.1:$port (another Apogee or RocketMQ?); stop it first" >&2
        exit 1
    fi
done

mkdir -p data/store data/logs
namesrv_pid=""
cleanup() {
    trap - EXIT INT TERM
    if [[ -n "$namesrv_pid" ]] && kill -0 "$namesrv_pid" 2>/dev/null; then
        kill -TERM "$namesrv_pid" 2>/dev/null || true
        wait "$namesrv_pid" 2>/dev/null || true
    fi
    echo "quickstart: stopped (data kept in $root/data/store)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# In its own session, so Ctrl-C reaches only the broker: the broker unregisters from a name server
# that is still up, then the exit trap stops the name server.
setsid "$bin/mqnamesrv" -c conf/namesrv.conf >data/logs/namesrv.log 2>&1 &
namesrv_pid=$!
for _ in $(seq 1 100); do
    listening 9876 && break
    kill -0 "$namesrv_pid" 2>/dev/null || { cat data/logs/namesrv.log >&2; echo "quickstart: mqnamesrv exited" >&2; exit 1; }
    sleep 0.1
done
listening 9876 || { echo "quickstart: mqnamesrv is not listening on 9876 after 10 s" >&2; exit 1; }

echo "name server  127.0.0.1:9876   (log: data/logs/namesrv.log)"
echo "broker       127.0.0.1:10911  (VIP channel 10909), data in data/store"
echo "Ctrl-C stops both. In another terminal: export NAMESRV_ADDR=127.0.0.1:9876"
echo

# In the foreground, so its log is on the terminal; it exits cleanly on Ctrl-C (SIGINT).
"$bin/mqbroker" -n 127.0.0.1:9876 -c conf/broker.conf
