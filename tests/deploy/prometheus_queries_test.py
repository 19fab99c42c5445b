#!/usr/bin/env python3
"""The dashboard and the alert rules against a real Prometheus scraping the real gateway.

Starts the fake Fragments upstream, the built gateway with the metrics plugin (tenant labels on)
and /usr/bin/prometheus scraping it every second with deploy/prometheus/alerts.yml loaded, sends
known traffic (two models, a stream, a clamped parameter, a 404 model, a 401, upstream 500, 429
and 529, a rate-limited burst and an exhausted day quota), then runs every PromQL expression of
the dashboard and of alerts.yml through Prometheus' HTTP API. Each must evaluate without error,
each dashboard query must return data, every rule must evaluate healthy, and the dashboard's
template variables must have values. Everything it starts is stopped on exit.

    prometheus_queries_test.py --gateway BUILD/e2b-gateway --plugin-dir BUILD/plugins
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import promql_catalog as catalog  # noqa: E402

REPO = catalog.REPO
PROMETHEUS = "/usr/bin/prometheus"
RATE_INTERVAL = "1m"
KEY_FREE = "sk-e2b-" + "f" * 43      # no limits
KEY_BURST = "sk-e2b-" + "b" * 43     # 2 requests per minute
KEY_QUOTA = "sk-e2b-" + "q" * 43     # 1 request per day


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=30):
    """(status, body text); HTTP errors are answers too."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_until(what, predicate, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Processes:
    """Children started by the test; all terminated (then killed) on close."""

    def __init__(self, logs):
        self.logs = logs
        self.children = []

    def start(self, name, argv, env=None):
        log = open(self.logs / f"{name}.log", "wb")
        child = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.children.append((name, child, log))
        return child

    def log(self, name):
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def close(self):
        for _, child, _ in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for _, child, log in self.children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=5)
            log.close()


def gateway_config(fake_port, port, plugin_dir, db):
    """The shipped config.yaml on loopback ports, the fake upstream, test keys and tenant labels."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["listen"]["host"] = "127.0.0.1"
    config["listen"]["port"] = port
    config["upstream"]["base_url"] = f"http://127.0.0.1:{fake_port}"
    config["storage"]["path"] = str(db)
    config["plugin_dir"] = str(plugin_dir)
    config["admin"] = {"listen": f"127.0.0.1:{free_port()}", "token": "", "tokens": []}
    plugins = config["plugins"]
    names = [p["name"] for p in plugins]
    if "metrics" not in names:
        raise AssertionError("config.yaml does not put the metrics plugin in the chain")
    metrics = plugins[names.index("metrics")]
    metrics["config"] = dict(metrics.get("config") or {}, tenant_labels=True)
    metrics["config"].pop("token", None)
    auth = plugins[names.index("auth")]["config"]
    auth["env_key"] = "E2B_TEST_UNUSED_KEY"
    auth["keys"] = [
        {"key": KEY_FREE, "user": "free@example.com"},
        {"key": KEY_BURST, "user": "burst@example.com", "limits": {"requests_per_minute": 2}},
        {"key": KEY_QUOTA, "user": "quota@example.com", "limits": {"requests_per_day": 1}},
    ]
    return config


def send_traffic(base):
    """Known traffic; returns how many chat requests were sent."""
    chat_url = base + "/v1/chat/completions"

    def chat(key, model, text="hello", stream=False, **extra):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": text}], **extra}
        return http("POST", chat_url, body, headers)[0]

    expected = [
        (chat(KEY_FREE, "gpt-5"), 200),
        (chat(KEY_FREE, "gpt-5", "tell me more"), 200),
        (chat(KEY_FREE, "claude-sonnet-4-5-20250929", "stream please", stream=True), 200),
        (chat(KEY_FREE, "gpt-4o", "clamp me", temperature=5), 200),        # constraints clamp
        (chat(KEY_FREE, "no-such-model"), 404),
        (chat(None, "gpt-5"), 401),
        (chat(KEY_FREE, "gpt-5", "scenario:status=500"), 502),              # upstream_error
        (chat(KEY_FREE, "gemini-2.5-pro", "scenario:status=529"), 503),     # upstream_overloaded
        (chat(KEY_FREE, "gpt-5", "scenario:status=429"), 429),              # provider 429
        (chat(KEY_BURST, "gpt-5"), 200),
        (chat(KEY_BURST, "gpt-5"), 200),
        (chat(KEY_BURST, "gpt-5"), 429),                                    # requests_per_minute
        (chat(KEY_BURST, "gpt-5"), 429),
        (chat(KEY_QUOTA, "o3"), 200),
        (chat(KEY_QUOTA, "o3"), 429),                                       # requests_per_day
    ]
    got = [status for status, _ in expected]
    want = [status for _, status in expected]
    if got != want:
        raise AssertionError(f"traffic answered {got}, expected {want}")
    assert http("GET", base + "/v1/models", headers={"Authorization": f"Bearer {KEY_FREE}"})[0] == 200
    assert http("GET", base + "/health")[0] == 200
    return len(expected)


class Prometheus:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def query(self, expr):
        """The API's answer: {"status": "success"|"error", "data"|"error": …}."""
        url = self.base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        status, text = http("GET", url, timeout=10)
        answer = json.loads(text)
        answer["http_status"] = status
        return answer

    def vector(self, expr):
        answer = self.query(expr)
        return answer["data"]["result"] if answer["status"] == "success" else None


def dashboard_expr(expr):
    """A dashboard query as Grafana would send it with every variable at "All"."""
    return (expr.replace("$__rate_interval", RATE_INTERVAL)
            .replace("$model", ".*").replace("$instance", ".*"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True, type=Path)
    parser.add_argument("--plugin-dir", required=True, type=Path)
    args = parser.parse_args()
    if not (args.plugin_dir / "metrics.so").is_file():
        raise AssertionError(f"{args.plugin_dir}/metrics.so is not built")
    if not os.access(PROMETHEUS, os.X_OK):
        raise AssertionError(f"{PROMETHEUS} is missing (deploy/install-deps.sh installs it)")

    work = Path(tempfile.mkdtemp(prefix="e2b-deploy-prom-"))
    processes = Processes(work)
    failures = []
    try:
        # --- the fake upstream and the gateway
        port_file = work / "fake.port"
        processes.start("fake_fragments", [sys.executable, str(REPO / "tests/fake_fragments/fake_fragments.py"),
                                           "--host", "127.0.0.1", "--port", "0", "--fixtures",
                                           str(REPO / "tests/fixtures/fragments-wire"), "--port-file", str(port_file)])
        fake_port = int(wait_until("the fake upstream's port", lambda: port_file.exists() and port_file.read_text().strip(), 20))
        gateway_port = free_port()
        config_path = work / "gateway.yaml"
        config_path.write_text(yaml.safe_dump(gateway_config(fake_port, gateway_port, args.plugin_dir, work / "gateway.db")))
        env = {k: v for k, v in os.environ.items() if not k.startswith("E2B_")}
        gateway = processes.start("gateway", [str(args.gateway), "serve", "--config", str(config_path)], env=env)
        base = f"http://127.0.0.1:{gateway_port}"

        def gateway_healthy():
            if gateway.poll() is not None:
                raise AssertionError(f"the gateway exited with {gateway.returncode}:\n{processes.log('gateway')}")
            try:
                return http("GET", base + "/health", timeout=2)[0] == 200
            except OSError:
                return False
        wait_until("the gateway's /health", gateway_healthy, 30)
        status, text = http("GET", base + "/metrics")
        if status != 200 or "gateway_build_info" not in text:
            raise AssertionError(f"GET /metrics answered {status}: {text[:500]}")

        # --- Prometheus, from the shipped config: the same job and rules, a 1 s interval
        prom_config = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
        prom_config["global"].update(scrape_interval="1s", evaluation_interval="1s", scrape_timeout="1s")
        prom_config["rule_files"] = [str(REPO / "deploy/prometheus" / f) for f in prom_config["rule_files"]]
        job = next(j for j in prom_config["scrape_configs"] if j["job_name"] == "e2b-gateway")
        job["static_configs"] = [{"targets": [f"127.0.0.1:{gateway_port}"]}]
        (work / "prometheus.yml").write_text(yaml.safe_dump(prom_config))
        prom_port = free_port()
        processes.start("prometheus", [PROMETHEUS, f"--config.file={work / 'prometheus.yml'}",
                                       f"--storage.tsdb.path={work / 'tsdb'}",
                                       f"--web.listen-address=127.0.0.1:{prom_port}"])
        prometheus = Prometheus(prom_port)

        def scraped_up():
            try:
                result = prometheus.vector('up{job="e2b-gateway"}')
            except (OSError, ValueError):  # not listening yet, or its plain-text 503 while starting
                return False
            return bool(result) and result[0]["value"][1] == "1"
        wait_until("Prometheus to scrape the gateway (up == 1)", scraped_up, 60)

        # --- traffic, then until Prometheus has seen all of it
        sent = send_traffic(base)
        wait_until(f"Prometheus to count {sent} chat requests",
                   lambda: (prometheus.vector('sum(gateway_requests_total{route="chat_completions"})') or
                            [{"value": [0, "0"]}])[0]["value"][1] == str(sent), 30)

        # --- every dashboard query returns data; polled, since rate() needs two samples
        queries = [(title, ref, dashboard_expr(expr)) for title, ref, expr in catalog.dashboard_queries()]
        empty = {}

        def all_have_data():
            empty.clear()
            for title, ref, expr in queries:
                answer = prometheus.query(expr)
                if answer["status"] != "success":
                    empty[(title, ref)] = f"error {answer.get('error')}: {expr}"
                elif not answer["data"]["result"]:
                    empty[(title, ref)] = f"no data: {expr}"
            return not empty
        try:
            wait_until("every dashboard query to return data", all_have_data, 30, interval=1)
        except AssertionError:
            failures += [f"dashboard '{title}' {ref}: {why}" for (title, ref), why in empty.items()]
        print(f"dashboard: {len(queries) - len(empty)} of {len(queries)} queries return data")

        # --- the template variables: label_values(selector, label) as Grafana asks for them
        dashboard = json.loads(catalog.DASHBOARD.read_text())
        for variable in dashboard["templating"]["list"]:
            match = re.fullmatch(r"label_values\((.*), *(\w+)\)", variable["definition"])
            if not match:
                failures.append(f"template variable ${variable['name']} is not label_values(selector, label)")
                continue
            selector, label = match.groups()
            status, text = http("GET", prometheus.base + f"/api/v1/label/{label}/values?" +
                                urllib.parse.urlencode({"match[]": selector}))
            values = json.loads(text).get("data", [])
            if status != 200 or not values:
                failures.append(f"template variable ${variable['name']} has no values ({status}: {text[:200]})")
            elif label == "model" and not {"gpt-5", "claude-sonnet-4-5-20250929"} <= set(values):
                failures.append(f"$model lacks the models the traffic used: {values}")

        # --- every alert expression evaluates, and every rule is healthy in the rule manager
        rules = catalog.alert_rules()
        for rule in rules:
            answer = prometheus.query(rule["expr"])
            if answer["status"] != "success":
                failures.append(f"alert {rule['alert']}: {answer.get('error')}")

        def rules_evaluated():
            status, text = http("GET", prometheus.base + "/api/v1/rules")
            loaded = [r for g in json.loads(text)["data"]["groups"] for r in g["rules"]]
            return loaded if len(loaded) == len(rules) and all(r.get("health") != "unknown" for r in loaded) else None
        loaded = wait_until("Prometheus to evaluate every rule", rules_evaluated, 30)
        for rule in loaded:
            if rule["health"] != "ok":
                failures.append(f"rule {rule['name']} is {rule['health']}: {rule.get('lastError')}")
        print(f"alerts: {len(rules)} expressions evaluated, {len(loaded)} rules loaded")

        # The traffic shows in the series the alerts read.
        checks = {
            'sum(gateway_upstream_errors_total{code="rate_limit_exceeded"})': "upstream 429",
            'sum(gateway_upstream_errors_total{code="upstream_overloaded"})': "upstream 529",
            'sum(gateway_rate_limited_total{limit="requests_per_minute", level="key"})': "the burst's 429s",
            'sum(gateway_rate_limited_total{limit="requests_per_day", level="key"})': "the day quota's 429",
            'sum(gateway_outcomes_total{outcome="upstream_error"})': "upstream_error outcomes",
        }
        for expr, what in checks.items():
            result = prometheus.vector(expr)
            if not result or float(result[0]["value"][1]) <= 0:
                failures.append(f"{what} not counted: {expr} = {result}")
    finally:
        processes.close()
        if failures:
            for name in ("gateway", "prometheus"):
                log_file = work / f"{name}.log"
                if log_file.exists():
                    print(f"--- {name} log (last lines)\n" + "\n".join(log_file.read_text(errors="replace").splitlines()[-20:]))
        shutil.rmtree(work, ignore_errors=True)

    for failure in failures:
        print("FAIL:", failure)
    print("FAILED" if failures else "PASS")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
