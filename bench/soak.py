#!/usr/bin/env python3
"""Soak test of e2b-gateway: a bounded mixed load for a fixed time, watching for leaks.

Starts the fake Fragments upstream and the given gateway binary on 127.0.0.1 with the shipped
config.yaml (its plugin chain; only addresses and the upstream timeouts changed, so stalls end in
seconds) and a fresh SQLite file, then runs --connections workers for --duration seconds, each
sending requests of the mix in bench/soak_load.py one after the other. It samples the gateway's
RSS, open fds and threads every --sample-every seconds, and

  baseline  after the warm-up, once the load has paused and idle connections have settled;
  middle    the sample nearest the middle of the timed load;
  end       the last sample under load;
  after     once the load has stopped and idle connections have settled again.

Every --reload-every seconds of the timed load it sends the gateway a SIGHUP: the configuration
is reloaded under traffic, each reload replacing the whole plugin chain while requests of the old
one finish, so a leak of replaced configurations shows as RSS or fds growth.

It fails (exit 1) when any answer was wrong or hung, RSS grew more than --rss-growth (default
10 %) from middle to end, fds after the load are above the baseline, or the thread count ever
differed from the baseline, the gateway did not count every SIGHUP as a successful reload
(gateway_config_reloads_total), or it did not exit 0 on SIGTERM. It writes a Markdown
report and a CSV of the samples (plus a PNG when gnuplot is installed) under --results.
"""

import argparse
import asyncio
import collections
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from benchlib import BenchProcesses, free_port, write_shipped_config  # noqa: E402
from loadgen import read_proc  # noqa: E402
from soak_load import KINDS, Target, worker  # noqa: E402
import soak_report  # noqa: E402

# The shipped config.yaml, with these lines replaced (each must be found, so a changed config.yaml
# fails loudly instead of soaking something else).
CONFIG_EDITS = [
    ("  host: 0.0.0.0 ", "  host: 127.0.0.1 "),
    ("  listen: 127.0.0.1:8081 ", "  listen: 127.0.0.1:{admin_port} "),
    ("  first_byte_timeout_ms: 300000 ", "  first_byte_timeout_ms: 5000 "),
    ("  idle_timeout_ms: 120000 ", "  idle_timeout_ms: 2000 "),
]
SETTLE_SECONDS = 3.0  # the fake closes idle keep-alive connections after 1 s








def http_ok(url, token=None, body=None):
    headers = {"Authorization": "Bearer " + token} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


class Processes(BenchProcesses):
    def __init__(self, args, work):
        super().__init__(work, "soak")
        self.args = args

    def start(self):
        fake_port = self.start_fake(keepalive_timeout=1)
        port, admin_port = free_port(), free_port()
        config = os.path.join(self.work, "config.yaml")
        write_shipped_config(config, CONFIG_EDITS, "soak", admin_port=admin_port)
        secrets_env = {"E2B_API_KEY": "sk-soak-" + secrets.token_hex(12),
                       "E2B_ADMIN_TOKEN": secrets.token_hex(16), "E2B_METRICS_TOKEN": secrets.token_hex(16)}
        self.start_gateway(self.args.gateway, config, port, dict(
            secrets_env, E2B_PORT=str(port), E2B_BASE_URL="http://127.0.0.1:%d" % fake_port, E2B_CONFIG=config,
            E2B_DB_PATH=os.path.join(self.work, "gateway.db"), E2B_LOG_LEVEL=self.args.log_level))
        return Target("127.0.0.1", port, admin_port, secrets_env["E2B_API_KEY"], secrets_env["E2B_ADMIN_TOKEN"],
                      secrets_env["E2B_METRICS_TOKEN"], self.args.timeout)


class Soak:
    def __init__(self, args, target, pid):
        self.args, self.target, self.pid = args, target, pid
        self.counts = collections.Counter()
        self.errors = collections.Counter()
        self.error_samples = []
        self.samples = []  # (phase, seconds into the timed load, rss kB, fds, threads, requests so far)
        self.index = 0
        self.load_start = None
        self.reloads_sent = 0
        self.reloads = {"success": 0, "failure": 0}

    def next_index(self):
        self.index += 1
        return self.index

    def tally(self, kind, problem, i):
        self.counts[kind] += 1
        if problem:
            self.errors["%s/%s" % (kind, problem)] += 1
            if len(self.error_samples) < 10:
                self.error_samples.append("request %d (%s): %s" % (i, kind, problem))

    def sample(self, phase):
        s = read_proc(self.pid)
        at = time.monotonic() - self.load_start if self.load_start else 0.0
        row = (phase, round(at, 1), s["VmRSS"], s["fds"], s["Threads"], sum(self.counts.values()))
        self.samples.append(row)
        print("soak: %-8s t=%6.1fs rss=%d kB fds=%d threads=%d requests=%d" % row, file=sys.stderr)
        return row

    async def load(self, seconds, phase):
        """Runs the workers for `seconds`, sampling as it goes; then waits for them to finish."""
        stop = asyncio.Event()
        workers = [asyncio.create_task(worker(self.target, self.args.seed * 1000 + n, self.next_index, stop,
                                              self.tally, self.args.pause_ms))
                   for n in range(self.args.connections)]
        deadline = time.monotonic() + seconds
        reloads = asyncio.create_task(self.reload_now_and_then(stop)) if phase else None
        while time.monotonic() < deadline:
            await asyncio.sleep(min(self.args.sample_every, max(0.0, deadline - time.monotonic())))
            if phase:
                self.sample(phase)
        stop.set()
        if reloads:
            await reloads
        # Every request is bounded by --timeout, so the workers end within it.
        await asyncio.wait_for(asyncio.gather(*workers), self.args.timeout + 10)

    async def reload_now_and_then(self, stop):
        """Sends SIGHUP every --reload-every seconds until `stop` (none when it is 0)."""
        while self.args.reload_every > 0:
            try:
                await asyncio.wait_for(stop.wait(), self.args.reload_every)
                return
            except asyncio.TimeoutError:
                os.kill(self.pid, signal.SIGHUP)
                self.reloads_sent += 1

    def reloads_counted(self):
        """The gateway's reload counters by result, from its /metrics."""
        request = urllib.request.Request("http://127.0.0.1:%d/metrics" % self.target.port,
                                         headers={"Authorization": "Bearer " + self.target.metrics_token})
        counted = {"success": 0, "failure": 0}
        with urllib.request.urlopen(request, timeout=10) as r:
            for line in r.read().decode().splitlines():
                for result in counted:
                    series = 'gateway_config_reloads_total{result="%s"} ' % result
                    if line.startswith(series):
                        counted[result] = int(float(line[len(series):]))
        return counted

    async def settled(self, phase):
        """Waits for idle connections to close, then makes the gateway reuse its upstream pool once
        (curl closes connections the fake dropped when it next looks at its pool), and samples."""
        await asyncio.sleep(SETTLE_SECONDS)
        url = "http://127.0.0.1:%d/v1/chat/completions" % self.target.port
        body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"settle"}]}'
        for _ in range(2):
            if not await asyncio.to_thread(http_ok, url, self.target.key, body):
                self.tally("settle", "failed", 0)
            await asyncio.sleep(1.1)
        return self.sample(phase)

    async def run(self):
        print("soak: warm-up %d s" % self.args.warmup, file=sys.stderr)
        await self.load(self.args.warmup, None)
        baseline = await self.settled("baseline")
        self.load_start = time.monotonic()
        await self.load(self.args.duration, "load")
        self.samples[-1] = ("end",) + self.samples[-1][1:]
        after = await self.settled("after")
        # The upstream pool may still hold connections the fake closed; give curl a few looks.
        for _ in range(5):
            if after[3] <= baseline[3]:
                break
            after = await self.settled("after")
        self.reloads = await asyncio.to_thread(self.reloads_counted)
        return baseline, after


def verdict(soak, baseline, after, shutdown, rss_growth):
    """The list of failed checks (empty: the soak passed), and the figures behind them."""
    load = [s for s in soak.samples if s[0] in ("load", "end")]
    end = load[-1]
    middle = min(load, key=lambda s: abs(s[1] - end[1] / 2))
    growth = (end[2] - middle[2]) / middle[2]
    threads = sorted({s[4] for s in soak.samples})
    failures = []
    if soak.errors:
        failures.append("%d requests had wrong or missing answers" % sum(soak.errors.values()))
    if growth > rss_growth:
        failures.append("RSS grew %.1f %% from the middle to the end (limit %.0f %%)" % (100 * growth,
                                                                                       100 * rss_growth))
    if after[3] > baseline[3]:
        failures.append("open fds after the load: %d, above the baseline %d" % (after[3], baseline[3]))
    if threads != [baseline[4]]:
        failures.append("the thread count changed: %s" % threads)
    if soak.reloads["success"] != soak.reloads_sent or soak.reloads["failure"]:
        failures.append("reloads: %d SIGHUPs sent, %d counted as successful, %d as failed" % (
            soak.reloads_sent, soak.reloads["success"], soak.reloads["failure"]))
    if shutdown[0] != 0:
        failures.append("on SIGTERM the gateway exited with %s" % shutdown[0])
    figures = {"middle": middle, "end": end, "growth": growth, "threads": threads}
    return failures, figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gateway", required=True, help="the e2b-gateway binary (plugins beside it)")
    parser.add_argument("--duration", type=float, default=600, help="seconds of timed load (default 600)")
    parser.add_argument("--warmup", type=float, default=30, help="seconds of load before the baseline")
    parser.add_argument("--connections", type=int, default=64, help="concurrent client connections")
    parser.add_argument("--pause-ms", type=float, default=100, help="random pause up to this between requests")
    parser.add_argument("--sample-every", type=float, default=10, help="seconds between samples")
    parser.add_argument("--timeout", type=float, default=30, help="longest wait for one answer")
    parser.add_argument("--rss-growth", type=float, default=0.10, help="allowed RSS growth, middle to end")
    parser.add_argument("--reload-every", type=float, default=30,
                        help="seconds between configuration reloads (SIGHUP) under load; 0 = none")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-level", default="info", help="the gateway's log level (access lines at info)")
    parser.add_argument("--results", default=os.path.join(HERE, "results"), help="directory for the report")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, database)")
    args = parser.parse_args()
    if args.duration <= 0 or args.connections <= 0 or args.sample_every <= 0:
        parser.error("--duration, --connections and --sample-every must be positive")

    work = tempfile.mkdtemp(prefix="e2b-soak.")
    processes = Processes(args, work)
    started = time.time()
    try:
        target = processes.start()
        soak = Soak(args, target, processes.gateway.pid)
        baseline, after = asyncio.run(soak.run())
        shutdown = processes.stop_gateway()
    finally:
        processes.stop()
        if args.keep:
            print("soak: work directory kept: %s" % work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    failures, figures = verdict(soak, baseline, after, shutdown, args.rss_growth)
    report = soak_report.write(args, started, soak, baseline, after, shutdown, failures, figures,
                               [k for k, _ in KINDS])
    print("soak: report %s" % report, file=sys.stderr)
    for failure in failures:
        print("soak: FAILED: %s" % failure, file=sys.stderr)
    for line in soak.error_samples:
        print("soak:   %s" % line, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
