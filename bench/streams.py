#!/usr/bin/env python3
"""Concurrent streams: how much memory the gateway needs to hold N slow SSE streams at once.

Starts the fake Fragments upstream and the given gateway binary on 127.0.0.1 with the shipped
config.yaml (its plugin chain; only the listen and admin addresses changed) and a fresh SQLite
file, then opens --streams streaming chat completions in batches of --batch every
--batch-interval seconds. Every upstream answer trickles --chunk bytes per --delay-ms (a slow
model), and is long enough that each stream lasts the ramp plus --hold seconds, so all of them
are open at once for about --hold seconds. Client sockets bind 127.0.0.2..9 in turn, so N client
plus N upstream connections do not run out of ephemeral ports.

It samples the gateway's VmRSS, VmHWM, threads and fds every --sample-every seconds and reads
/proc/PID/smaps_rollup when the most streams are open, and reports: idle RSS before (after a
warm-up) and after (once the streams ended and idle connections settled), the peak, RSS per
stream ((peak - idle before) / N), and whether every stream delivered exactly its expected text
with finish_reason stop and [DONE]. It fails (exit 1) when a stream failed, the thread count
changed, or the gateway did not exit 0 on SIGTERM. Everything is bounded by --max-seconds.
"""

import argparse
import asyncio
import datetime
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from benchlib import BenchProcesses, free_port, write_shipped_config  # noqa: E402
from loadgen import Client, Response, SseCollector, check, expected_reply, openai_body, read_proc  # noqa: E402

# The shipped config.yaml with these lines replaced (each must be found).
CONFIG_EDITS = [
    ("  host: 0.0.0.0 ", "  host: 127.0.0.1 "),
    ("  listen: 127.0.0.1:8081 ", "  listen: 127.0.0.1:{admin_port} "),
]
MEMORY_RETURN_SECONDS = 13.0  # the gateway trims its heap after 10 s without answers in flight
ENVELOPE_BYTES = 315  # the Fragments JSON object around the reply (fake_fragments_lib.fragment)
SOURCE_ADDRESSES = ["127.0.0.%d" % i for i in range(2, 10)]










def smaps_rollup(pid):
    """{field: kB} of /proc/PID/smaps_rollup (Rss, Anonymous, Private_Dirty ...)."""
    out = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                key, _, value = line.partition(":")
                parts = value.split()
                if len(parts) == 2 and parts[1] == "kB":
                    out[key] = int(parts[0])
    except OSError:
        pass
    return out


class Processes(BenchProcesses):
    def __init__(self, args, work):
        super().__init__(work, "streams")
        self.args = args
        self.port = None

    def start(self):
        fake_port = self.start_fake(keepalive_timeout=2)
        self.port, admin_port = free_port(), free_port()
        config = os.path.join(self.work, "config.yaml")
        write_shipped_config(config, CONFIG_EDITS, "streams", admin_port=admin_port)
        self.key = "sk-streams-" + secrets.token_hex(12)
        self.start_gateway(self.args.gateway, config, self.port, dict(
            E2B_API_KEY=self.key, E2B_METRICS_TOKEN=secrets.token_hex(16), E2B_PORT=str(self.port),
            E2B_BASE_URL="http://127.0.0.1:%d" % fake_port, E2B_CONFIG=config,
            E2B_DB_PATH=os.path.join(self.work, "gateway.db"), E2B_LOG_LEVEL="warn"))


class Streams:
    """Opens the streams and follows each one to its end."""

    def __init__(self, args, port, key, scenario):
        self.args, self.port, self.key, self.scenario = args, port, key, scenario
        self.open = 0        # request sent, answer not finished
        self.max_open = 0
        self.ok = 0
        self.errors = {}
        self.first_error = {}
        self.check_args = types.SimpleNamespace(mode="openai", stream=True)

    def error(self, kind, detail):
        self.errors[kind] = self.errors.get(kind, 0) + 1
        self.first_error.setdefault(kind, str(detail)[:300])

    async def one(self, i, deadline):
        loop = asyncio.get_running_loop()
        spec = self.scenario.replace("{i}", str(i))
        text = "scenario:%s\nstream %d" % (spec, i)
        expected = expected_reply(spec, text)
        body = openai_body(types.SimpleNamespace(model=self.args.model, stream=True), text)
        head = ["POST /v1/chat/completions HTTP/1.1", "Host: 127.0.0.1:%d" % self.port,
                "Content-Type: application/json", "Content-Length: %d" % len(body),
                "Authorization: Bearer " + self.key, "Accept: text/event-stream", "Connection: close"]
        data = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        client = None
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        try:
            source = (SOURCE_ADDRESSES[i % len(SOURCE_ADDRESSES)], 0)
            _, client = await asyncio.wait_for(
                loop.create_connection(lambda: Client(loop), "127.0.0.1", self.port, local_addr=source), 30)
            consumer = SseCollector(lambda: None)
            response = Response(consumer)
            await asyncio.wait_for(client.request(data, response, None), max(0.1, deadline - loop.time()))
            problem = check(self.check_args, response, consumer, expected)
            if problem:
                self.error(problem[0], "stream %d: %s" % (i, problem[1]))
            else:
                self.ok += 1
        except asyncio.TimeoutError:
            self.error("timeout", "stream %d did not end in time" % i)
        except Exception as e:  # noqa: BLE001 - any failure ends this stream
            self.error(type(e).__name__, "stream %d: %s" % (i, e))
        finally:
            self.open -= 1
            if client is not None and client.transport is not None:
                client.transport.close()

    async def run(self, first, count, deadline):
        tasks = []
        for start in range(first, first + count, self.args.batch):
            for i in range(start, min(start + self.args.batch, first + count)):
                tasks.append(asyncio.ensure_future(self.one(i, deadline)))
            if start + self.args.batch < first + count:
                await asyncio.sleep(self.args.batch_interval)
        await asyncio.gather(*tasks)


class Sampler:
    """The gateway's RSS, threads and fds over time; smaps_rollup when the most streams are open."""

    def __init__(self, pid, streams, interval):
        self.pid, self.streams, self.interval = pid, streams, interval
        self.samples = []  # (seconds, open streams, read_proc dict)
        self.at_peak_open = None
        self.rollup = {}
        self.t0 = time.monotonic()

    def sample(self):
        s = read_proc(self.pid)
        open_now = self.streams.open if self.streams else 0
        self.samples.append((round(time.monotonic() - self.t0, 1), open_now, s))
        if self.streams and (self.at_peak_open is None or open_now >= self.at_peak_open[1]):
            self.at_peak_open = self.samples[-1]
            self.rollup = smaps_rollup(self.pid)
        return s

    async def run(self, stop):
        while not stop.is_set():
            self.sample()
            try:
                await asyncio.wait_for(stop.wait(), self.interval)
            except asyncio.TimeoutError:
                pass


async def settle(pid, seconds):
    """Waits until the gateway's fds stay the same for 3 s (the fake closes idle upstream
    connections after 2 s), at most `seconds`."""
    last, same_since, deadline = None, time.monotonic(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        fds = read_proc(pid)["fds"]
        if fds != last:
            last, same_since = fds, time.monotonic()
        elif time.monotonic() - same_since >= 3:
            break
        await asyncio.sleep(0.5)
    return read_proc(pid)


async def measure(args, procs):
    pid = procs.gateway.pid
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.max_seconds
    # Warm-up: a few fast streams through the whole chain, so the idle figure includes what the
    # first request allocates once (plugin state, SQLite pages, TLS-less curl handles).
    warm = Streams(args, procs.port, procs.key, "long=2000,tag=w{i},delay_ms=0")
    await warm.run(10 ** 6, 20, deadline)
    if warm.ok != 20:
        raise SystemExit("streams: warm-up failed: %s" % warm.first_error)
    idle_before = await settle(pid, 15)

    ramp = (args.streams - 1) // args.batch * args.batch_interval
    chunks = int((ramp + args.hold) * 1000 / args.delay_ms) + 1
    reply_bytes = max(50, chunks * args.chunk - ENVELOPE_BYTES)
    scenario = "long=%d,tag=s{i},delay_ms=%d,chunk=%d-%d" % (reply_bytes, args.delay_ms, args.chunk, args.chunk)
    streams = Streams(args, procs.port, procs.key, scenario)
    sampler = Sampler(pid, streams, args.sample_every)
    stop = asyncio.Event()
    sampling = asyncio.ensure_future(sampler.run(stop))
    started = time.monotonic()
    await streams.run(0, args.streams, deadline)
    wall = time.monotonic() - started
    stop.set()
    await sampling
    idle_after = await settle(pid, 30)
    # The gateway gives a burst's heap back after 10 s without an answer in flight (checked once a
    # second): RSS once that is surely over.
    await asyncio.sleep(max(0.0, MEMORY_RETURN_SECONDS - (time.monotonic() - started - wall)))
    returned = read_proc(pid)
    return {"idle_before": idle_before, "idle_after": idle_after, "returned": returned, "streams": streams,
            "sampler": sampler, "wall": wall, "scenario": scenario, "reply_bytes": reply_bytes, "ramp": ramp}


def report(args, r, exit_status, path):
    s, sampler = r["streams"], r["sampler"]
    samples = [x[2] for x in sampler.samples] + [r["idle_after"]]
    mb = lambda kb: "%.1f MB" % (kb / 1024.0)  # noqa: E731
    peak_rss = max(x["VmRSS"] for x in samples)
    hwm = max(x["VmHWM"] for x in samples)
    threads = sorted({x["Threads"] for x in samples} | {r["idle_before"]["Threads"]})
    per_stream = (peak_rss - r["idle_before"]["VmRSS"]) * 1024.0 / max(1, args.streams)
    failed = s.ok != args.streams or len(threads) != 1 or exit_status != 0
    at = sampler.at_peak_open
    lines = [
        "# Concurrent streams: %d (%s)" % (args.streams, "FAILED" if failed else "ok"),
        "",
        "- date: %s; machine: %d cores, Linux %s; binary: %s" % (
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), os.cpu_count(),
            os.uname().release, os.path.relpath(args.gateway, ROOT)),
        "- config: the shipped config.yaml, listen and admin on 127.0.0.1; no limit raised (no cap on client "
        "connections; upstream.max_connections only sizes the idle cache; rate_limit sets no max_concurrent)",
        "- streams: %d, opened %d every %.1f s (ramp %.0f s), upstream scenario `%s`: %d bytes per %d ms" % (
            args.streams, args.batch, args.batch_interval, r["ramp"], s.scenario, args.chunk, args.delay_ms),
        "- completed with the exact text, stop and [DONE]: **%d / %d**; most open at once: %d; wall %.0f s" % (
            s.ok, args.streams, s.max_open, r["wall"]),
        "",
        "| | VmRSS | VmHWM | threads | fds |",
        "| --- | --- | --- | --- | --- |",
        "| idle before (after a warm-up) | %s | %s | %d | %d |" % (
            mb(r["idle_before"]["VmRSS"]), mb(r["idle_before"]["VmHWM"]), r["idle_before"]["Threads"],
            r["idle_before"]["fds"]),
        "| most streams open (%d, at %.0f s) | %s | %s | %d | %d |" % (
            at[1], at[0], mb(at[2]["VmRSS"]), mb(at[2]["VmHWM"]), at[2]["Threads"], at[2]["fds"]),
        "| idle after (streams ended, settled) | %s | %s | %d | %d |" % (
            mb(r["idle_after"]["VmRSS"]), mb(r["idle_after"]["VmHWM"]), r["idle_after"]["Threads"],
            r["idle_after"]["fds"]),
        "| %.0f s after the streams ended (heap given back) | %s | %s | %d | %d |" % (
            MEMORY_RETURN_SECONDS, mb(r["returned"]["VmRSS"]), mb(r["returned"]["VmHWM"]), r["returned"]["Threads"],
            r["returned"]["fds"]),
        "",
        "- **peak RSS %s** (VmHWM %s); RSS per stream (peak - idle before) / N: **%.0f bytes**" % (
            mb(peak_rss), mb(hwm), per_stream),
        "- threads: %s (%s)" % (", ".join(map(str, threads)), "constant" if len(threads) == 1 else "CHANGED"),
        "- smaps_rollup with the most streams open: " + ", ".join(
            "%s %s" % (k, mb(sampler.rollup[k])) for k in ("Rss", "Anonymous", "Private_Dirty", "Shared_Clean")
            if k in sampler.rollup),
        "- gateway exit on SIGTERM: %s" % ("killed after 40 s" if exit_status is None else exit_status),
    ]
    if s.errors:
        lines += ["", "Errors: " + json.dumps(s.errors), ""]
        lines += ["- %s: %s" % kv for kv in s.first_error.items()]
    lines += ["", "Samples (s, open streams, VmRSS MB, threads, fds):", "", "```"]
    step = max(1, len(sampler.samples) // 40)
    for t, n, x in sampler.samples[::step]:
        lines.append("%6.1f %6d %7.1f %4d %6d" % (t, n, x["VmRSS"] / 1024.0, x["Threads"], x["fds"]))
    lines.append("```")
    text = "\n".join(lines) + "\n"
    if path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    print(text)
    return not failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gateway", default=os.path.join(ROOT, "build-bench", "e2b-gateway"))
    ap.add_argument("--streams", type=int, default=9000)
    ap.add_argument("--batch", type=int, default=500, help="streams opened at once")
    ap.add_argument("--batch-interval", type=float, default=1.0)
    ap.add_argument("--hold", type=float, default=20.0, help="seconds all streams are open together")
    ap.add_argument("--chunk", type=int, default=24, help="bytes per upstream chunk")
    ap.add_argument("--delay-ms", type=int, default=1000, help="pause between upstream chunks")
    ap.add_argument("--model", default="gpt-4o-mini")
    ap.add_argument("--sample-every", type=float, default=0.5)
    ap.add_argument("--max-seconds", type=float, default=600, help="bound of the whole measurement")
    ap.add_argument("--report", help="Markdown report path")
    args = ap.parse_args()
    args.gateway = os.path.abspath(args.gateway)
    if not 0 < args.streams <= 20000:
        raise SystemExit("streams: --streams must be 1..20000")
    work = tempfile.mkdtemp(prefix="e2b-streams.")
    procs = Processes(args, work)
    try:
        procs.start()
        result = asyncio.run(measure(args, procs))
        exit_status, _ = procs.stop_gateway()
        ok = report(args, result, exit_status, args.report)
    finally:
        procs.stop()
    if os.environ.get("BENCH_KEEP") == "1":
        print("work directory kept: %s" % work, file=sys.stderr)
    else:
        subprocess.run(["rm", "-rf", work], check=False)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
