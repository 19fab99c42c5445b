"""The soak's traffic mix (bench/soak.py): one bounded request of a chosen kind, checked.

Every kind knows what a correct answer looks like, so a wrong, partial or hung answer is an error,
never a success. Faults come from the fake upstream's scenario options (tests/fake_fragments/).
"""

import asyncio
import json
import random

from loadgen import BodyCollector, Client, Response, SseCollector, expected_reply, user_text

MODEL = "gpt-4o-mini"

# (kind, weight). Chat kinds set the fake's scenario; {i} makes each reply unique.
KINDS = [
    ("chat", 26),            # non-stream, small answer, exact content
    ("stream", 22),          # stream, 3,000-character answer, exact content
    ("client_abort", 10),    # stream, the client disconnects after the first content token
    ("upstream_status", 12), # 500 / 529 / 429 from upstream, stream or not
    ("upstream_cut", 12),    # mid-stream RST or FIN without the last chunk
    ("upstream_stall", 4),   # mid-stream silence until the gateway's idle timeout
    ("scrape", 14),          # /metrics, admin usage and request log, /health
]

STATUS_FAULTS = ["status=500", "status=529", "status=429"]
CUT_FAULTS = ["long=3000,tag=c{i},reset_after=5", "long=3000,tag=c{i},die_after=5"]


class Target:
    """Where and how to reach the gateway."""

    def __init__(self, host, port, admin_port, key, admin_token, metrics_token, timeout):
        self.host, self.port, self.admin_port = host, port, admin_port
        self.key, self.admin_token, self.metrics_token = key, admin_token, metrics_token
        self.timeout = timeout


def chat_request(target, text, stream, i):
    body = json.dumps({"model": MODEL, "stream": stream, "messages": [{"role": "user", "content": text}]},
                      separators=(",", ":")).encode()
    head = ["POST /v1/chat/completions HTTP/1.1", "Host: %s:%d" % (target.host, target.port),
            "Content-Type: application/json", "Content-Length: %d" % len(body), "X-Request-ID: soak-%d" % i,
            "Authorization: Bearer " + target.key]
    if stream:
        head.append("Accept: text/event-stream")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def get_request(target, path, port, token):
    head = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (target.host, port)]
    if token:
        head.append("Authorization: Bearer " + token)
    return ("\r\n".join(head) + "\r\n\r\n").encode()


class Connection:
    """One keep-alive client connection to a port, reopened when the server closes it."""

    def __init__(self, target, port):
        self.target, self.port = target, port
        self.client = None

    async def send(self, data, consumer):
        loop = asyncio.get_running_loop()
        if self.client is None or self.client.closed or self.client.transport.is_closing():
            _, self.client = await asyncio.wait_for(
                loop.create_connection(lambda: Client(loop), self.target.host, self.port), self.target.timeout)
        response = Response(consumer)
        waiter = self.client.request(data, response, None)
        # An aborted request's waiter fails later; retrieve it so asyncio does not warn.
        waiter.add_done_callback(lambda f: f.cancelled() or f.exception())
        return response, waiter

    def drop(self):
        if self.client is not None and self.client.transport is not None:
            self.client.transport.abort()
        self.client = None

    def after(self, response):
        if not response.keep_alive:
            self.drop()


def json_error(consumer):
    try:
        return "error" in json.loads(consumer.body())
    except ValueError:
        return False


async def finished(conn, data, consumer):
    """Sends and waits for the whole answer (bounded by the target's timeout)."""
    response, waiter = await conn.send(data, consumer)
    try:
        await asyncio.wait_for(asyncio.shield(waiter), conn.target.timeout)
    except BaseException:
        conn.drop()
        raise
    conn.after(response)
    return response


async def run_chat(conn, i, stream, scenario):
    text, spec = user_text(scenario, i)
    consumer = SseCollector(lambda: None) if stream else BodyCollector(False, lambda: None)
    response = await finished(conn, chat_request(conn.target, text, stream, i), consumer)
    expected = expected_reply(spec, text)
    if response.status != 200:
        return "status_%d" % response.status
    if stream:
        if consumer.error is not None or not consumer.done or consumer.finish_reason != "stop":
            return "stream_incomplete"
        got = "".join(consumer.content)
    else:
        choice = json.loads(consumer.body())["choices"][0]
        if choice.get("finish_reason") != "stop":
            return "finish_reason"
        got = choice["message"]["content"]
    return None if got == expected else "wrong_content"


async def run_client_abort(conn, i):
    text, _ = user_text("long=20000,tag=a{i},delay_ms=2", i)
    token = asyncio.Event()
    consumer = SseCollector(token.set)
    _, waiter = await conn.send(chat_request(conn.target, text, True, i), consumer)
    try:
        await asyncio.wait_for(token.wait(), conn.target.timeout)
    except asyncio.TimeoutError:
        return "abort_no_token"
    finally:
        conn.drop()  # the abort: RST mid-stream
    return None


async def run_upstream_fault(conn, i, scenario, stream):
    """A fault must end in a finished answer: an error status with an OpenAI error body, or a 200
    stream whose delivered text is an intact prefix, then the error event and [DONE]."""
    text, spec = user_text(scenario, i)
    consumer = SseCollector(lambda: None) if stream else BodyCollector(False, lambda: None)
    response = await finished(conn, chat_request(conn.target, text, stream, i), consumer)
    if response.status != 200:
        if stream and not response.headers.get("content-type", "").startswith("application/json"):
            return "fault_not_json"
        if not stream and not json_error(consumer):
            return "fault_not_json"
        return None
    if not stream:
        return "fault_status_200"
    if consumer.error is None or not consumer.done:
        return "fault_stream_unterminated"
    if "long" in spec and not expected_reply(spec, text).startswith("".join(consumer.content)):
        return "fault_prefix_broken"
    return None


async def run_scrape(target, conns, rng):
    choice = rng.randrange(4)
    if choice == 0:
        conn, data = conns["main"], get_request(target, "/metrics", target.port, target.metrics_token)
    elif choice == 1:
        conn, data = conns["admin"], get_request(target, "/admin/v1/usage?group_by=day,model", target.admin_port,
                                                 target.admin_token)
    elif choice == 2:
        conn, data = conns["admin"], get_request(target, "/admin/v1/requests?limit=50", target.admin_port,
                                                 target.admin_token)
    else:
        conn, data = conns["main"], get_request(target, "/health", target.port, None)
    response = await finished(conn, data, BodyCollector(False, lambda: None))
    return None if response.status == 200 else "scrape_status_%d" % response.status


async def one_request(target, conns, kind, i, rng):
    """Runs request i of `kind`; returns None when its answer was right, else the error's name."""
    conn = conns["main"]
    if kind == "chat":
        return await run_chat(conn, i, False, "reply=ok%20{i}" if rng.random() < 0.5 else "ok")
    if kind == "stream":
        return await run_chat(conn, i, True, "long=3000,tag=s{i}")
    if kind == "client_abort":
        return await run_client_abort(conn, i)
    if kind == "upstream_status":
        return await run_upstream_fault(conn, i, rng.choice(STATUS_FAULTS), rng.random() < 0.5)
    if kind == "upstream_cut":
        return await run_upstream_fault(conn, i, rng.choice(CUT_FAULTS), True)
    if kind == "upstream_stall":
        return await run_upstream_fault(conn, i, "long=3000,tag=t{i},stall_after=5", True)
    return await run_scrape(target, conns, rng)


def pick_kind(rng):
    return rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]


async def worker(target, seed, next_index, stop, tally, pause_ms):
    """Sends requests of random kinds until `stop` is set, with a short random pause between them."""
    rng = random.Random(seed)
    conns = {"main": Connection(target, target.port), "admin": Connection(target, target.admin_port)}
    while not stop.is_set():
        kind = pick_kind(rng)
        i = next_index()
        try:
            problem = await one_request(target, conns, kind, i, rng)
        except asyncio.TimeoutError:
            problem = "timeout"
        except Exception as e:  # noqa: BLE001 - any protocol or socket failure is this request's error
            problem = "protocol:%s" % type(e).__name__
            conns["main"].drop()
            conns["admin"].drop()
        tally(kind, problem, i)
        if pause_ms:
            await asyncio.sleep(rng.uniform(0, pause_ms) / 1000.0)
    for conn in conns.values():
        conn.drop()
