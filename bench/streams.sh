#!/usr/bin/env bash
# Concurrent streams: peak RSS of the gateway while it holds N slow SSE streams at once.
#
#   bench/streams.sh [--rebuild] [--streams N] [other bench/streams.py options]
#
# Builds build-bench/ (Release, no tests) if its binary is missing (--rebuild: the incremental
# build first), raises the open-file limit (N client + N upstream sockets in the gateway), then
# runs bench/streams.py: the fake upstream and the gateway on 127.0.0.1 with the shipped
# config.yaml, N streams (default 9000) ramped up in batches and held open together, RSS/threads/
# fds sampled. Writes bench/results/streams-<UTC>.md and bench/results/streams-latest.md.
# Bounded: streams.py stops after --max-seconds (default 600) and stops everything it started.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-bench
rebuild=0
args=()
for arg in "$@"; do
  case $arg in
    --rebuild) rebuild=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
               python3 "$root/bench/streams.py" --help; exit 0 ;;
    *) args+=("$arg") ;;
  esac
done

# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
bench_build streams.sh "$([ "$rebuild" = 1 ] && echo rebuild || echo missing)" "${BENCH_GATEWAY_TARGETS[@]}"

# 9,000 streams: as many client and upstream sockets in the gateway, plus the client's own.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 20000 ] || echo "WARNING: ulimit -n is $(ulimit -n); 9,000 streams need ~18,100 fds" >&2

mkdir -p "$root/bench/results"
report=$root/bench/results/streams-$(date -u +%Y%m%dT%H%MZ).md
rc=0
timeout -k 10 900 python3 "$root/bench/streams.py" --gateway "$build/e2b-gateway" --report "$report" \
  ${args[@]+"${args[@]}"} || rc=$?
if [ -f "$report" ]; then
  cp "$report" "$root/bench/results/streams-latest.md"
  echo "written: ${report#$root/}, bench/results/streams-latest.md" >&2
fi
exit $rc
