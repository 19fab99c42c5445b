#!/usr/bin/env python3
"""Fake E2B Fragments upstream (`POST /api/chat`) for the gateway's integration tests.

Python 3.11 standard library only (asyncio). Helpers live in fake_fragments_lib.py.

    python3 tests/fake_fragments/fake_fragments.py --host 127.0.0.1 --port 0 \\
        --fixtures tests/fixtures/fragments-wire --port-file /tmp/x.port

Binds a loopback address only (anything else is refused), writes the chosen port to
--port-file atomically (tmp file + rename) once listening, logs to stderr only on errors,
exits 0 on SIGTERM/SIGINT. HTTP/1.1 keep-alive, Content-Length or chunked request bodies,
`Expect: 100-continue`; idle keep-alive connections are closed after --keepalive-timeout
seconds (default 5, like Node; 0 = never). It never opens an outgoing connection.

Wire format (as captured from the real app; see tests/fixtures/fragments-wire/)
------------------------------------------------------------------------------
Every response: `X-Frame-Options: DENY`, `vary: RSC, Next-Router-State-Tree,
Next-Router-Prefetch`, [content-type], `Date`, `Connection: keep-alive`,
`Keep-Alive: timeout=5`, `Transfer-Encoding: chunked` (`Connection: close` and no
Keep-Alive header when the request asked for close). 200 uses
`content-type: text/plain; charset=utf-8`; text errors `text/plain;charset=UTF-8`;
empty errors have no content-type. The status line is only written when the first body
chunk is ready (after first_byte_ms), immediately followed by that chunk -- unless
`head_first` asks for the head at once, like a CDN or edge runtime in front of Fragments.

Request handling (`POST /api/chat`, or any path ending in /api/chat)
--------------------------------------------------------------------
Content-Type is ignored. Validation, in this order, like the real route:
  500 + empty body, no content-type: body not JSON / not an object, `config` missing or
      null, `model` missing or not an object, `model.providerId` not one of anthropic,
      openai, google, mistral, groq, togetherai, ollama, fireworks, vertex, xai, deepseek.
  500 `An unexpected error has occurred. Please try again later.`: `template` missing or
      null (or a null template entry), `messages` missing / not an array, a message that
      is not an object, role not system/user/assistant/tool, null content, system content
      not a string, tool content not an array, user/assistant content neither string nor
      array, a part that is not {type:text,text:str} / {type:image,image:str} /
      {type:file,...} (user) or text / tool-call (assistant), config temperature / topP /
      topK / presencePenalty / frequencyPenalty present but not a number, maxTokens not an
      integer >= 1, seed not an integer, maxRetries not an integer >= 0.
Any other method on /api/chat: 405, empty body.

Scenario selection: the `x-fake-scenario` request header if present, else the first line
starting with `scenario:` in the text of the LAST message with role user (string content,
or its text parts joined with no separator; image parts ignored), else `ok`. The spec is
comma separated: one base scenario plus modifiers, e.g. `scenario:long=4000,delay_ms=2`.
An unknown/invalid spec gives `400 Bad Request` with a `fake_fragments: ...` text body
(and a line on stderr).

Notation: U = text of the last user message ("" if none); R = the reply =
`"Echo: " + U`, or `urllib.parse.unquote(v)` when `reply=v` is given.
OBJ(code, c) = the Fragments object in schema key order
  {"commentary":c,"template":"text","title":"Chat reply","description":"A plain text chat
  reply.","additional_dependencies":[],"has_additional_dependencies":false,
  "install_dependencies_command":"","port":null,"file_path":"pages/ChatWithUsers.txt",
  "code":code}
with c = "I will answer the user in plain text inside the code field." unless stated, and
J(x) = json.dumps(x, ensure_ascii=False, separators=(",", ":")) (ensure_ascii=True with
the `ascii` modifier or in `tricky`).

Chunking ("nasty"): the body bytes are cut into pieces of 1..7 bytes (long: 1..64) by
random.Random(zlib.crc32(<raw request body bytes>) ^ seed) -- deterministic per request.
In addition the first 3 occurrences (later ones with p=0.3) of each of these are always
cut: right after the backslash of an escape, after `\\u` and inside the hex of a
`\\uXXXX`, between the two halves of a surrogate pair, after the first byte of a raw UTF-8
multi-byte character, and in the middle (after 2 bytes) of a 4-byte character. Each piece
is one HTTP chunk; `delay_ms` (default 1; long: 0) between chunks and before the final
`0\\r\\n\\r\\n` (one write() per chunk; with delay_ms=0 up to 8 chunk frames share a write).

Base scenarios (200 body unless noted):
  ok               J(OBJ(R)), nasty chunks.
  reply=<pct>      modifier: R = unquote(<pct>) (use %2C for commas), any body scenario.
  tricky           R = 'He said "hi"\\\\ path C:\\\\tmp\\ttab\\nnewline 中文 😀🎉 \\u00e9' (Python
                   literal: quotes, a backslash, a tab, a newline, CJK, emoji, é), body
                   serialized with ensure_ascii=True (\\u4e2d..., \\ud83d\\ude00 ...); the
                   forced cuts guarantee a split pair and an escape split after `\\`.
  long=<N>         R = "".join("%s line %04d\\n" % (T, i) for i in range(0, ...))[:N]
                   (N characters = N bytes for an ASCII T); T = the `tag=<t>` option if
                   given, else the request's `userID` if a non-empty string, else "anon".
                   Body J(OBJ(R)), chunks 1..64 bytes, no delay unless delay_ms.
  prose            body = R, as ONE chunk after the head (head and text sent together,
                   like llm-ollama-plaintext). Not JSON.
  badjson          body = 'Sorry, I cannot produce JSON right now. {"commentary": "oops",
                   "code": "unterminated' as one chunk (llm-ollama-badjson).
  fence            body = "```json\\n" + J(OBJ(R)) + "\\n```" as one chunk (codefence).
  trailing         J(OBJ(R)) streamed nasty without its last 2 chars, then one chunk
                   '"}\\n\\nHope this helps!' (llm-ollama-trailing).
  pretty           json.dumps(OBJ(R), ensure_ascii=False, indent=2), nasty chunks.
  emptycode        J(OBJ("", "Only commentary here.")), nasty chunks.
  schema_mismatch  '{"commentary":"missing fields","code":42}', nasty chunks.
  truncated        J(OBJ(R)) cut right after '"has_additional_dependencies":fals', nasty
                   chunks, then a clean `0\\r\\n\\r\\n`.
  maxtokens_cut    J(OBJ(R)) up to and including '"code":"', then
                   json.dumps(R[:len(R)//2], ensure_ascii=False)[1:-1]; clean end.
  status=<code>    error response exactly as in the err-* captures, one chunk + end:
                   429 "The provider is currently unavailable due to request limit. Try
                       using your own API key." (without "Try ..." when config.apiKey is
                       set); with the `ratelimit` flag: x-ratelimit-limit: 10,
                       x-ratelimit-remaining: 0, x-ratelimit-reset: <epoch ms of next
                       00:00 UTC, or now + reset_in_ms=<N>> and "You have reached your
                       request limit for the day."
                   401/403 "Access denied. Please make sure your API key is valid."
                   503, 529 ("529 unknown") "The provider is currently unavailable.
                       Please try again later."
                   500 "An unexpected error has occurred. Please try again later."
                   500-empty / 405 (or <code>-empty): no content-type, empty body.
                   other: "Fake Fragments error <code>." (reason phrase from
                   http.HTTPStatus, else "unknown"). `text=<pct>` overrides the body.
  replay=<name>    the exact bytes of <fixtures>/<name>.raw (Date value replaced by now),
                   written in the capture's TCP read sizes at the `## TCP reads` times
                   divided by `speed=<f>` (default 10; <= 0 means no waiting). A capture
                   without the `0\\r\\n\\r\\n` end: name contains "stall" -> keep the
                   connection open silently until the client leaves, else close (FIN).
  garbage          write b"\\x16\\x03\\x01GARBAGE\\xff\\xfe\\x00 not-http !!\\r\\n\\xc3(\\r\\n"
                   (not HTTP), then close.
Like a real LLM, every body that stands for model output (all base scenarios but status,
replay and garbage) is cut where the model would stop, the JSON envelope included: before the
first occurrence of any `config.stopSequences` entry, and after `config.maxTokens` tokens of 4
UTF-8 bytes each (never inside a character). A cut body ends cleanly.
Modifiers:
  delay_ms=<N>     ms between chunks.   first_byte_ms=<N>  wait before the status line.
  head_first       send the head at once, then wait first_byte_ms before the first body
                   byte (like a CDN or edge runtime that flushes the head early). Streamed
                   bodies and status=<code> only.
  stall_after=<K>  head + first K chunks, then silence until the client leaves
                   (K=0: the head alone, which real Fragments never does).
  die_after=<K>    head + first K chunks, then FIN without the terminating chunk.
  reset_after=<K>  same but RST (SO_LINGER 0) after rst_delay_ms (default 20) so that the
                   client has read the K chunks first.
  ascii            serialize with ensure_ascii=True.   seed=<N>  xor'ed into the seed.
  chunk=<a>-<b>    piece sizes a..b bytes (forced cuts still apply).
  tag=<t>          token for long.      ratelimit / text=<pct>  for status.

Control endpoints
-----------------
GET /_stats -> {"requests","completed","cancelled","aborted","active","max_active",
  "last_request","last_headers","last_scenario"}. requests: /api/chat requests received (any method).
  completed: responses fully written (terminating chunk sent; includes error responses).
  cancelled: the client closed/reset the connection before the fake finished writing
  (detected immediately from EOF/RST, also while sleeping or stalling; a stalled stream
  always ends this way). aborted: the fake cut the connection on purpose (die_after,
  reset_after, garbage, replay of an unterminated non-stall capture). active: streams in
  progress. max_active: the peak number of /api/chat requests open at once since the last
  reset (each counted from its request start to its response end). last_request: last
  /api/chat JSON body (null if not JSON); last_headers:
  its request headers, names lowercased. POST /_reset zeroes the counters and clears the
  last_* fields.
"""

import argparse
import asyncio
import email.utils
import ipaddress
import json
import os
import signal
import socket
import struct
import sys
import traceback

sys.dont_write_bytecode = True  # keep tests/fake_fragments free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_fragments_lib as lib  # noqa: E402

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024


class ClientGone(Exception):
    pass


class BadRequest(Exception):
    pass


def log(msg):
    sys.stderr.write("fake_fragments: %s\n" % msg)
    sys.stderr.flush()


class State:
    def __init__(self, fixtures, keepalive):
        self.fixtures, self.keepalive = fixtures, keepalive
        self.conns = set()
        self.open_chats = 0  # /api/chat requests between request start and response end
        self.reset()

    def reset(self):
        self.requests = self.completed = self.cancelled = self.aborted = 0
        self.max_active = self.open_chats
        self.last_request = self.last_scenario = None
        self.last_headers = {}

    def stats(self, active):
        return {"requests": self.requests, "completed": self.completed,
                "cancelled": self.cancelled, "aborted": self.aborted, "active": active,
                "max_active": self.max_active,
                "last_request": self.last_request, "last_headers": self.last_headers,
                "last_scenario": self.last_scenario}


def _resolve(fut):
    if not fut.done():
        fut.set_result(None)


class Conn(asyncio.Protocol):
    """One client connection: buffers input, notices EOF/RST at once, runs requests."""

    def __init__(self, st):
        self.st = st
        self.loop = asyncio.get_running_loop()
        self.buf = bytearray()
        self.gone = False
        self.paused = False
        self.waiter = None
        self.streaming = False
        self.transport = self.task = None

    # -- protocol callbacks
    def connection_made(self, transport):
        self.transport = transport
        self.st.conns.add(self)
        self.task = self.loop.create_task(self.run())

    def data_received(self, data):
        self.buf += data
        self._wake()

    def eof_received(self):
        self.gone = True
        self._wake()
        return False

    def connection_lost(self, exc):
        self.gone = True
        self.st.conns.discard(self)
        self._wake()

    def pause_writing(self):
        self.paused = True

    def resume_writing(self):
        self.paused = False
        self._wake()

    # -- waiting primitives (one waiter at a time; conditions re-checked in loops)
    def _wake(self):
        if self.waiter is not None:
            _resolve(self.waiter)

    async def _wait(self, timeout=None):
        fut = self.waiter = self.loop.create_future()
        h = self.loop.call_later(timeout, _resolve, fut) if timeout is not None else None
        try:
            await fut
        finally:
            self.waiter = None
            if h is not None:
                h.cancel()

    async def sleep(self, secs):
        if secs <= 0:
            await asyncio.sleep(0)
        else:
            deadline = self.loop.time() + secs
            while not self.gone:
                rem = deadline - self.loop.time()
                if rem <= 0:
                    break
                await self._wait(rem)
        if self.gone:
            raise ClientGone()

    async def wait_gone(self):
        while not self.gone:
            await self._wait()
        raise ClientGone()

    async def write(self, data):
        if self.gone or self.transport.is_closing():
            raise ClientGone()
        self.transport.write(data)
        while self.paused and not self.gone:
            await self._wait()
        if self.gone:
            raise ClientGone()

    async def flush(self, limit=10.0):
        end = self.loop.time() + limit
        while self.transport.get_write_buffer_size() and self.loop.time() < end:
            await self.sleep(0.001)

    async def read_until(self, sep, timeout=None):
        deadline = None if not timeout else self.loop.time() + timeout
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out = bytes(self.buf[:i + len(sep)])
                del self.buf[:i + len(sep)]
                return out
            if len(self.buf) > MAX_HEAD:
                raise BadRequest("head too large")
            if self.gone:
                return None
            rem = None if deadline is None else deadline - self.loop.time()
            if rem is not None and rem <= 0:
                return None
            await self._wait(rem)

    async def read_exact(self, n):
        while len(self.buf) < n:
            if self.gone:
                raise ClientGone()
            await self._wait()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    # -- HTTP
    async def run(self):
        try:
            while True:
                head = await self.read_until(b"\r\n\r\n", self.st.keepalive)
                if head is None:
                    break
                if not await self.one_request(head):
                    break
        except (ClientGone, ConnectionError):
            pass
        except BadRequest as e:
            log("bad request: %s" % e)
            try:
                self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                     b"Connection: close\r\n\r\n")
            except Exception:
                pass
        except asyncio.CancelledError:
            pass
        except Exception:
            log("internal error:\n" + traceback.format_exc())
        finally:
            if not self.transport.is_closing():
                self.transport.close()

    async def one_request(self, head):
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest("bad request line %r" % lines[0][:80])
        method, target, version = parts
        headers = []
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise BadRequest("bad header line %r" % line[:80])
            headers.append((name.lower(), value.strip()))
        hmap = {}
        for k, v in headers:
            hmap[k] = hmap[k] + ", " + v if k in hmap else v
        conn_tokens = [t.strip().lower() for t in hmap.get("connection", "").split(",")]
        keep = ("close" not in conn_tokens) and (version == "HTTP/1.1" or "keep-alive" in conn_tokens)
        te = hmap.get("transfer-encoding", "").lower()
        cl = hmap.get("content-length")
        if (te or cl) and hmap.get("expect", "").lower() == "100-continue":
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in te:
            body = await self.read_chunked()
        elif cl is not None:
            if not cl.isdigit() or int(cl) > MAX_BODY:
                raise BadRequest("bad content-length %r" % cl)
            body = await self.read_exact(int(cl))
        else:
            body = b""
        self.t_req = self.loop.time()
        path = target.split("?", 1)[0]
        if "://" in path:
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        if path == "/_stats" or path == "/_reset":
            if path == "/_reset" and method == "POST":
                self.st.reset()
            obj = self.st.stats(sum(1 for c in self.st.conns if c.streaming))
            await self.simple(200, "OK", json.dumps(obj, ensure_ascii=False).encode(),
                              "application/json", keep)
            return keep
        if path == "/api/chat" or path.endswith("/api/chat"):
            return await self.chat(method, hmap, body, keep)
        await self.simple(404, "Not Found", b"fake_fragments: no route " + path.encode(),
                          "text/plain; charset=utf-8", keep)
        return keep

    async def read_chunked(self):
        body = bytearray()
        while True:
            line = await self.read_until(b"\r\n")
            if line is None:
                raise ClientGone()
            try:
                n = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequest("bad chunk size line")
            if n == 0:
                while True:  # trailers
                    t = await self.read_until(b"\r\n")
                    if t is None:
                        raise ClientGone()
                    if t == b"\r\n":
                        return bytes(body)
            body += await self.read_exact(n)
            await self.read_exact(2)
            if len(body) > MAX_BODY:
                raise BadRequest("body too large")

    async def simple(self, code, reason, body, ctype, keep):
        await self.write(("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                          "Date: %s\r\nConnection: %s\r\n\r\n"
                          % (code, reason, ctype, len(body), email.utils.formatdate(usegmt=True),
                             "keep-alive" if keep else "close")).encode() + body)

    def head(self, status, reason, ctype, keep, extra=()):
        h = ["HTTP/1.1 %d %s" % (status, reason), "X-Frame-Options: DENY",
             "vary: RSC, Next-Router-State-Tree, Next-Router-Prefetch"]
        if ctype:
            h.append("content-type: " + ctype)
        h += ["%s: %s" % kv for kv in extra]
        h.append("Date: " + email.utils.formatdate(usegmt=True))
        if keep:
            h += ["Connection: keep-alive", "Keep-Alive: timeout=%d" % (self.st.keepalive or 5)]
        else:
            h.append("Connection: close")
        h.append("Transfer-Encoding: chunked")
        return ("\r\n".join(h) + "\r\n\r\n").encode("latin-1")

    @staticmethod
    def frame(data):
        return b"%x\r\n%s\r\n" % (len(data), data) if data else b""

    async def chat(self, method, hmap, body, keep):
        st = self.st
        st.requests += 1
        st.last_headers = hmap
        st.last_scenario = None
        try:
            st.last_request = lib.parse_json_body(body) if method == "POST" else None
        except ValueError:
            st.last_request = None
        self.streaming = True
        st.open_chats += 1
        st.max_active = max(st.max_active, st.open_chats)
        try:
            outcome, keep = await self.chat_response(method, hmap, body, keep)
        except ClientGone:
            st.cancelled += 1
            raise
        finally:
            self.streaming = False
            st.open_chats -= 1
        if outcome == "aborted":
            st.aborted += 1
        else:
            st.completed += 1
        return keep

    async def error(self, status, reason, ctype, text, keep, extra=(), think=0.0):
        await self.write(self.head(status, reason, ctype, keep, extra))
        if think > 0:
            await self.sleep(think)
        await self.write(self.frame(text) + b"0\r\n\r\n")
        return "completed", keep

    async def chat_response(self, method, hmap, body, keep):
        if method != "POST":
            return await self.error(405, "Method Not Allowed", None, b"", keep)
        try:
            req = lib.parse_json_body(body)
            lib.validate(req)
        except ValueError:
            return await self.error(500, "Internal Server Error", None, b"", keep)
        except lib.Invalid as e:
            text = lib.UNEXPECTED.encode() if e.kind == "text" else b""
            ctype = "text/plain;charset=UTF-8" if text else None
            return await self.error(500, "Internal Server Error", ctype, text, keep)
        spec, _src = lib.scenario_spec(hmap.get("x-fake-scenario"), req)
        self.st.last_scenario = spec
        try:
            plan = lib.build_plan(req, body, spec, self.st.fixtures)
        except lib.BadScenario as e:
            log("bad scenario %r: %s" % (spec, e))
            return await self.error(400, "Bad Request", "text/plain;charset=UTF-8",
                                    ("fake_fragments: bad scenario %r: %s" % (spec, e)).encode(),
                                    keep)
        # head_first: the head goes out at once and first_byte_ms is waited after it instead.
        think = plan.first_byte if plan.head_first else 0.0
        if plan.first_byte > 0 and not plan.head_first:
            await self.sleep(plan.first_byte)
        if plan.kind == "error":
            return await self.error(plan.status, plan.reason, plan.ctype, plan.body, keep,
                                    plan.extra_headers, think)
        if plan.kind == "garbage":
            await self.write(plan.body)
            await self.flush()
            self.transport.close()
            return "aborted", False
        if plan.kind == "replay":
            await self.replay(plan)
            if plan.end == "clean":
                return "completed", keep
        else:
            await self.write(self.head(200, "OK", plan.ctype, keep))
            if think > 0:
                await self.sleep(think)
            if plan.single:
                await self.write(self.frame(plan.chunks[0]) + b"0\r\n\r\n")
                return "completed", keep
            if plan.delay > 0:
                for i, c in enumerate(plan.chunks):
                    if i:
                        await self.sleep(plan.delay)
                    await self.write(self.frame(c))
            else:  # no delay: up to 8 chunk frames per write(), then yield
                for i in range(0, len(plan.chunks), 8):
                    await self.write(b"".join(map(self.frame, plan.chunks[i:i + 8])))
                    await self.sleep(0)
            if plan.end == "clean":
                await self.sleep(plan.delay)
                await self.write(b"0\r\n\r\n")
                return "completed", keep
        return await self.finish_broken(plan)

    async def finish_broken(self, plan):
        if plan.end == "stall":
            await self.wait_gone()  # raises ClientGone -> counted as cancelled
        await self.flush()
        if plan.end == "reset":
            await self.sleep(plan.rst_delay)
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()
        else:
            self.transport.close()
        return "aborted", False

    async def replay(self, plan):
        raw = plan.raw
        reads = [n for _, n in plan.reads]
        he = raw.find(b"\r\n\r\n")
        ds = raw.find(b"\r\nDate: ", 0, he)
        if ds >= 0:
            ds += len(b"\r\nDate: ")
            de = raw.find(b"\r\n", ds)
            now = email.utils.formatdate(usegmt=True).encode()
            raw = raw[:ds] + now + raw[de:]
            delta, pos = len(now) - (de - ds), 0
            for i, n in enumerate(reads):  # grow/shrink the read holding the Date line
                if pos + n > ds:
                    reads[i] += delta
                    break
                pos += n
        pos = 0
        for (ms, _), n in zip(plan.reads, reads):
            if plan.speed > 0:
                await self.sleep(self.t_req + ms / 1000.0 / plan.speed - self.loop.time())
            await self.write(raw[pos:pos + n])
            pos += n


async def amain(args):
    st = State(os.path.abspath(args.fixtures), args.keepalive_timeout)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await loop.create_server(lambda: Conn(st), args.host, args.port,
                                      backlog=2048, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    await stop.wait()
    server.close()
    for c in list(st.conns):
        c.transport.abort()
        if c.task is not None:
            c.task.cancel()
    await asyncio.sleep(0.01)


def main():
    ap = argparse.ArgumentParser(description="Fake E2B Fragments /api/chat server")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fixtures", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "fragments-wire"))
    ap.add_argument("--port-file")
    ap.add_argument("--keepalive-timeout", type=float, default=5.0,
                    help="close idle keep-alive connections after N s (0 = never)")
    args = ap.parse_args()
    try:
        host_ok = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        host_ok = False
    if not host_ok:
        log("refusing to bind non-loopback host %r" % args.host)
        sys.exit(2)
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ImportError, ValueError, OSError):
        pass
    try:
        asyncio.run(amain(args))
    except KeyboardInterrupt:
        pass
    except OSError as e:
        log("cannot listen on %s:%d: %s" % (args.host, args.port, e))
        sys.exit(1)


if __name__ == "__main__":
    main()
