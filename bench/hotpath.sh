#!/usr/bin/env bash
# Hot path: the gateway against nginx proxy_pass for plain (non-stream) chat requests, on 127.0.0.1.
#
#   bench/hotpath.sh [--rounds N] [--duration S] [--quick] [--rebuild | --clean]
#
# Starts a static upstream (nginx, 1 worker, `return 200` of a fixed Fragments answer), a baseline
# proxy (nginx, 2 workers, access log, proxy_pass with upstream keepalive) and the gateway (the
# shipped config.yaml, only addresses and the SQLite path changed, log level info), then runs wrk
# (bench/hotpath.lua) in alternating paired rounds at 32 connections: nginx, gateway, nginx, …
# (--rounds pairs, default 3, of --duration seconds, default 10). Per round: req/s, p50/p99 and
# CPU per request (utime+stime from /proc/PID/stat of nginx's master and workers, or of the
# gateway process with all its threads, before and after the round, over the completed requests).
# Then the added latency at 4 connections (static upstream direct, via nginx, via the gateway),
# refused requests (no key: 401 from auth) and the check that the gateway wrote one usage row
# per completed chat request (exit 1 if any is missing). Between them, libcurl alone
# (bench/upstream_client_cost: a bare curl multi loop with the gateway's transfer options against
# the static upstream), the part of the gateway's CPU per request that comes with its upstream
# client. --quick: 2 s rounds, 1 pair.
# Writes bench/results/hotpath-<UTC date-time>.{md,csv} and -rps.png, -cpu.png; copies the md to
# bench/results/hotpath-latest.md. Builds build-bench/ like bench/run.sh (see bench/lib.sh).
# Needs wrk, nginx and gnuplot: apt-get install -y wrk nginx-light gnuplot-nox
# Environment: BENCH_KEEP=1 keeps the work directory (configs, logs, database);
# BENCH_IDLE_WAIT=N waits up to N s (default 30) for other processes to leave the CPU idle first.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/bench
build=$root/build-bench
# shellcheck source=bench/lib.sh
. "$bench/lib.sh"

rounds=3
duration=10
mode=missing
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=${2:?--rounds needs a number}; shift ;;
    --duration) duration=${2:?--duration needs seconds}; shift ;;
    --quick) rounds=1; duration=2 ;;
    --rebuild) mode=rebuild ;;
    --clean) mode=clean ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "hotpath.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $rounds =~ ^[1-9][0-9]?$ ]] || { echo "hotpath.sh: --rounds must be 1..99" >&2; exit 2; }
[[ $duration =~ ^[1-9][0-9]{0,2}$ ]] || { echo "hotpath.sh: --duration must be 1..999 seconds" >&2; exit 2; }

missing=()
for tool in wrk nginx gnuplot python3 curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "hotpath.sh: missing ${missing[*]}; install with: apt-get install -y wrk nginx-light gnuplot-nox curl python3" >&2
  exit 2
fi

bench_build hotpath.sh "$mode" "${BENCH_GATEWAY_TARGETS[@]}" upstream_client_cost
bin=$build/e2b-gateway
client_bin=$build/bench/upstream_client_cost
[ -x "$client_bin" ] || bench_build hotpath.sh rebuild upstream_client_cost
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%s)

# ---------------------------------------------------------------------------- processes
work=$(mktemp -d /tmp/e2b-hotpath.XXXXXX)
static_pid=""
proxy_pid=""
gw_pid=""
wrk_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  bench_stop $wrk_pid $gw_pid $proxy_pid $static_pid
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

static_port=$(bench_free_port)
proxy_port=$(bench_free_port)
gw_port=$(bench_free_port)
admin_port=$(bench_free_port)
key="sk-hotpath-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
model=gpt-4o-mini
body="{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hi\"}]}"
# The Fragments answer: one complete JSON object (no single quote or $: nginx would read them).
answer='{"commentary":"The user greets me, so I answer with a short friendly greeting and offer help with their next question.","template":"text","title":"Greeting","description":"A short friendly greeting in reply to the user saying hi.","additional_dependencies":[],"has_additional_dependencies":false,"install_dependencies_command":"","port":null,"file_path":"pages/ChatWithUsers.txt","code":"Hi! Nice to meet you. How can I help you today? Ask me anything about code or writing."}'

# nginx_conf DIR WORKERS HTTP-BLOCK: an nginx.conf of its own under DIR (the prefix), in the
# foreground, its temp paths and error log inside DIR.
nginx_conf() {
  local dir=$1 workers=$2 http=$3
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
worker_processes $workers;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
$http
}
EOF
}
# start_nginx DIR: starts it in the background; sets `started_pid`.
start_nginx() {
  nginx -p "$1/" -c "$1/nginx.conf" -e "$1/error.log" >"$1/stdout.log" 2>&1 &
  started_pid=$!
}
# wait_http URL PID [CURL-ARGS...]: until URL answers 2xx, or exit when PID died or 10 s passed.
wait_http() {
  local url=$1 pid=$2
  shift 2
  for _ in $(seq 100); do
    if curl -fsS --max-time 1 "$@" "$url" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "hotpath.sh: $url did not answer" >&2
  return 1
}

bench_say "starting the static upstream (nginx, 127.0.0.1:$static_port)"
nginx_conf "$work/static" 1 "  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$static_port;
    location = /api/chat {
      default_type 'text/plain; charset=utf-8';
      return 200 '$answer';
    }
  }"
start_nginx "$work/static"
static_pid=$started_pid
wait_http "http://127.0.0.1:$static_port/api/chat" "$static_pid" -d "$body" \
  || { cat "$work/static/error.log" "$work/static/stdout.log" >&2; exit 1; }

bench_say "starting the baseline proxy (nginx proxy_pass, 127.0.0.1:$proxy_port)"
nginx_conf "$work/proxy" 2 "  access_log $work/proxy/access.log;
  upstream fragments {
    server 127.0.0.1:$static_port;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$proxy_port;
    location / {
      proxy_pass http://fragments;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
    }
  }"
start_nginx "$work/proxy"
proxy_pid=$started_pid
wait_http "http://127.0.0.1:$proxy_port/api/chat" "$proxy_pid" -d "$body" \
  || { cat "$work/proxy/error.log" "$work/proxy/stdout.log" >&2; exit 1; }

bench_say "starting the gateway on 127.0.0.1:$gw_port (shipped config.yaml, log level info)"
python3 "$bench/hotpath.py" config "$root/config.yaml" "$work/config.yaml" --port "$gw_port" \
  --admin-port "$admin_port" --db "$work/gateway.db" --upstream "http://127.0.0.1:$static_port"
diff -u "$root/config.yaml" "$work/config.yaml" | sed -e '1,2d' -e '/^@@/d' -e '/^ /d' >"$work/config.diff" || true
# From the work directory with no other E2B_* variable, so neither a .env nor the caller's
# environment changes the shipped configuration.
(
  cd "$work"
  for name in $(env | awk -F= '/^E2B_/ {print $1}'); do unset "$name"; done
  export E2B_API_KEY="$key"
  exec "$bin" serve --config "$work/config.yaml"
) >"$work/gateway.stdout" 2>"$work/gateway.log" &
gw_pid=$!
wait_http "http://127.0.0.1:$gw_port/health" "$gw_pid" \
  || { tail -20 "$work/gateway.log" >&2; echo "(an outdated build? try --rebuild, or --clean)" >&2; exit 1; }

# The three answer what they should before anything is measured.
check_answer() {  # URL KEY EXPECTED-TEXT
  local got
  got=$(curl -sS --max-time 5 -H "Content-Type: application/json" ${2:+-H "Authorization: Bearer $2"} -d "$body" "$1")
  grep -qF "$3" <<<"$got" || { echo "hotpath.sh: unexpected answer from $1: $got" >&2; exit 1; }
}
check_answer "http://127.0.0.1:$proxy_port/api/chat" "" '"code":"Hi! Nice to meet you.'
check_answer "http://127.0.0.1:$gw_port/v1/chat/completions" "$key" '"content":"Hi! Nice to meet you.'
check_answer "http://127.0.0.1:$gw_port/v1/chat/completions" "" '"code":"missing_api_key"'

gw_version=$(curl -fsS --max-time 2 "http://127.0.0.1:$gw_port/health" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin).get("version","?"))')
nginx_version=$(nginx -v 2>&1 | sed 's/^nginx version: //')
wrk_version=$(wrk --version 2>&1 | head -1 | awk '{print $2}' || true)

bench_wait_idle "${BENCH_IDLE_WAIT:-30}"

# ---------------------------------------------------------------------------- measuring
runs=$work/runs.txt
: >"$runs"
clk_tck=$(getconf CLK_TCK)
static_url="http://127.0.0.1:$static_port/api/chat"
proxy_url="http://127.0.0.1:$proxy_port/api/chat"
gw_url="http://127.0.0.1:$gw_port/v1/chat/completions"

# cpu_ticks PID...: utime+stime of these processes and their children (nginx's workers), in clock
# ticks; a process's /proc/PID/stat counts all its threads.
cpu_ticks() {
  local total=0 pid f
  for pid in "$@" $(for p in "$@"; do pgrep -P "$p" || true; done); do
    [ -r "/proc/$pid/stat" ] || continue
    read -r -a f < <(sed 's/^.*) //' "/proc/$pid/stat")
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}

# measure PHASE SIDE ROUND THREADS CONNECTIONS SECONDS URL KEY PID: one bounded wrk run against URL
# (KEY empty: no Authorization header), the CPU ticks of PID and its children around it; appends
# one line of key=value pairs to $runs.
measure() {
  local phase=$1 side=$2 round=$3 threads=$4 connections=$5 seconds=$6 url=$7 key=$8 pid=$9
  local out=$work/wrk-$phase-$side-$round.txt before after rc=0
  before=$(cpu_ticks "$pid")
  HOTPATH_BODY=$body HOTPATH_KEY=$key timeout -k 5 $((seconds + 30)) \
    wrk -t"$threads" -c"$connections" -d"${seconds}s" --timeout 10s -s "$bench/hotpath.lua" "$url" >"$out" 2>&1 &
  wrk_pid=$!
  wait "$wrk_pid" || rc=$?
  wrk_pid=""
  after=$(cpu_ticks "$pid")
  local totals
  totals=$(sed -n 's/^HOTPATH //p' "$out")
  [ "$rc" = 0 ] && [ -n "$totals" ] || { cat "$out" >&2; echo "hotpath.sh: wrk failed ($phase $side $round)" >&2; exit 1; }
  echo "phase=$phase side=$side round=$round threads=$threads connections=$connections cpu_ticks=$((after - before)) clk_tck=$clk_tck $totals" >>"$runs"
  printf '   %-8s %-8s %-3s %s\n' "$phase" "$side" "$round" "$totals" >&2
}
# rows_now [AT-LEAST]: usage rows in the gateway's database once stable (at least AT-LEAST, waiting
# up to 5 s for the storage thread to commit).
rows_now() { python3 "$bench/hotpath.py" rows "$work/gateway.db" --at-least "${1:-0}" --wait 5; }
# completed PHASE SIDE: the requests wrk completed with a 2xx in the runs so far of that phase and side.
completed() {
  awk -v phase="$1" -v side="$2" '{ delete kv; for (i = 1; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
    if (kv["phase"] == phase && kv["side"] == side) n += kv["requests"] - kv["non2xx"] } END { print n + 0 }' "$runs"
}

bench_say "warm-up: 2 s each"
measure warmup static 1 2 32 2 "$static_url" "" "$static_pid"
measure warmup nginx 1 2 32 2 "$proxy_url" "" "$proxy_pid"
measure warmup gateway 1 2 32 2 "$gw_url" "$key" "$gw_pid"
rows_before=$(rows_now)

bench_say "rounds: $rounds pairs of $duration s at 32 connections (-t2 -c32)"
for round in $(seq "$rounds"); do
  measure round nginx "$round" 2 32 "$duration" "$proxy_url" "" "$proxy_pid"
  measure round gateway "$round" 2 32 "$duration" "$gw_url" "$key" "$gw_pid"
done
chats=$(completed round gateway)
rows_after=$(rows_now $((rows_before + chats)))
rows=$((rows_after - rows_before))
echo "   usage rows written during the rounds: $rows for $chats completed chat requests" >&2

bench_say "the upstream client alone: libcurl multi, 32 transfers in flight, $duration s (bench/upstream_client_cost)"
timeout -k 5 $((duration + 30)) "$client_bin" --url "$static_url" --concurrency 32 --seconds "$duration" \
  >"$work/client.txt" 2>&1 || true
sed 's/^/   /' "$work/client.txt" >&2

bench_say "added latency: $duration s each at 4 connections (-t1 -c4)"
measure latency static 1 1 4 "$duration" "$static_url" "" "$static_pid"
measure latency nginx 1 1 4 "$duration" "$proxy_url" "" "$proxy_pid"
measure latency gateway 1 1 4 "$duration" "$gw_url" "$key" "$gw_pid"

bench_say "refused requests: $duration s at 32 connections without a key"
measure refused gateway 1 2 32 "$duration" "$gw_url" "" "$gw_pid"

gw_rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$gw_pid/status")
gw_threads=$(awk '/^Threads/ {print $2}' "/proc/$gw_pid/status")
# Log lines are "<time> <level> <text>"; access lines name method and path.
awk '$2 != "info" && $2 != "debug"' "$work/gateway.log" >"$work/gateway-warnings.txt"
access_lines=$(grep -c ' method=POST path=/v1/chat/completions ' "$work/gateway.log" || true)

# ---------------------------------------------------------------------------- report
cat >"$work/meta.txt" <<EOF
started=$started
load_before=$load_before
busy_before=$bench_background
nginx_version=$nginx_version
wrk_version=$wrk_version
gateway_version=$gw_version
gateway_binary=${bin#"$root"/}
rounds=$rounds
duration=$duration
model=$model
answer_bytes=${#answer}
body_bytes=${#body}
rows=$rows
chats=$chats
gateway_rss_kb=$gw_rss_kb
gateway_threads=$gw_threads
gateway_access_lines=$access_lines
EOF
rc=0
python3 "$bench/hotpath.py" report --work "$work" --results "$bench/results" || rc=$?
exit $rc
