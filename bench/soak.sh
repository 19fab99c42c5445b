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

if [ ! -f "$build/CMakeCache.txt" ]; then
  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGATEWAY_BUILD_TESTS=OFF "${launcher[@]}" >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target e2b-gateway plugin_metrics plugin_cors plugin_auth \
  plugin_constraints plugin_rate_limit plugin_fragments >"$build/soak-build.log" 2>&1 \
  || { tail -20 "$build/soak-build.log" >&2; echo "soak.sh: build failed (log: $build/soak-build.log)" >&2; exit 1; }

# Client streams plus as many upstream connections.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec nice -n 10 python3 "$root/bench/soak.py" --gateway "$build/e2b-gateway" --duration "$seconds" "$@"
