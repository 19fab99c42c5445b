#!/usr/bin/env python3
"""Helpers of bench/hotpath.sh (stdlib only).

  hotpath.py config SHIPPED OUT --port P --admin-port A --db PATH --upstream URL
      writes the shipped config.yaml with only these values changed (each line must be found);
  hotpath.py rows DB [--at-least N] [--wait S]
      prints the usage rows in the database once the count is stable and at least N (or S passed);
  hotpath.py report --work DIR --results DIR
      writes hotpath-<UTC date-time>.{md,csv} and -rps.png, -cpu.png from DIR/runs.txt and
      DIR/meta.txt, copies the md to hotpath-latest.md; exits 1 when a usage row is missing or a
      measured chat request was answered with an error status.
"""

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from soak_report import machine  # noqa: E402


def write_config(args):
    """The shipped file with these values replaced, each line's comment kept in its column."""
    with open(args.shipped) as f:
        lines = f.read().split("\n")
    edits = [
        ("  host: ", "0.0.0.0", "127.0.0.1"),
        ("  port: ", "8080", str(args.port)),
        ("  listen: ", "127.0.0.1:8081", "127.0.0.1:%d" % args.admin_port),
        ("  path: ", "./data/gateway.db", args.db),
        ("  base_url: ", "https://fragments.e2b.dev", args.upstream),
    ]
    for prefix, old, new in edits:
        start = prefix + old + " "
        index = next((i for i, line in enumerate(lines) if line.startswith(start)), None)
        if index is None:
            raise SystemExit("hotpath: config.yaml has no line %r any more; update bench/hotpath.py" % start.strip())
        rest = lines[index][len(start):]
        comment = rest.lstrip(" ")
        padding = max(1, len(old) + 1 + len(rest) - len(comment) - len(new))
        lines[index] = prefix + new + " " * padding + comment
    with open(args.out, "w") as f:
        f.write("\n".join(lines))


def count_rows(db):
    if not os.path.exists(db):
        return 0
    with sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5) as connection:
        return connection.execute("SELECT count(*) FROM usage_requests").fetchone()[0]


def print_rows(args):
    """The storage thread commits at most every 100 ms: wait for the count to stop moving."""
    deadline = time.monotonic() + args.wait
    last, same = -1, 0
    while True:
        rows = count_rows(args.db)
        same = same + 1 if rows == last else 0
        last = rows
        if (rows >= args.at_least and same >= 2) or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    print(last)


def read_runs(path):
    runs = []
    with open(path) as f:
        for line in f:
            run = dict(item.split("=", 1) for item in line.split())
            for name, value in run.items():
                if name not in ("phase", "side"):
                    run[name] = float(value)
            seconds = run["duration_us"] / 1e6
            run["rps"] = run["requests"] / seconds
            run["cpu_us"] = run["cpu_ticks"] * 1e6 / run["clk_tck"] / max(1.0, run["requests"])
            runs.append(run)
    return runs


def read_meta(path):
    with open(path) as f:
        return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)


def read_client(path):
    """The UPSTREAM_CLIENT line of upstream_client_cost as numbers, or None when it printed none."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("UPSTREAM_CLIENT "):
                    pairs = dict(item.split("=", 1) for item in line.split()[1:])
                    return {k: float(v) if "." in v else int(v) for k, v in pairs.items()}
    except OSError:
        pass
    return None


def plot(png, data, column, ylabel, title):
    """A gnuplot PNG of one per-round figure, nginx and the gateway side by side."""
    script = """
set terminal png size 800,450 noenhanced
set output '%s'
set title '%s'
set key top left
set xlabel 'round'
set ylabel '%s'
set xtics 1
set yrange [0:*]
set offsets 0.3, 0.3, 0, 0
plot '%s' using 1:%d with linespoints lw 2 title 'nginx proxy_pass', \\
     '' using 1:%d with linespoints lw 2 title 'gateway'
""" % (png, title, ylabel, data, column, column + 1)
    return shutil.which("gnuplot") and subprocess.run(
        ["gnuplot"], input=script, text=True, capture_output=True, timeout=60).returncode == 0


def ratio(a, b):
    return "%.2f" % (a / b) if b else "–"


def report(args):
    runs = read_runs(os.path.join(args.work, "runs.txt"))
    meta = read_meta(os.path.join(args.work, "meta.txt"))
    with open(os.path.join(args.work, "config.diff")) as f:
        config_diff = f.read().rstrip("\n")
    with open(os.path.join(args.work, "gateway-warnings.txt")) as f:
        warnings = f.read().splitlines()
    stamp = time.strftime("%Y-%m-%d-%H%M", time.gmtime(int(meta["started"])))
    os.makedirs(args.results, exist_ok=True)
    base = os.path.join(args.results, "hotpath-" + stamp)

    def pick(phase, side=None):
        return [r for r in runs if r["phase"] == phase and (side is None or r["side"] == side)]

    rounds = {side: pick("round", side) for side in ("nginx", "gateway")}
    failures = []
    for r in pick("round") + pick("latency"):
        if r["non2xx"]:
            failures.append("%s %s %d: %d error statuses" % (r["phase"], r["side"], r["round"], r["non2xx"]))
    rows, chats = int(meta["rows"]), int(meta["chats"])
    if rows < chats:
        failures.append("usage rows missing: %d written for %d completed chat requests" % (rows, chats))
    client = read_client(os.path.join(args.work, "client.txt"))
    client_ok = client is not None and not client["failed"] and client["requests"] > 0
    if not client_ok:
        failures.append("the upstream client alone (upstream_client_cost) did not run cleanly")

    with open(base + ".csv", "w") as f:
        f.write("phase,side,round,connections,requests,non2xx,errors,seconds,rps,cpu_us_per_request,"
                "p50_us,p90_us,p99_us\n")
        for r in runs:
            f.write("%s,%s,%d,%d,%d,%d,%d,%.2f,%.1f,%.1f,%d,%d,%d\n" % (
                r["phase"], r["side"], r["round"], r["connections"], r["requests"], r["non2xx"], r["errors"],
                r["duration_us"] / 1e6, r["rps"], r["cpu_us"], r["p50_us"], r["p90_us"], r["p99_us"]))
    data = os.path.join(args.work, "rounds.dat")
    with open(data, "w") as f:
        for n, g in zip(rounds["nginx"], rounds["gateway"]):
            f.write("%d %.1f %.1f %.1f %.1f\n" % (n["round"], n["rps"], g["rps"], n["cpu_us"], g["cpu_us"]))
    charts = []
    for suffix, column, ylabel, title in (("rps", 2, "requests/s", "Throughput per round, 32 connections"),
                                          ("cpu", 4, "CPU us per request", "CPU per request per round")):
        if plot(base + "-" + suffix + ".png", data, column, ylabel, title):
            charts.append("[%s](%s)" % (suffix, os.path.basename(base) + "-" + suffix + ".png"))

    def median(side, key):
        return statistics.median(r[key] for r in rounds[side])

    lines = [
        "# Hot path: gateway vs nginx proxy_pass, %s UTC" % time.strftime("%Y-%m-%d %H:%M",
                                                                          time.gmtime(int(meta["started"]))),
        "",
        "Result: **%s**" % ("passed" if not failures else "FAILED"),
        "",
    ]
    lines += ["- FAILED: %s" % f for f in failures]
    lines += [
        "- Machine: %s." % machine(),
        "- Load average before the start: %s; the machine was %s %% busy with other processes just before "
        "the first round; load average at the end: %s." % (
            meta["load_before"], meta["busy_before"], " ".join("%.2f" % v for v in os.getloadavg())),
        "- Versions: %s, wrk %s, e2b-gateway %s (`%s`)." % (meta["nginx_version"], meta["wrk_version"],
                                                             meta["gateway_version"], meta["gateway_binary"]),
        "- Request: `POST` of a %s-byte chat body (`%s`, one user message \"Say hi\"); the static upstream "
        "(nginx, 1 worker, `return 200`) answers every `POST /api/chat` with the same %s-byte Fragments "
        "JSON object (`text/plain; charset=utf-8`)." % (meta["body_bytes"], meta["model"], meta["answer_bytes"]),
        "- nginx: 2 workers, access log to a file, `proxy_pass` to an `upstream {}` with `keepalive 64`, "
        "`proxy_http_version 1.1`, `proxy_set_header Connection \"\"`; it forwards `/api/chat` as it is.",
        "- Gateway: `POST /v1/chat/completions` with a static key (`E2B_API_KEY`), the shipped "
        "`config.yaml` (metrics, cors, auth, constraints, rate_limit, fragments; log level info with "
        "the access line, stderr to a file), a fresh SQLite file. Changed lines:",
        "",
        "```diff",
        config_diff,
        "```",
        "",
        "- CPU per request: utime+stime from `/proc/PID/stat` (nginx: master and workers; gateway: the "
        "process, all threads) before and after the run, over the requests wrk completed. The static "
        "upstream and wrk are not counted.",
        "- Charts: %s; raw numbers: [csv](%s)." % (", ".join(charts) or "gnuplot failed",
                                                     os.path.basename(base) + ".csv"),
        "",
        "## Rounds: %s pairs of %s s each, 32 connections (`wrk -t2 -c32`), alternating" % (meta["rounds"],
                                                                                     meta["duration"]),
        "",
        "| round | side | requests | req/s | CPU µs/request | p50 µs | p99 µs | non-2xx | socket errors |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in pick("round"):
        lines.append("| %d | %s | %d | %.0f | %.1f | %d | %d | %d | %d |" % (
            r["round"], r["side"], r["requests"], r["rps"], r["cpu_us"], r["p50_us"], r["p99_us"], r["non2xx"],
            r["errors"]))
    lines += [
        "",
        "## Summary (medians of the rounds)",
        "",
        "| | nginx proxy_pass | gateway | gateway / nginx |",
        "|---|---:|---:|---:|",
    ]
    for key, label, fmt in (("rps", "req/s", "%.0f"), ("cpu_us", "CPU µs/request", "%.1f"),
                            ("p50_us", "p50 µs", "%.0f"), ("p99_us", "p99 µs", "%.0f")):
        n, g = median("nginx", key), median("gateway", key)
        lines.append("| %s | %s | %s | %s |" % (label, fmt % n, fmt % g, ratio(g, n)))
    latency = {r["side"]: r for r in pick("latency")}
    lines += [
        "",
        "## Added latency at light load: %s s each, 4 connections (`wrk -t1 -c4`)" % meta["duration"],
        "",
        "| target | req/s | p50 µs | p90 µs | p99 µs | added p50 µs | added p99 µs |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    direct = latency["static"]
    for side, label in (("static", "static upstream, direct"), ("nginx", "via nginx proxy_pass"),
                        ("gateway", "via the gateway")):
        r = latency[side]
        added = ("–", "–") if side == "static" else ("%d" % (r["p50_us"] - direct["p50_us"]),
                                                      "%d" % (r["p99_us"] - direct["p99_us"]))
        lines.append("| %s | %.0f | %d | %d | %d | %s | %s |" % (label, r["rps"], r["p50_us"], r["p90_us"],
                                                                 r["p99_us"], added[0], added[1]))
    if client_ok:
        nginx_cpu, gateway_cpu = median("nginx", "cpu_us"), median("gateway", "cpu_us")
        lines += [
            "",
            "## The upstream client alone: libcurl multi, 32 transfers in flight, %s s" % meta["duration"],
            "",
            "`bench/upstream_client_cost` against the static upstream: a bare curl multi loop with the "
            "options the gateway sets on every transfer, nothing else in the process. Its CPU per request "
            "is the part of the gateway's that comes with the upstream client.",
            "",
            "| requests | req/s | CPU µs/request (user + system) | ÷ nginx's whole hop | share of the gateway's |",
            "|---:|---:|---:|---:|---:|",
            "| %d | %.0f | %.1f (%.1f + %.1f) | %s | %.0f %% |" % (
                client["requests"], client["rps"], client["cpu_us"], client["user_us"], client["sys_us"],
                ratio(client["cpu_us"], nginx_cpu), 100 * client["cpu_us"] / gateway_cpu),
            "",
            "2× nginx's CPU per request is %.1f µs; libcurl alone takes %.1f of it, leaving %.1f µs for "
            "everything else the gateway does per request (it uses %.1f today)." % (
                2 * nginx_cpu, client["cpu_us"], 2 * nginx_cpu - client["cpu_us"], gateway_cpu - client["cpu_us"]),
        ]
    refused = pick("refused", "gateway")[0]
    lines += [
        "",
        "## Refused requests: no key, %s s at 32 connections (401 from auth)" % meta["duration"],
        "",
        "| requests | req/s | CPU µs/request | p50 µs | p99 µs | 401s (non-2xx) |",
        "|---:|---:|---:|---:|---:|---:|",
        "| %d | %.0f | %.1f | %d | %d | %d |" % (refused["requests"], refused["rps"], refused["cpu_us"],
                                               refused["p50_us"], refused["p99_us"], refused["non2xx"]),
        "",
        "## Usage rows",
        "",
        "Rows written to `usage_requests` during the gateway rounds / chat requests wrk completed with "
        "a 2xx: **%d / %d**%s. (A request still in flight when wrk stops at the end of a round also "
        "gets its row, so a few more rows than completed requests are expected.)" % (
            rows, chats, "" if rows >= chats else " — **%d missing**" % (chats - rows)),
        "",
        "Gateway at the end: RSS %.1f MB, %s threads; %s access lines for chat requests in its log, "
        "lines of level warning or above: %d%s" % (int(meta["gateway_rss_kb"]) / 1024, meta["gateway_threads"],
                                                  meta["gateway_access_lines"], len(warnings),
                                                  ":" if warnings else "."),
        "",
    ]
    if warnings:
        lines += ["```"] + warnings[:20] + ["```", ""]
    with open(base + ".md", "w") as f:
        f.write("\n".join(lines))
    shutil.copyfile(base + ".md", os.path.join(args.results, "hotpath-latest.md"))
    print("\n".join(lines))
    print("hotpath: written %s.{md,csv}, charts %s; copied to hotpath-latest.md" % (base, ", ".join(charts)),
          file=sys.stderr)
    for failure in failures:
        print("hotpath: FAILED: %s" % failure, file=sys.stderr)
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    config = sub.add_parser("config")
    config.add_argument("shipped")
    config.add_argument("out")
    config.add_argument("--port", type=int, required=True)
    config.add_argument("--admin-port", type=int, required=True)
    config.add_argument("--db", required=True)
    config.add_argument("--upstream", required=True)
    rows = sub.add_parser("rows")
    rows.add_argument("db")
    rows.add_argument("--at-least", type=int, default=0)
    rows.add_argument("--wait", type=float, default=5)
    rep = sub.add_parser("report")
    rep.add_argument("--work", required=True)
    rep.add_argument("--results", required=True)
    args = parser.parse_args()
    if args.command == "config":
        write_config(args)
    elif args.command == "rows":
        print_rows(args)
    else:
        return report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
