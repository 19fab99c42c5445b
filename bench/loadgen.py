#!/usr/bin/env python3
"""Load generator for e2b-gateway benchmarks (Python 3.11 standard library only).

Raw HTTP/1.1 over asyncio sockets: N connections, each sending its requests one after the other
with keep-alive reuse, until the total request count (or the time limit) is reached. Every answer
is checked against the reply the fake Fragments upstream is known to produce, so a wrong, partial
or cross-wired answer is an error, never a success.

Two targets:
  --mode openai     POST /v1/chat/completions on the gateway (OpenAI shape, stream true/false)
  --mode fragments  POST /api/chat directly on the fake upstream, with the body the gateway
                    would send (Fragments shape; the answer is a chunked JSON object whose
                    `code` field is the reply). Used for the "fake alone" and overhead numbers.

The scenario string is what goes after `scenario:` in the user message (see
tests/fake_fragments/fake_fragments.py). `{i}` in it is replaced by the request index, which makes
every reply unique (e.g. `long=20000,tag=r{i}`), so an answer delivered to the wrong request
fails the check. The expected reply:
  long=N[,tag=T]  "".join("%s line %04d\\n" % (T, i) for i in ...)[:N]   (tag is required)
  reply=<pct>     urllib.parse.unquote(<pct>)
  otherwise       "Echo: " + <user message text>

Measured per request: total latency (request written -> answer complete), time to first byte,
and for streams time to the first content token (first non-empty delta.content; for
--mode fragments the first character of the `code` value). Optional --monitor NAME:PID samples
/proc/PID/{stat,status} (CPU seconds, RSS, threads, open fds) during the run.

Output: a human summary on stderr and, with --json FILE, one JSON object with everything.
Exit status 0 when every request succeeded, 1 otherwise (2 on usage errors).
"""

import argparse
import asyncio
import json
import os
import re
import resource
import sys
import time
import urllib.parse

# The fake upstream defines what each scenario answers; the benchmark checks against the same code.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fake_fragments"))
from fake_fragments_lib import long_reply, parse_options  # noqa: E402

DEFAULT_INSTRUCTIONS = (
    "You are chatting with a user. Reply to their latest message in plain text and put the whole "
    "reply in the `code` field, exactly as it should be shown to them.")


# --------------------------------------------------------------------------- expected replies

def user_text(scenario, i):
    spec = scenario.replace("{i}", str(i))
    return "scenario:%s\nbench request %d" % (spec, i), spec


def expected_reply(spec, text):
    opts = parse_options(spec)
    if "long" in opts:
        tag = opts.get("tag")
        if not isinstance(tag, str) or not tag:
            raise ValueError("long=N needs tag=T in the scenario (the default token is not known here)")
        return long_reply(tag, int(opts["long"]))
    if isinstance(opts.get("reply"), str):
        return urllib.parse.unquote(opts["reply"])
    return "Echo: " + text


# --------------------------------------------------------------------------- request bodies

def openai_body(args, text):
    body = {"model": args.model, "stream": args.stream,
            "messages": [{"role": "user", "content": text}]}
    return json.dumps(body, separators=(",", ":")).encode()


def fragments_body(args, text):
    # The shape build_fragments_request() produces for a text-only model.
    body = {
        "userID": "00000000-0000-5000-8000-000000000000",
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
        "template": {"text": {"name": "Chat", "lib": [""], "file": "pages/ChatWithUsers.txt",
                              "instructions": DEFAULT_INSTRUCTIONS, "port": None}},
        "model": {"id": args.model, "provider": "OpenAI", "providerId": "openai",
                  "name": args.model, "multiModal": False},
        "config": {"model": args.model},
    }
    return json.dumps(body, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- response parsing

class ProtocolError(Exception):
    pass


class Response:
    """Incremental HTTP/1.1 response parser (Content-Length or chunked) with a body consumer."""

    def __init__(self, consumer):
        self.consumer = consumer
        self.buf = bytearray()
        self.state = "head"
        self.status = 0
        self.keep_alive = True
        self.remaining = 0          # Content-Length left, or bytes left in the current chunk
        self.chunked = False
        self.until_close = False
        self.done = False
        self.bytes = 0

    def feed(self, data):
        self.bytes += len(data)
        if self.buf:
            self.buf += data
            buf = bytes(self.buf)
        else:
            buf = data
        pos, n = 0, len(buf)
        out = []  # decoded body bytes of this read, handed to the consumer once at the end
        # Parse with a moving index; keep only the unparsed tail (no per-chunk copies).
        while not self.done and pos < n:
            state = self.state
            if state == "chunk":
                take = min(self.remaining, n - pos)
                out.append(buf[pos:pos + take])
                pos += take
                self.remaining -= take
                if self.remaining == 0:
                    self.state = "crlf"
            elif state == "size":
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    break
                try:
                    size = int(buf[pos:end].split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise ProtocolError("bad chunk size line")
                pos = end + 2
                if size == 0:
                    self.state = "trailer"
                else:
                    self.remaining, self.state = size, "chunk"
            elif state == "crlf":
                if n - pos < 2:
                    break
                if buf[pos:pos + 2] != b"\r\n":
                    raise ProtocolError("missing CRLF after chunk")
                pos += 2
                self.state = "size"
            elif state == "fixed":
                if self.until_close:
                    out.append(buf[pos:])
                    pos = n
                    break
                take = min(self.remaining, n - pos)
                out.append(buf[pos:pos + take])
                pos += take
                self.remaining -= take
                if self.remaining == 0:
                    self.done = True
            elif state == "trailer":
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    break
                line = buf[pos:end]
                pos = end + 2
                if not line:
                    self.done = True
            else:  # head
                end = buf.find(b"\r\n\r\n", pos)
                if end < 0:
                    if n - pos > 65536:
                        raise ProtocolError("response head too large")
                    break
                head = buf[pos:end].decode("latin-1").split("\r\n")
                pos = end + 4
                parts = head[0].split(" ", 2)
                if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
                    raise ProtocolError("bad status line %r" % head[0][:80])
                self.status = int(parts[1])
                if 100 <= self.status < 200:
                    continue
                headers = {}
                for line in head[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                self.headers = headers
                conn = headers.get("connection", "").lower()
                self.keep_alive = "close" not in conn and parts[0] == "HTTP/1.1"
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    self.chunked, self.state = True, "size"
                elif "content-length" in headers:
                    self.remaining = int(headers["content-length"])
                    self.state = "fixed"
                    if self.remaining == 0:
                        self.done = True
                else:
                    self.until_close, self.state = True, "fixed"
                    self.keep_alive = False
        self.buf = bytearray(buf[pos:]) if pos < n else bytearray()
        if out:
            self.consumer.data(out[0] if len(out) == 1 else b"".join(out))
        if self.done and self.buf:
            raise ProtocolError("unexpected bytes after the response (%d)" % len(self.buf))

    def eof(self):
        if self.until_close and self.state == "fixed":
            self.done = True


CODE_VALUE = re.compile(rb'"code"\s*:\s*"[^"]')  # the first character of the code string


class BodyCollector:
    """Plain body (non-stream OpenAI or Fragments): keeps the bytes; notes the first code char."""

    def __init__(self, watch_code, on_token):
        self.parts = []
        self.watch_code = watch_code
        self.on_token = on_token
        self.seen = b""

    def data(self, d):
        self.parts.append(d)
        if self.watch_code:
            # first character after "code":" in the Fragments JSON object
            self.seen += d
            if CODE_VALUE.search(self.seen):
                self.watch_code = False
                self.seen = b""
                self.on_token()
            elif len(self.seen) > 64:
                self.seen = self.seen[-64:]

    def body(self):
        return b"".join(self.parts)


class SseCollector:
    """OpenAI SSE stream: concatenates delta.content, notes the first non-empty one."""

    def __init__(self, on_token):
        self.buf = bytearray()
        self.content = []
        self.on_token = on_token
        self.got_token = False
        self.finish_reason = None
        self.done = False
        self.error = None
        self.events = 0

    def data(self, d):
        if self.buf:
            d = bytes(self.buf) + d
        events = d.split(b"\n\n")
        self.buf = bytearray(events.pop())
        for event in events:
            self.event(event)

    def event(self, raw):
        for line in raw.split(b"\n"):
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            self.events += 1
            if payload == b"[DONE]":
                self.done = True
                continue
            obj = json.loads(payload)
            if "error" in obj:
                self.error = obj["error"]
                continue
            for choice in obj.get("choices") or []:
                delta = choice.get("delta") or {}
                text = delta.get("content")
                if text:
                    if not self.got_token:
                        self.got_token = True
                        self.on_token()
                    self.content.append(text)
                if choice.get("finish_reason"):
                    self.finish_reason = choice["finish_reason"]


# --------------------------------------------------------------------------- connection

class Client(asyncio.Protocol):
    def __init__(self, loop):
        self.loop = loop
        self.transport = None
        self.response = None
        self.waiter = None
        self.closed = False
        self.on_first_byte = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        r = self.response
        if r is None:
            self.fail(ProtocolError("unsolicited bytes from the server"))
            return
        if self.on_first_byte is not None:
            self.on_first_byte()
            self.on_first_byte = None
        try:
            r.feed(data)
        except Exception as e:  # noqa: BLE001 - any parse error ends this request
            self.fail(e)
            return
        if r.done:
            self.response = None
            if self.waiter and not self.waiter.done():
                self.waiter.set_result(r)

    def eof_received(self):
        r = self.response
        if r is not None:
            r.eof()
            if r.done:
                self.response = None
                if self.waiter and not self.waiter.done():
                    self.waiter.set_result(r)
        return False

    def connection_lost(self, exc):
        self.closed = True
        if self.response is not None:
            self.fail(ProtocolError("connection closed mid-response" + (": %s" % exc if exc else "")))

    def fail(self, exc):
        self.response = None
        if self.waiter and not self.waiter.done():
            self.waiter.set_exception(exc)
        if self.transport and not self.transport.is_closing():
            self.transport.close()

    def request(self, data, response, on_first_byte):
        self.response = response
        self.on_first_byte = on_first_byte
        self.waiter = self.loop.create_future()
        self.transport.write(data)
        return self.waiter


# --------------------------------------------------------------------------- monitor

CLK_TCK = os.sysconf("SC_CLK_TCK")


def machine_cpu():
    """(busy, total) jiffies over all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    total = sum(v[:8])
    return total - idle, total


def read_proc(pid):
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime
    out = {"cpu": cpu}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])  # kB
            elif key == "Threads":
                out[key] = int(value)
    try:
        out["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        out["fds"] = -1
    return out


def read_threads(pid):
    """{tid: (name, cpu seconds)} for every thread of pid."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[tid] = (name, (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return out


class Monitor:
    def __init__(self, name, pid, interval):
        self.name, self.pid, self.interval = name, pid, interval
        self.samples = []
        self.start = None
        self.error = None
        self.threads_start = read_threads(pid)
        self.threads_end = {}

    def sample(self):
        try:
            s = read_proc(self.pid)
        except (OSError, ValueError, IndexError) as e:
            self.error = str(e)
            return None
        self.samples.append(s)
        return s

    async def run(self, stop):
        self.start = self.sample()
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.interval)
            except asyncio.TimeoutError:
                pass
            self.sample()
        self.threads_end = read_threads(self.pid)

    def summary(self, wall):
        if not self.samples or self.start is None:
            return {"name": self.name, "pid": self.pid, "error": self.error or "no samples"}
        first, last = self.start, self.samples[-1]
        cpu = last["cpu"] - first["cpu"]
        per_thread = []
        for tid, (tname, end) in self.threads_end.items():
            begin = self.threads_start.get(tid, (tname, 0.0))[1]
            per_thread.append((round(100.0 * (end - begin) / wall, 1) if wall > 0 else 0, tname, tid))
        per_thread.sort(reverse=True)
        return {"name": self.name, "pid": self.pid, "samples": len(self.samples),
                "cpu_s": round(cpu, 2), "cpu_pct": round(100.0 * cpu / wall, 1) if wall > 0 else 0,
                "rss_kb_start": first.get("VmRSS"),
                "rss_kb_peak": max(s.get("VmRSS", 0) for s in self.samples),
                "rss_kb_end": last.get("VmRSS"),
                "hwm_kb": last.get("VmHWM"),
                "threads_min": min(s.get("Threads", 0) for s in self.samples),
                "threads_max": max(s.get("Threads", 0) for s in self.samples),
                "fds_max": max(s.get("fds", 0) for s in self.samples),
                "busiest_threads": [{"name": n, "tid": t, "cpu_pct": c} for c, n, t in per_thread[:4]]}


# --------------------------------------------------------------------------- load

def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


class Stats:
    def __init__(self):
        self.latency, self.ttfb, self.ttft = [], [], []
        self.ok = 0
        self.errors = {}
        self.error_samples = []
        self.bytes = 0
        self.connects = 0
        self.sse_events = 0

    def error(self, kind, detail):
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.error_samples) < 5:
            self.error_samples.append("%s: %s" % (kind, str(detail)[:300]))


async def worker(args, host, port, path, next_index, stats, deadline, loop):
    client = None
    while True:
        i = next_index()
        if i is None or loop.time() >= deadline:
            break
        if client is None or client.closed or client.transport.is_closing():
            try:
                _, client = await asyncio.wait_for(
                    loop.create_connection(lambda: Client(loop), host, port), args.timeout)
                stats.connects += 1
            except (OSError, asyncio.TimeoutError) as e:
                stats.error("connect", e)
                client = None
                await asyncio.sleep(0.05)
                continue
        text, spec = user_text(args.scenario, i)
        expected = expected_reply(spec, text)
        body = fragments_body(args, text) if args.mode == "fragments" else openai_body(args, text)
        head = ["POST %s HTTP/1.1" % path, "Host: %s:%d" % (host, port),
                "Content-Type: application/json", "Content-Length: %d" % len(body),
                "X-Request-ID: bench-%d" % i]
        if args.key and args.mode == "openai":
            head.append("Authorization: Bearer " + args.key)
        if args.mode == "openai" and args.stream:
            head.append("Accept: text/event-stream")
        if not args.keepalive:
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode() + body

        marks = {}
        t0 = loop.time()

        def first_byte():
            marks["ttfb"] = loop.time() - t0

        def first_token():
            marks.setdefault("ttft", loop.time() - t0)

        if args.mode == "openai" and args.stream:
            consumer = SseCollector(first_token)
        else:
            consumer = BodyCollector(args.mode == "fragments", first_token)
        response = Response(consumer)
        try:
            remaining = max(0.001, min(args.timeout, deadline - loop.time()))
            await asyncio.wait_for(client.request(data, response, first_byte), remaining)
        except asyncio.TimeoutError:
            if loop.time() >= deadline - 0.01 and remaining < args.timeout:
                stats.error("cut_by_time_limit", "request %d was in flight at --max-seconds" % i)
            else:
                stats.error("timeout", "request %d took longer than %.1fs" % (i, args.timeout))
            client.transport.abort()
            client = None
            continue
        except Exception as e:  # noqa: BLE001
            stats.error("protocol", e)
            client = None
            continue
        finally:
            stats.bytes += response.bytes
        elapsed = loop.time() - t0
        if not response.keep_alive or not args.keepalive:
            client.transport.close()
            client = None
        problem = check(args, response, consumer, expected)
        if problem:
            stats.error(problem[0], "request %d: %s" % (i, problem[1]))
            continue
        stats.ok += 1
        stats.latency.append(elapsed)
        if "ttfb" in marks:
            stats.ttfb.append(marks["ttfb"])
        if args.stream or args.mode == "fragments":
            if "ttft" in marks:
                stats.ttft.append(marks["ttft"])
        if isinstance(consumer, SseCollector):
            stats.sse_events += consumer.events
    if client is not None and client.transport is not None:
        client.transport.close()


def check(args, response, consumer, expected):
    if response.status != 200:
        body = consumer.body() if isinstance(consumer, BodyCollector) else bytes(consumer.buf)
        return "status_%d" % response.status, body[:200]
    try:
        if args.mode == "fragments":
            got = json.loads(consumer.body())["code"]
        elif args.stream:
            if consumer.error is not None:
                return "stream_error", consumer.error
            if not consumer.done:
                return "incomplete", "no [DONE]"
            if consumer.finish_reason != "stop":
                return "finish_reason", consumer.finish_reason
            got = "".join(consumer.content)
        else:
            obj = json.loads(consumer.body())
            choice = obj["choices"][0]
            if choice.get("finish_reason") != "stop":
                return "finish_reason", choice.get("finish_reason")
            got = choice["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as e:
        return "bad_body", e
    if got != expected:
        at = next((k for k, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        return "wrong_content", "len %d vs %d, first difference at %d: %r vs %r" % (
            len(got), len(expected), at, got[at:at + 30], expected[at:at + 30])
    return None


async def amain(args):
    loop = asyncio.get_running_loop()
    url = urllib.parse.urlsplit(args.url)
    host, port = url.hostname, url.port or 80
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("loadgen: refusing a non-loopback target %r" % host)
    path = url.path or ("/api/chat" if args.mode == "fragments" else "/v1/chat/completions")
    # a quick check of the scenario so a typo fails at once, not 5,000 times
    expected_reply(*reversed(user_text(args.scenario, 0)))

    counter = iter(range(args.requests))

    def next_index():
        return next(counter, None)

    stats = Stats()
    stop = asyncio.Event()
    monitors = []
    for m in args.monitor or []:
        name, _, pid = m.partition(":")
        monitors.append(Monitor(name, int(pid), args.sample_interval))
    mon_tasks = [loop.create_task(m.run(stop)) for m in monitors]
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    m0 = machine_cpu()
    t0 = loop.time()
    deadline = t0 + args.max_seconds
    workers = [loop.create_task(worker(args, host, port, path, next_index, stats, deadline, loop))
               for _ in range(min(args.connections, args.requests))]
    await asyncio.gather(*workers)
    wall = loop.time() - t0
    stop.set()
    await asyncio.gather(*mon_tasks)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    m1 = machine_cpu()
    cores = os.cpu_count() or 1
    busy = (m1[0] - m0[0]) / max(1, m1[1] - m0[1]) * 100.0 * cores  # % of one core
    loadgen_cpu = ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime
    ours = 100.0 * loadgen_cpu / wall + sum(m.summary(wall).get("cpu_pct", 0) for m in monitors)
    done = stats.ok + sum(stats.errors.values())
    not_run = args.requests - done

    def ms(values, p):
        v = pct(values, p)
        return None if v is None else round(v * 1000, 2)

    result = {
        "name": args.name, "mode": args.mode, "url": args.url, "stream": args.stream,
        "scenario": args.scenario, "connections": args.connections, "requests": args.requests,
        "keepalive": args.keepalive,
        "ok": stats.ok, "errors": sum(stats.errors.values()) + max(0, not_run),
        "error_kinds": dict(stats.errors, **({"not_run_time_limit": not_run} if not_run > 0 else {})),
        "error_samples": stats.error_samples,
        "wall_s": round(wall, 3), "rps": round(stats.ok / wall, 1) if wall > 0 else 0,
        "bytes": stats.bytes, "mb_per_s": round(stats.bytes / wall / 1e6, 2) if wall > 0 else 0,
        "connects": stats.connects, "sse_events": stats.sse_events,
        "latency_ms": {"p50": ms(stats.latency, 50), "p90": ms(stats.latency, 90),
                       "p99": ms(stats.latency, 99), "max": ms(stats.latency, 100)},
        "ttfb_ms": {"p50": ms(stats.ttfb, 50), "p90": ms(stats.ttfb, 90), "p99": ms(stats.ttfb, 99)},
        "ttft_ms": ({"p50": ms(stats.ttft, 50), "p90": ms(stats.ttft, 90), "p99": ms(stats.ttft, 99)}
                    if stats.ttft else None),
        "loadgen_cpu_s": round(loadgen_cpu, 2),
        "machine_busy_pct": round(busy, 1), "cores": cores,
        "other_processes_pct": round(max(0.0, busy - ours), 1),
        "monitors": {m.name: m.summary(wall) for m in monitors},
    }
    return result


def human(r):
    lat, fb, ft = r["latency_ms"], r["ttfb_ms"], r["ttft_ms"]
    s = ("%-28s ok=%d err=%d  %.1f req/s  %.2f MB/s  lat p50/p90/p99 %s/%s/%s ms  ttfb p50 %s ms"
         % (r["name"], r["ok"], r["errors"], r["rps"], r["mb_per_s"], lat["p50"], lat["p90"],
            lat["p99"], fb["p50"]))
    if ft:
        s += "  ttft p50/p99 %s/%s ms" % (ft["p50"], ft["p99"])
    s += "  loadgen cpu %.1fs  machine busy %.0f%% (others %.0f%%)" % (
        r["loadgen_cpu_s"], r["machine_busy_pct"], r["other_processes_pct"])
    for name, m in r["monitors"].items():
        if "cpu_s" in m:
            top = m.get("busiest_threads") or []
            s += "  [%s cpu %.2fs (%.0f%%) rss %d MB thr %d-%d fds %d; busiest threads %s]" % (
                name, m["cpu_s"], m["cpu_pct"], m["rss_kb_peak"] // 1024, m["threads_min"],
                m["threads_max"], m["fds_max"],
                ", ".join("%s/%s %.0f%%" % (t["name"], t["tid"], t["cpu_pct"]) for t in top[:3]))
    if r["errors"]:
        s += "\n  errors: %s\n  %s" % (r["error_kinds"], "\n  ".join(r["error_samples"]))
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True, help="http://127.0.0.1:PORT[/path]")
    ap.add_argument("--mode", choices=("openai", "fragments"), default="openai")
    ap.add_argument("--connections", "-c", type=int, default=10)
    ap.add_argument("--requests", "-n", type=int, default=100)
    ap.add_argument("--stream", action="store_true", help="stream: true (OpenAI mode)")
    ap.add_argument("--scenario", default="ok", help="fake scenario; {i} = request index")
    ap.add_argument("--model", default="gpt-4o-mini")
    ap.add_argument("--key", default=os.environ.get("E2B_API_KEY", ""), help="gateway client key")
    ap.add_argument("--no-keepalive", dest="keepalive", action="store_false")
    ap.add_argument("--timeout", type=float, default=60.0, help="per-request limit, seconds")
    ap.add_argument("--max-seconds", type=float, default=120.0, help="limit for the whole run")
    ap.add_argument("--monitor", action="append", metavar="NAME:PID")
    ap.add_argument("--sample-interval", type=float, default=0.1)
    ap.add_argument("--name", default="run")
    ap.add_argument("--json", help="write the result object to this file")
    args = ap.parse_args()
    if args.connections < 1 or args.requests < 1:
        ap.error("--connections and --requests must be >= 1")
    try:
        result = asyncio.run(amain(args))
    except ValueError as e:
        print("loadgen: %s" % e, file=sys.stderr)
        sys.exit(2)
    print(human(result), file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    sys.exit(0 if result["errors"] == 0 else 1)


if __name__ == "__main__":
    main()
