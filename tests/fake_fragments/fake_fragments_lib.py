"""Request validation, scenario parsing, body generation and chunking for
fake_fragments.py (the scenario reference is in that module's docstring).

Standard library only. Nothing here does I/O except reading capture files.
"""

import json
import os
import random
import re
import urllib.parse
import zlib

PROVIDERS = frozenset({
    "anthropic", "openai", "google", "mistral", "groq", "togetherai",
    "ollama", "fireworks", "vertex", "xai", "deepseek",
})
COMMENTARY = "I will answer the user in plain text inside the code field."
EMPTYCODE_COMMENTARY = "Only commentary here."
TRICKY_REPLY = 'He said "hi"\\ path C:\\tmp\ttab\nnewline 中文 😀🎉 \u00e9'
BADJSON_BODY = ('Sorry, I cannot produce JSON right now. '
                '{"commentary": "oops", "code": "unterminated')
SCHEMA_MISMATCH_BODY = '{"commentary":"missing fields","code":42}'
TRAILING_PROSE = "\n\nHope this helps!"
UNEXPECTED = "An unexpected error has occurred. Please try again later."
ERROR_TEXT = {
    429: "The provider is currently unavailable due to request limit. "
         "Try using your own API key.",
    401: "Access denied. Please make sure your API key is valid.",
    403: "Access denied. Please make sure your API key is valid.",
    503: "The provider is currently unavailable. Please try again later.",
    529: "The provider is currently unavailable. Please try again later.",
    500: UNEXPECTED,
}
OWN_LIMIT_TEXT = "You have reached your request limit for the day."

BASES = ("ok", "tricky", "long", "replay", "status", "garbage", "prose", "badjson",
         "fence", "trailing", "pretty", "emptycode", "schema_mismatch", "truncated",
         "maxtokens_cut")
MODIFIERS = ("reply", "delay_ms", "first_byte_ms", "head_first", "stall_after", "die_after",
             "reset_after", "speed", "ratelimit", "seed", "chunk", "ascii", "tag", "text",
             "rst_delay_ms", "reset_in_ms")


class Invalid(Exception):
    """Request rejected like Fragments does. kind: 'empty' (500, no body) or
    'text' (500 with the 'unexpected error' sentence)."""

    def __init__(self, kind, why):
        super().__init__(why)
        self.kind = kind


class BadScenario(ValueError):
    pass


# --------------------------------------------------------------------------- validation

def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v):
    return _is_num(v) and float(v).is_integer()


def _reject_constant(name):
    raise ValueError("not JSON: " + name)


def parse_json_body(body):
    """Decode like WHATWG Body.json(): UTF-8 (lossy), BOM stripped, strict JSON."""
    text = body.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return json.loads(text, parse_constant=_reject_constant)


def _check_parts(role, parts, allowed):
    for p in parts:
        if not isinstance(p, dict) or p.get("type") not in allowed:
            raise Invalid("text", "%s part type not allowed" % role)
        t = p["type"]
        if t == "text" and not isinstance(p.get("text"), str):
            raise Invalid("text", "text part without string text")
        if t == "image" and not isinstance(p.get("image"), str):
            raise Invalid("text", "image part without image")
        if t == "file" and not isinstance(p.get("mimeType"), str):
            raise Invalid("text", "file part without mimeType")
        if t in ("tool-call", "tool-result") and not (
                isinstance(p.get("toolCallId"), str) and isinstance(p.get("toolName"), str)):
            raise Invalid("text", "bad tool part")


def validate(req):
    """Raise Invalid the way the real route fails; return None when accepted."""
    if not isinstance(req, dict):
        raise Invalid("empty", "body is not a JSON object")
    if req.get("config") is None:  # config.apiKey of undefined throws outside the try
        raise Invalid("empty", "missing config")
    model = req.get("model")
    if not isinstance(model, dict) or model.get("providerId") not in PROVIDERS:
        raise Invalid("empty", "missing model or unsupported providerId")
    config = req["config"] if isinstance(req["config"], dict) else {}
    template = req.get("template")
    if template is None:
        raise Invalid("text", "missing template")
    if isinstance(template, dict) and any(v is None for v in template.values()):
        raise Invalid("text", "template entry is null")
    messages = req.get("messages")
    if not isinstance(messages, list):
        raise Invalid("text", "missing messages")
    for m in messages:
        if not isinstance(m, dict):
            raise Invalid("text", "message is not an object")
        role, content = m.get("role"), m.get("content")
        if role not in ("system", "user", "assistant", "tool"):
            raise Invalid("text", "bad role %r" % (role,))
        if content is None:
            raise Invalid("text", "null content")
        if role == "system":
            if not isinstance(content, str):
                raise Invalid("text", "system content must be a string")
        elif role == "tool":
            if not isinstance(content, list):
                raise Invalid("text", "tool content must be an array")
            _check_parts(role, content, ("tool-result",))
        elif not isinstance(content, str):
            if not isinstance(content, list):
                raise Invalid("text", "content must be a string or an array")
            allowed = ("text", "image", "file") if role == "user" else ("text", "tool-call")
            _check_parts(role, content, allowed)
    for key in ("temperature", "topP", "topK", "presencePenalty", "frequencyPenalty"):
        if config.get(key) is not None and not _is_num(config[key]):
            raise Invalid("text", "%s is not a number" % key)
    mt = config.get("maxTokens")
    if mt is not None and not (_is_int(mt) and mt >= 1):
        raise Invalid("text", "maxTokens must be an integer >= 1")
    for key in ("seed", "maxRetries"):
        v = config.get(key)
        if v is not None and not (_is_int(v) and (key == "seed" or v >= 0)):
            raise Invalid("text", "%s must be an integer" % key)


# --------------------------------------------------------------------------- scenarios

def message_text(content):
    """Text of a message: a string, or its text parts joined with no separator."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and p.get("type") == "text"
                       and isinstance(p.get("text"), str))
    return ""


def last_user_text(req):
    for m in reversed(req.get("messages") or []):
        if isinstance(m, dict) and m.get("role") == "user":
            return message_text(m.get("content"))
    return ""


def parse_options(spec):
    opts = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        opts[key.strip().lower()] = value.strip() if sep else True
    return opts


def scenario_spec(header_value, req):
    """(spec string, source) chosen from the header, else the last user message."""
    if header_value is not None and header_value.strip():
        return header_value.strip(), "header"
    for line in last_user_text(req).splitlines():
        if line.startswith("scenario:"):
            return line[len("scenario:"):].strip(), "message"
    return "ok", "default"


def _int_opt(opts, key, default, lo=0):
    v = opts.get(key)
    if v is None:
        return default
    try:
        n = int(v)
    except (TypeError, ValueError):
        raise BadScenario("%s needs an integer, got %r" % (key, v))
    if n < lo:
        raise BadScenario("%s must be >= %d" % (key, lo))
    return n


def fragment(code, commentary=COMMENTARY):
    return {"commentary": commentary, "template": "text", "title": "Chat reply",
            "description": "A plain text chat reply.", "additional_dependencies": [],
            "has_additional_dependencies": False, "install_dependencies_command": "",
            "port": None, "file_path": "pages/ChatWithUsers.txt", "code": code}


def compact(obj, ascii_only=False):
    return json.dumps(obj, ensure_ascii=ascii_only, separators=(",", ":"))


def long_reply(token, n):
    """The `long=N` reply: lines '<token> line %04d\\n' for i = 0, 1, ... cut to N chars."""
    per = len(token) + 11
    lines = n // per + 2
    return "".join("%s line %04d\n" % (token, i) for i in range(lines))[:n]


def forced_cuts(b, rng):
    """Cut offsets that split JSON escapes (after the backslash, inside \\uXXXX,
    between surrogate halves) and raw UTF-8 characters. The first 3 of each kind
    are always cut, later ones with probability 0.3."""
    cuts, seen = set(), {}

    def want(kind):
        seen[kind] = seen.get(kind, 0) + 1
        return seen[kind] <= 3 or rng.random() < 0.3

    i, n = 0, len(b)
    while i < n:
        c = b[i]
        if c == 0x5C and i + 1 < n:
            if b[i + 1] == 0x75 and i + 6 <= n:  # \uXXXX
                if want("uesc"):
                    cuts.update((i + 1, i + 4))
                try:
                    hi = int(b[i + 2:i + 6], 16)
                except ValueError:
                    hi = 0
                if 0xD800 <= hi < 0xDC00 and b[i + 6:i + 8] == b"\\u" and want("pair"):
                    cuts.add(i + 6)
                i += 6
            else:
                if want("esc"):
                    cuts.add(i + 1)
                i += 2
            continue
        if c >= 0xC0:
            length = 2 if c < 0xE0 else 3 if c < 0xF0 else 4
            if want("mb"):
                cuts.add(i + 1)
            if length == 4 and want("mb4"):
                cuts.add(i + 2)
            i += length
            continue
        i += 1
    return cuts


def split_body(body, rng, lo, hi):
    """Split bytes into pieces of lo..hi bytes (forced cuts only make pieces shorter)."""
    cuts = forced_cuts(body, rng)
    pos = 0
    while True:
        pos += rng.randint(lo, hi)
        if pos >= len(body):
            break
        cuts.add(pos)
    pieces, prev = [], 0
    for c in sorted(x for x in cuts if 0 < x < len(body)) + [len(body)]:
        pieces.append(body[prev:c])
        prev = c
    return [p for p in pieces if p]


# --------------------------------------------------------------------------- replay

_CAPTURE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_READ_LINE = re.compile(r"^\[\s*([0-9.]+)\]\s+(\d+):", re.M)


def load_capture(fixtures, name):
    """(raw bytes, [(ms, nbytes), ...]) of <fixtures>/<name>.raw/.txt."""
    if not _CAPTURE_NAME.match(name) or ".." in name:
        raise BadScenario("bad capture name %r" % name)
    try:
        with open(os.path.join(fixtures, name + ".raw"), "rb") as f:
            raw = f.read()
        with open(os.path.join(fixtures, name + ".txt"), encoding="utf-8") as f:
            txt = f.read()
    except OSError as e:
        raise BadScenario("capture %r: %s" % (name, e))
    section = txt.split("## TCP reads", 1)[1].split("\n## ", 1)[0] if "## TCP reads" in txt else ""
    reads = [(float(m.group(1)), int(m.group(2))) for m in _READ_LINE.finditer(section)]
    if not reads or sum(n for _, n in reads) != len(raw):
        reads = [(0.0, len(raw))]
    return raw, reads


# --------------------------------------------------------------------------- plan

BYTES_PER_TOKEN = 4  # the fake model's token size, in UTF-8 bytes of its raw output


def as_the_model_ends_it(text, config):
    """Cuts the model's raw output (the JSON envelope included) where a real LLM would stop:
    before the first occurrence of any `config.stopSequences` entry, and after `config.maxTokens`
    tokens of BYTES_PER_TOKEN bytes each (never inside a character)."""
    stops = config.get("stopSequences") if isinstance(config, dict) else None
    if isinstance(stops, list):
        found = [text.find(s) for s in stops if isinstance(s, str) and s]
        found = [i for i in found if i >= 0]
        if found:
            text = text[:min(found)]
    budget = config.get("maxTokens") if isinstance(config, dict) else None
    if isinstance(budget, int) and not isinstance(budget, bool):
        raw = text.encode()
        if len(raw) > budget * BYTES_PER_TOKEN:
            text = raw[:budget * BYTES_PER_TOKEN].decode("utf-8", "ignore")
    return text


class Plan:
    """What to send. kind: 'stream' | 'error' | 'replay' | 'garbage'."""

    def __init__(self, kind, **kw):
        self.kind = kind
        self.status, self.reason = 200, "OK"
        self.ctype = "text/plain; charset=utf-8"
        self.extra_headers = []     # [(name, value)] between content-type and Date
        self.body = b""             # error body (one chunk)
        self.chunks = []            # stream pieces (one HTTP chunk each)
        self.single = False         # head, then chunk + terminator in one write
        self.end = "clean"          # clean | stall | die | reset
        self.delay = 0.0            # seconds between chunks
        self.first_byte = 0.0       # seconds before the head (head_first: before the body)
        self.head_first = False     # head at once, first_byte waited between head and body
        self.rst_delay = 0.02
        self.raw, self.reads, self.speed = b"", [], 10.0
        self.__dict__.update(kw)


def status_plan(code, text, req, opts):
    from http import HTTPStatus
    try:
        reason = HTTPStatus(code).phrase
    except ValueError:
        reason = "unknown"
    if code == 529:
        reason = "unknown"
    p = Plan("error", status=code, reason=reason, ctype="text/plain;charset=UTF-8")
    cfg = req.get("config") if isinstance(req.get("config"), dict) else {}
    if text == "empty" or code == 405:
        p.ctype, p.body = None, b""
    elif opts.get("text") is not None:
        p.body = urllib.parse.unquote(opts["text"]).encode()
    elif code == 429 and opts.get("ratelimit"):
        import time
        reset = (int(time.time()) // 86400 + 1) * 86400 * 1000
        if opts.get("reset_in_ms") is not None:
            reset = int(time.time() * 1000) + _int_opt(opts, "reset_in_ms", 0)
        p.extra_headers = [("x-ratelimit-limit", "10"), ("x-ratelimit-remaining", "0"),
                           ("x-ratelimit-reset", str(reset))]
        p.body = OWN_LIMIT_TEXT.encode()
    elif code == 429 and cfg.get("apiKey"):
        p.body = b"The provider is currently unavailable due to request limit."
    elif code in ERROR_TEXT:
        p.body = ERROR_TEXT[code].encode()
    else:
        p.body = ("Fake Fragments error %d." % code).encode()
    return p


def build_plan(req, raw_body, spec, fixtures):
    """Turn a scenario spec ('long=4000,delay_ms=2') into a Plan; BadScenario on error."""
    opts = parse_options(spec)
    unknown = [k for k in opts if k not in BASES and k not in MODIFIERS]
    if unknown:
        raise BadScenario("unknown option(s): " + ", ".join(unknown))
    bases = [k for k in opts if k in BASES]
    if len(bases) > 1:
        raise BadScenario("more than one base scenario: " + ", ".join(bases))
    base = bases[0] if bases else "ok"
    seed = zlib.crc32(raw_body) ^ _int_opt(opts, "seed", 0)
    rng = random.Random(seed)
    reply = (urllib.parse.unquote(opts["reply"]) if isinstance(opts.get("reply"), str)
             else "Echo: " + last_user_text(req))
    ascii_only = bool(opts.get("ascii"))
    lo, hi, delay_ms = 1, 7, 1

    if base == "status":
        v = str(opts["status"])
        code_s, _, variant = v.partition("-")
        try:
            code = int(code_s)
        except ValueError:
            raise BadScenario("status needs a number, got %r" % v)
        if not 100 <= code <= 999 or variant not in ("", "empty"):
            raise BadScenario("bad status %r" % v)
        p = status_plan(code, variant or None, req, opts)
    elif base == "replay":
        raw, reads = load_capture(fixtures, str(opts["replay"]))
        try:
            speed = float(opts.get("speed", 10))
        except ValueError:
            raise BadScenario("speed needs a number")
        p = Plan("replay", raw=raw, reads=reads, speed=speed)
        if not raw.endswith(b"0\r\n\r\n"):
            p.end = "stall" if "stall" in str(opts["replay"]) else "die"
    elif base == "garbage":
        p = Plan("garbage", body=b"\x16\x03\x01GARBAGE\xff\xfe\x00 not-http !!\r\n\xc3\x28\r\n")
    elif base in ("prose", "badjson", "fence"):
        text = {"prose": reply, "badjson": BADJSON_BODY,
                "fence": "```json\n" + compact(fragment(reply), ascii_only) + "\n```"}[base]
        text = as_the_model_ends_it(text, req.get("config"))
        p = Plan("stream", chunks=[text.encode()], single=True)
    else:
        if base == "tricky":
            if "reply" not in opts:
                reply = TRICKY_REPLY
            ascii_only = True
        elif base == "long":
            if opts["long"] is True:
                raise BadScenario("long needs a length: long=<N>")
            n = _int_opt(opts, "long", 0)
            token = opts.get("tag") if isinstance(opts.get("tag"), str) else None
            if token is None:
                uid = req.get("userID")
                token = uid if isinstance(uid, str) and uid else "anon"
            reply = long_reply(token, n)
            lo, hi, delay_ms = 1, 64, 0
        obj = fragment(reply)
        tail = None
        if base == "pretty":
            text = json.dumps(obj, ensure_ascii=ascii_only, indent=2)
        elif base == "emptycode":
            text = compact(fragment("", EMPTYCODE_COMMENTARY), ascii_only)
        elif base == "schema_mismatch":
            text = SCHEMA_MISMATCH_BODY
        else:
            text = compact(obj, ascii_only)
        if base == "trailing":
            text, tail = text[:-2], '"}' + TRAILING_PROSE
        elif base == "truncated":
            mark = '"has_additional_dependencies":fals'
            text = text[:text.index(mark) + len(mark)]
        elif base == "maxtokens_cut":
            mark = '"code":"'
            part = json.dumps(reply[:len(reply) // 2], ensure_ascii=ascii_only)[1:-1]
            text = text[:text.index(mark) + len(mark)] + part
        full = text + (tail or "")
        ended = as_the_model_ends_it(full, req.get("config"))
        if ended != full:
            text, tail = ended, None
        if isinstance(opts.get("chunk"), str):
            m = re.match(r"^(\d+)-(\d+)$", opts["chunk"])
            if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
                raise BadScenario("chunk needs <min>-<max>, e.g. chunk=1-7")
            lo, hi = int(m.group(1)), int(m.group(2))
        chunks = split_body(text.encode(), rng, lo, hi)
        if tail is not None:
            chunks.append(tail.encode())
        p = Plan("stream", chunks=chunks)

    p.delay = _int_opt(opts, "delay_ms", delay_ms) / 1000.0
    p.first_byte = _int_opt(opts, "first_byte_ms", 0) / 1000.0
    p.rst_delay = _int_opt(opts, "rst_delay_ms", 20) / 1000.0
    p.head_first = bool(opts.get("head_first"))
    if p.head_first and p.kind not in ("stream", "error"):
        raise BadScenario("head_first only applies to streamed bodies and status=<code>")
    cut = [k for k in ("stall_after", "die_after", "reset_after") if k in opts]
    if len(cut) > 1:
        raise BadScenario("use only one of stall_after/die_after/reset_after")
    if cut:
        if p.kind != "stream":
            raise BadScenario("%s only applies to streamed 200 bodies" % cut[0])
        k = _int_opt(opts, cut[0], 0)
        p.chunks = p.chunks[:k]
        p.single = False
        p.end = cut[0].split("_")[0]
    return p
