"""Pieces the Python bench drivers share: free ports, the shipped config with edits, bounded waits."""
import os
import socket
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    """A TCP port of 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_shipped_config(path, edits, who, **values):
    """Writes the shipped config.yaml to `path` with each (old, new) of `edits` replaced once.

    `new` may name `values` ({admin_port}). Every `old` must be found, so a changed config.yaml fails
    loudly instead of benchmarking something else; `who` names the driver in that message.
    """
    with open(os.path.join(ROOT, "config.yaml")) as f:
        text = f.read()
    for old, new in edits:
        if old not in text:
            raise SystemExit("%s: config.yaml has no line %r any more; update bench/%s.py" % (who, old.strip(), who))
        text = text.replace(old, new.format(**values), 1)
    with open(path, "w") as f:
        f.write(text)


def wait_until(predicate, seconds, what, who):
    """Polls `predicate` every 0.1 s; exits naming `what` when it is still false after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise SystemExit("%s: %s" % (who, what))
