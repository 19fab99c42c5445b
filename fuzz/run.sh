#!/usr/bin/env bash
# Builds the libFuzzer targets (in build-fuzz/, with clang) if needed and runs each for the given
# seconds (default 30) on a scratch copy of its seed corpus, so fuzz/corpus is never written.
# Prints executions, executions per second, coverage and corpus (inputs/bytes) per target. Exits
# non-zero when any target found a crash, a leak, a timeout or an out-of-memory; the reproducer's
# path is printed.
# Targets named after the seconds run alone, in that order (a long run gives each its own time).
#   fuzz/run.sh [seconds-per-target] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
tree="${GATEWAY_FUZZ_TREE:-build-fuzz}"
targets=(fragments_stream chat_request admin_input config http_request)
if [ "$#" -gt 1 ]; then
  shift
  for target in "$@"; do
    [[ " ${targets[*]} " == *" $target "* ]] || { echo "fuzz/run.sh: no target $target (${targets[*]})" >&2; exit 2; }
  done
  targets=("$@")
fi

if [ ! -f "$tree/CMakeCache.txt" ]; then
  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  CC=clang CXX=clang++ cmake -S . -B "$tree" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGATEWAY_FUZZ=ON \
    -DGATEWAY_BUILD_TESTS=OFF "${launcher[@]}" >/dev/null
fi
cmake --build "$tree" -j"${FUZZ_JOBS:-2}" --target fuzzers
bin="$(cd "$tree/fuzz" && pwd)"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# Seeds beyond fuzz/corpus, copied at run time rather than committed twice: the recorded
# Fragments exchanges and the shipped config.yaml.
seed() {
  local target="$1" dir="$scratch/$1/corpus"
  mkdir -p "$dir"
  cp fuzz/corpus/"$target"/* "$dir"/
  case "$target" in
    fragments_stream | http_request) cp tests/fixtures/fragments-wire/*.raw "$dir"/ ;;
    config) cp config.yaml "$dir"/config.yaml ;;
  esac
}

failed=0
printf '%-18s %12s %10s %8s %8s %12s  %s\n' target executions exec/s cov ft corpus result
for target in "${targets[@]}"; do
  seed "$target"
  log="$scratch/$target/log"
  status=0
  (cd "$scratch/$target" && "$bin/fuzz_$target" corpus -max_total_time="$seconds" \
    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$scratch/$target/") \
    >"$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
  ft="$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
  corpus="$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -n 1 | cut -d' ' -f2)"
  result=ok
  if [ "$status" -ne 0 ]; then
    result="FAILED (exit $status)"
    failed=1
    # Keep the reproducer where it survives this script's clean-up, and show why it failed.
    mkdir -p "$tree/fuzz/artifacts"
    for artifact in "$scratch/$target"/{crash,leak,timeout,oom,slow-unit}-*; do
      [ -e "$artifact" ] || continue
      cp "$artifact" "$tree/fuzz/artifacts/"
      result+=" reproducer: $tree/fuzz/artifacts/$(basename "$artifact")"
    done
    grep -E -A30 '^==[0-9]+==|FUZZ_CHECK failed|runtime error|deadly signal' "$log" | head -n 60 >&2 || true
  fi
  printf '%-18s %12s %10s %8s %8s %12s  %s\n' "$target" "${runs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" \
    "${corpus:-?}" "$result"
done
exit "$failed"
