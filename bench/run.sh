#!/usr/bin/env bash
# Benchmarks e2b-gateway against the fake Fragments upstream, all on 127.0.0.1.
#
#   bench/run.sh [--quick] [--rebuild | --clean]
#
# Builds build-bench/ (Release, no tests) if its binary is missing; --rebuild runs the incremental
# build first (use it after pulling changes); --clean deletes build-bench/ and builds from scratch
# (when sources changed while a build was running, make can keep objects compiled from the old
# headers, e.g. a plugin that reports an old plugin ABI). Starts the fake upstream and the gateway
# (E2B_LOG_LEVEL=warn, a bench config equivalent to the shipped plugin chain), runs the bounded
# scenarios below with bench/loadgen.py, prints a Markdown report and writes it to
# bench/results/latest.md (raw JSON in bench/results/latest/). Everything it starts is stopped on
# exit. --quick divides the request counts by 10 (a smoke test, ~1 min).
# Environment: BENCH_KEEP=1 keeps the temporary work directory (logs, config);
# BENCH_IDLE_WAIT=N waits up to N s (default 60) for other processes to leave the CPU idle first;
# BENCH_THREADS=N sets listen.threads (default 2, as shipped).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/bench
build=$root/build-bench
# shellcheck source=bench/lib.sh
. "$bench/lib.sh"
rebuild=0
clean=0
div=1
for arg in "$@"; do
  case $arg in
    --rebuild) rebuild=1 ;;
    --clean) rebuild=1; clean=1 ;;
    --quick) div=10 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

say() { bench_say "$@"; }

# ---------------------------------------------------------------------------- build
mode=missing
if [ "$clean" = 1 ]; then mode=clean; elif [ "$rebuild" = 1 ]; then mode=rebuild; fi
bench_build run.sh "$mode"
bin=$build/e2b-gateway

# ---------------------------------------------------------------------------- processes
work=$(mktemp -d /tmp/e2b-bench.XXXXXX)
fake_pid=""
gw_pid=""
lg_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  bench_stop $lg_pid $gw_pid $fake_pid
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Many sockets: 200 client streams + as many upstream connections, on both ends.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

say "starting the fake upstream"
python3 "$root/tests/fake_fragments/fake_fragments.py" --host 127.0.0.1 --port 0 \
  --fixtures "$root/tests/fixtures/fragments-wire" --port-file "$work/fake.port" \
  >"$work/fake.log" 2>&1 &
fake_pid=$!
for _ in $(seq 100); do [ -s "$work/fake.port" ] && break; sleep 0.1; done
[ -s "$work/fake.port" ] || { echo "fake upstream did not start:" >&2; cat "$work/fake.log" >&2; exit 1; }
fake_port=$(tr -d '\n' <"$work/fake.port")

# A free high port for the gateway (it logs its port only at info level; we run it at warn).
gw_port=$(bench_free_port)
key="sk-bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
threads=${BENCH_THREADS:-2}
# The shipped config.yaml's listen/upstream values and plugin chain (cors -> auth -> constraints
# -> fragments), written here rather than copied so the bench does not break while config.yaml
# gains settings that an older build-bench binary does not know yet.
cat >"$work/config.yaml" <<EOF
listen:
  host: 127.0.0.1
  port: 8080
  threads: $threads
  max_request_bytes: 8388608
  header_timeout_ms: 30000
  keepalive_timeout_ms: 75000
  write_timeout_ms: 120000
upstream:
  base_url: http://127.0.0.1:1
  connect_timeout_ms: 10000
  first_byte_timeout_ms: 300000
  idle_timeout_ms: 120000
  max_connections: 1024
log:
  level: warn
plugins:
  - name: cors
    config:
      allow_origins: ["*"]
      allow_methods: [GET, POST, OPTIONS]
      allow_headers: ["*"]
      expose_headers: [X-Request-ID, Retry-After, X-Gateway-Adjusted]
      max_age_seconds: 86400
      allow_credentials: false
  - name: auth
    config:
      env_key: E2B_API_KEY
      keys: []
      protected_prefixes: [/v1/, /chat/, /models]
  - name: constraints
    config:
      max_messages: 200
      max_prompt_chars: 400000
      rules:
        - models: ["*"]
          params:
            temperature: {min: 0, max: 2, policy: clamp}
            top_p: {min: 0, max: 1, policy: clamp}
            presence_penalty: {min: -2, max: 2, policy: clamp}
            frequency_penalty: {min: -2, max: 2, policy: clamp}
        - {models: ["provider:openai"], params: {top_k: {max: 500}}}
        - {models: ["provider:anthropic"], params: {temperature: {max: 1}, top_p: {max: 0.999}}}
  - name: fragments
    config:
      path: /api/chat
      template_id: text
      template_file: pages/ChatWithUsers.txt
      commentary: fallback
      provider_api_keys: {}
providers:
  openai: {name: OpenAI}
  anthropic: {name: Anthropic}
models:
  - {id: gpt-4o, provider_id: openai, name: GPT-4o, multimodal: true}
  - {id: gpt-4o-mini, provider_id: openai, name: GPT-4o Mini, multimodal: true}
  - {id: claude-sonnet-4-5-20250929, provider_id: anthropic, name: Claude Sonnet 4.5, multimodal: true}
EOF

say "starting the gateway on 127.0.0.1:$gw_port (upstream 127.0.0.1:$fake_port)"
# Run from the work directory so no .env of the checkout is read.
(
  cd "$work"
  unset E2B_HOST E2B_PORT E2B_BASE_URL E2B_API_KEY E2B_CONFIG E2B_LOG_LEVEL
  export E2B_HOST=127.0.0.1 E2B_PORT="$gw_port" E2B_BASE_URL="http://127.0.0.1:$fake_port" \
         E2B_API_KEY="$key" E2B_CONFIG="$work/config.yaml" E2B_LOG_LEVEL=warn
  exec "$bin" serve --config "$work/config.yaml"
) >"$work/gateway.log" 2>&1 &
gw_pid=$!
up=0
for _ in $(seq 100); do
  if curl -fsS --max-time 1 "http://127.0.0.1:$gw_port/health" >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$gw_pid" 2>/dev/null || break
  sleep 0.1
done
[ "$up" = 1 ] || { echo "gateway did not start:" >&2; cat "$work/gateway.log" >&2;
                   echo "(an outdated build? try bench/run.sh --rebuild, or --clean)" >&2; exit 1; }
version=$(curl -fsS --max-time 2 "http://127.0.0.1:$gw_port/health" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("version","?"))')
idle_rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$gw_pid/status")
thread_names=$(for t in /proc/"$gw_pid"/task/*; do cat "$t/comm"; done | sort | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')

bench_wait_idle "${BENCH_IDLE_WAIT:-60}"
background=$bench_background

# ---------------------------------------------------------------------------- scenarios
out=$work/results
mkdir -p "$out"
failed=0
gw_url="http://127.0.0.1:$gw_port/v1/chat/completions"
fake_url="http://127.0.0.1:$fake_port/api/chat"

# load NAME MAX_SECONDS LOADGEN-ARGS...   (hard-bounded by timeout(1) as well)
# run_lg MAX_SECONDS LOADGEN-ARGS...: one bounded loadgen run, in the background so that an
# interrupt reaches the trap at once (and the trap stops it).
run_lg() {
  local max=$1 rc=0
  shift
  timeout -k 5 $((max + 30)) python3 "$bench/loadgen.py" --max-seconds "$max" --key "$key" "$@" &
  lg_pid=$!
  wait "$lg_pid" || rc=$?
  lg_pid=""
  return $rc
}
load() {
  local name=$1 max=$2
  shift 2
  if ! run_lg "$max" --name "$name" --monitor "gateway:$gw_pid" --monitor "fake:$fake_pid" \
       --json "$out/$name.json" "$@"; then
    failed=1
    echo "!! $name reported errors (or did not finish)" >&2
  fi
}
n() { echo $(( $1 / div > 0 ? $1 / div : 1 )); }

small='delay_ms=0'                 # "Echo: <unique text>", ~80 nasty 1-7 byte chunks, no delays
long='long=20000,tag=r{i}'         # 20,000-character reply, unique per request, 1-64 byte chunks

say "warm-up"
run_lg 30 --name warmup --url "$gw_url" -c 10 -n 50 --scenario "$small" \
  || { echo "warm-up failed; gateway log:" >&2; tail -20 "$work/gateway.log" >&2; exit 1; }
run_lg 30 --name warmup-stream --url "$gw_url" -c 10 -n 50 --stream --scenario "$long" \
  || { echo "warm-up failed; gateway log:" >&2; tail -20 "$work/gateway.log" >&2; exit 1; }

say "1. small non-stream answers: 50 connections, $(n 5000) requests"
load s1_small_gateway 90 --url "$gw_url" -c 50 -n "$(n 5000)" --scenario "$small"
load s1_small_direct 90 --url "$fake_url" --mode fragments -c 50 -n "$(n 5000)" --scenario "$small"

say "2. streaming long=20000: 200 concurrent streams, $(n 2000) requests"
load s2_stream_gateway 120 --url "$gw_url" --stream -c 200 -n "$(n 2000)" --scenario "$long" --timeout 90
load s2_stream_direct 120 --url "$fake_url" --mode fragments -c 200 -n "$(n 2000)" --scenario "$long" --timeout 90

say "3. time to first token, one connection, $(n 300) requests: gateway vs direct"
# --timeout 10: a request that hangs (see bench/README.md, "lost wake-up") costs 10 s, not the run.
load s3_ttft_gateway 60 --url "$gw_url" --stream -c 1 -n "$(n 300)" --scenario "$long" --timeout 10
load s3_ttft_direct 60 --url "$fake_url" --mode fragments -c 1 -n "$(n 300)" --scenario "$long" --timeout 10

# ---------------------------------------------------------------------------- totals
fake_stats=$(curl -fsS --max-time 5 "http://127.0.0.1:$fake_port/_stats" 2>/dev/null \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({k: d[k] for k in ("requests","completed","cancelled","aborted","active")}))' \
  2>/dev/null || echo '{}')
say "stopping the gateway"
totals=$(python3 - "$gw_pid" "$out" <<'EOF'
import glob, json, os, sys
pid = int(sys.argv[1])
st = open("/proc/%d/stat" % pid).read()
f = st[st.rindex(")") + 2:].split()
cpu = (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
status = dict(l.split(":", 1) for l in open("/proc/%d/status" % pid) if ":" in l)
kb = lambda k: int(status[k].split()[0])
lo, hi, fds = 1 << 30, 0, 0
for p in glob.glob(os.path.join(sys.argv[2], "*.json")):
    m = json.load(open(p)).get("monitors", {}).get("gateway", {})
    if "threads_min" in m:
        lo, hi, fds = min(lo, m["threads_min"]), max(hi, m["threads_max"]), max(fds, m["fds_max"])
print(json.dumps({"cpu_s": round(cpu, 2), "hwm_mb": round(kb("VmHWM") / 1024, 1),
                  "rss_mb": round(kb("VmRSS") / 1024, 1), "threads": "%d–%d" % (lo, hi),
                  "threads_now": int(status["Threads"]), "fds_max": fds}))
EOF
)
t0=$(date +%s%N)
kill -TERM "$gw_pid"
rc=0
for _ in $(seq 100); do kill -0 "$gw_pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$gw_pid" 2>/dev/null; then
  shutdown="still running after 5 s"
  failed=1
else
  wait "$gw_pid" || rc=$?
  shutdown="exit $rc after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  [ "$rc" = 0 ] || failed=1
fi
gw_pid_done=$gw_pid
gw_pid=""

python3 - "$out/meta.json" "$totals" "$shutdown" "$version" "$bin" "$threads" "$idle_rss_kb" "$thread_names" "$background" "$fake_stats" <<'EOF'
import datetime, json, os, platform, sys
path, totals, shutdown, version, binary, threads, idle_rss_kb, thread_names, background, fake_stats = sys.argv[1:]
t = json.loads(totals)
t["shutdown"] = shutdown
t["idle_rss_mb"] = round(int(idle_rss_kb) / 1024, 1)
t["thread_names"] = thread_names
model = "?"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
mem = "?"
try:
    mem = "%.0f GB" % (int(open("/proc/meminfo").readline().split()[1]) / 1024 / 1024)
except (OSError, ValueError):
    pass
json.dump({"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "machine": "%d cores, %s, %s, Linux %s, Python %s" % (
               os.cpu_count(), model, mem, platform.release(), platform.python_version()),
           "cores": os.cpu_count(), "gateway_version": version, "binary": os.path.relpath(binary),
           "threads": threads, "gateway_totals": t,
           "background_busy_pct_before": int(background),
           "fake_stats": json.loads(fake_stats)}, open(path, "w"))
EOF

# ---------------------------------------------------------------------------- report
mkdir -p "$bench/results/latest"
rm -f "$bench/results/latest/"*.json
cp "$out/"*.json "$bench/results/latest/"
python3 "$bench/report.py" "$out" >"$bench/results/latest.md"
if [ -s "$work/gateway.log" ]; then
  { echo; echo "## Gateway log (warn and above)"; echo; echo '```'; tail -n 40 "$work/gateway.log"; echo '```'; } \
    >>"$bench/results/latest.md"
fi
if [ -s "$work/fake.log" ]; then
  { echo; echo "## Fake upstream stderr"; echo; echo '```'; tail -n 20 "$work/fake.log"; echo '```'; } \
    >>"$bench/results/latest.md"
fi
echo
cat "$bench/results/latest.md"
echo
echo "written: bench/results/latest.md, bench/results/latest/*.json (gateway pid was $gw_pid_done)" >&2
exit $failed
