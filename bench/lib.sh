# Shared pieces of the bench scripts (sourced, not run): the build of build-bench/, stopping the
# processes a script started, and waiting for the machine to be quiet before measuring.
#
# Callers set `root` (the checkout) and `build` (usually $root/build-bench) before sourcing.

# The gateway and every plugin the shipped config.yaml loads.
BENCH_GATEWAY_TARGETS=(e2b-gateway plugin_metrics plugin_cors plugin_auth plugin_constraints
  plugin_rate_limit plugin_fragments)

bench_say() { printf '\n== %s\n' "$*" >&2; }

# bench_build NAME MODE [TARGETS...]
#   MODE: missing  build only when the gateway or a shipped plugin is missing from $build;
#         rebuild  always run the (incremental) build;
#         clean    delete $build and build from scratch (when sources changed while a build was
#                  running, make can keep objects compiled from the old headers).
#   TARGETS: cmake targets to build (default: all). NAME names the caller in messages and the log
#   file ($build/NAME-build.log). Configures $build (Release, no tests, ccache when installed) when
#   it has no CMakeCache.txt. Exits the script when the build fails.
bench_build() {
  local name=$1 mode=$2
  shift 2
  local targets=() plugin missing=0
  if [ $# -gt 0 ]; then targets=(--target "$@"); fi
  [ "$mode" = clean ] && rm -rf "$build"
  [ -x "$build/e2b-gateway" ] || missing=1
  for plugin in metrics cors auth constraints rate_limit fragments; do
    [ -f "$build/plugins/$plugin.so" ] || missing=1
  done
  if [ "$missing" = 1 ] || [ "$mode" != missing ]; then
    if [ ! -f "$build/CMakeCache.txt" ]; then
      local launcher=()
      if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
      bench_say "configuring $build (Release, no tests)"
      cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGATEWAY_BUILD_TESTS=OFF "${launcher[@]}" >/dev/null
    fi
    bench_say "building $build"
    cmake --build "$build" -j"$(nproc)" "${targets[@]}" >"$build/$name-build.log" 2>&1 \
      || { tail -20 "$build/$name-build.log" >&2
           echo "$name: build failed (log: $build/$name-build.log)" >&2; exit 1; }
  fi
  [ -x "$build/e2b-gateway" ] && [ -f "$build/plugins/fragments.so" ] \
    || { echo "$name: no gateway build in $build" >&2; exit 1; }
}

# bench_stop PID...: SIGTERM each process still running, SIGKILL after 5 s, and reap it.
bench_stop() {
  local pid
  for pid in "$@"; do
    [ -n "$pid" ] || continue
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}

# bench_busy_pct: % of the whole machine busy (not idle, not iowait) over 2 s.
bench_busy_pct() {
  python3 - <<'PY'
import time
def r():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4], sum(v[:8])
a = r(); time.sleep(2); b = r()
print(int(100 * (b[0] - a[0]) / max(1, b[1] - a[1])))
PY
}

# bench_wait_idle MAX_SECONDS: other processes (builds, tests) distort every number on a 2-core
# machine, so wait up to MAX_SECONDS for the machine to be at most 25 % busy. Sets
# `bench_background` to the last busy % measured, and warns when it stayed above.
bench_wait_idle() {
  local max=$1 waited=0
  bench_background=$(bench_busy_pct)
  while [ "$bench_background" -gt 25 ] && [ "$waited" -lt "$max" ]; do
    [ "$waited" = 0 ] && echo "machine is ${bench_background}% busy with other work; waiting up to $max s for quiet" >&2
    sleep 3; waited=$((waited + 5))
    bench_background=$(bench_busy_pct)
  done
  [ "$bench_background" -le 25 ] \
    || echo "WARNING: the machine is ${bench_background}% busy with other processes; results will be low and noisy" >&2
}

# bench_free_port: a free TCP port on 127.0.0.1 (bound to port 0, then released).
bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
