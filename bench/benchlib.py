"""Pieces the Python bench drivers share: free ports, the shipped config with edits, bounded waits."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

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


def healthy(url):
    """True when GET `url` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


class BenchProcesses:
    """The fake Fragments upstream and the gateway of one bench run, started from a work directory.

    Subclasses call start_fake(), then start_gateway(); stop() ends whatever still runs.
    """

    def __init__(self, work, who):
        self.work, self.who = work, who
        self.fake = self.gateway = None

    def start_fake(self, keepalive_timeout):
        """Starts the fake upstream on a free port of 127.0.0.1 and returns that port."""
        port_file = os.path.join(self.work, "fake.port")
        self.fake = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests/fake_fragments/fake_fragments.py"), "--host", "127.0.0.1",
             "--port", "0", "--fixtures", os.path.join(ROOT, "tests/fixtures/fragments-wire"), "--port-file",
             port_file, "--keepalive-timeout", str(keepalive_timeout)],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.work, "fake.log"), "w"))
        wait_until(lambda: os.path.exists(port_file), 10, "the fake upstream did not start", self.who)
        with open(port_file) as f:
            return int(f.read())

    def start_gateway(self, binary, config, port, env_values):
        """Starts `binary serve --config config` with only `env_values` of the E2B_* environment, from
        the work directory (so no .env of the checkout is read), and waits for /health on `port`."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("E2B_")}
        env.update(env_values)
        self.gateway = subprocess.Popen([binary, "serve", "--config", config], cwd=self.work, env=env,
                                        stdout=subprocess.DEVNULL,
                                        stderr=open(os.path.join(self.work, "gateway.log"), "w"))
        health = "http://127.0.0.1:%d/health" % port
        wait_until(lambda: self.gateway.poll() is not None or healthy(health), 30, "the gateway did not start",
                   self.who)
        if self.gateway.poll() is not None:
            raise SystemExit("%s: the gateway exited with %d (log: %s/gateway.log)" % (
                self.who, self.gateway.returncode, self.work))

    def stop_gateway(self):
        """SIGTERM; returns (exit status, seconds to exit), or (None, …) when it had to be killed."""
        started = time.monotonic()
        self.gateway.send_signal(signal.SIGTERM)
        try:
            status = self.gateway.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.gateway.kill()
            self.gateway.wait()
            status = None
        return status, time.monotonic() - started

    def stop(self):
        for process in (self.gateway, self.fake):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
