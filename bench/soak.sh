#!/usr/bin/env bash
# Soak: a bounded mixed load on the Release gateway for a fixed time, watching RSS, fds and threads.
#
#   bench/soak.sh [seconds] [soak.py options...]     # default 600 s of timed load, plus ~40 s
#
# Brings build-bench/ (Release, no tests; shared with bench/run.sh) up to date for the gateway and
# the shipped plugins, then runs bench/soak.py at nice 10 (the machine is shared): the fake
# upstream and the gateway on 127.0.0.1 with the shipped config.yaml and a fresh SQLite file.
# Writes bench/results/soak-<UTC date-time>.{md,csv,png}. Exits non-zero when an answer was wrong
# or hung, RSS grew more than 10 % from the middle to the end, open fds did not return to the
# baseline, the thread count changed, or the gateway did not exit 0 on SIGTERM.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-bench
seconds=${1:-600}
shift || true

# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
bench_build soak.sh rebuild "${BENCH_GATEWAY_TARGETS[@]}"

# Client streams plus as many upstream connections.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec nice -n 10 python3 "$root/bench/soak.py" --gateway "$build/e2b-gateway" --duration "$seconds" "$@"
