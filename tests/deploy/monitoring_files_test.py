#!/usr/bin/env python3
"""Checks deploy/'s monitoring and container files without running them.

promtool validates the Prometheus config and rules and runs the rules' unit tests; the
dashboard must be a Grafana dashboard whose every query names only metrics and labels the
gateway exports; compose.yaml must parse and every file it (and the Prometheus and Grafana
provisioning it mounts) refers to must exist where the containers will look for it.
"""
import json
import re
import subprocess
import sys
import unittest
from pathlib import Path, PurePosixPath

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import promql_catalog as catalog  # noqa: E402

REPO = catalog.REPO
DEPLOY = REPO / "deploy"
PROMTOOL = "/usr/bin/promtool"


def promtool(*args, cwd=DEPLOY / "prometheus"):
    result = subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr


class PrometheusFiles(unittest.TestCase):
    def test_config_is_valid(self):
        status, out = promtool("check", "config", "prometheus.yml")
        self.assertEqual(status, 0, out)
        self.assertIn("1 rule files found", out)

    def test_rules_are_valid(self):
        status, out = promtool("check", "rules", "alerts.yml")
        self.assertEqual(status, 0, out)

    def test_rule_unit_tests_pass(self):
        status, out = promtool("test", "rules", "alerts_test.yml")
        self.assertEqual(status, 0, out)
        self.assertIn("SUCCESS", out)

    def test_every_alert_is_tested_and_documented(self):
        tests = yaml.safe_load((DEPLOY / "prometheus/alerts_test.yml").read_text())
        fired = {alert["alertname"]
                 for case in tests["tests"] for alert in case.get("alert_rule_test", [])
                 if alert.get("exp_alerts")}
        silent = {alert["alertname"]
                  for case in tests["tests"] for alert in case.get("alert_rule_test", [])
                  if not alert.get("exp_alerts")}
        readme = (REPO / "README.md").read_text()
        for rule in catalog.alert_rules():
            name = rule["alert"]
            with self.subTest(alert=name):
                self.assertIn("for", rule)
                self.assertIn(rule.get("labels", {}).get("severity"), {"critical", "warning", "info"})
                self.assertTrue(rule["annotations"].get("summary"))
                self.assertTrue(rule["annotations"].get("description"))
                self.assertIn(name, fired, "no test shows it firing")
                self.assertIn(name, silent, "no test shows it staying silent")
                self.assertTrue(f"`{name}`" in readme, "README.md does not explain it")
                self.assertEqual(catalog.problems(rule["expr"]), [])

    def test_scrape_job_matches_the_rules(self):
        config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
        jobs = {job["job_name"]: job for job in config["scrape_configs"]}
        self.assertIn("e2b-gateway", jobs, "the alerts select job=\"e2b-gateway\"")
        self.assertEqual(jobs["e2b-gateway"].get("metrics_path", "/metrics"), "/metrics")


class Dashboard(unittest.TestCase):
    def setUp(self):
        self.dashboard = json.loads(catalog.DASHBOARD.read_text())

    def panels(self):
        out = []
        for panel in self.dashboard["panels"]:
            out.append(panel)
            out.extend(panel.get("panels", []))
        return out

    def test_is_a_provisionable_dashboard(self):
        self.assertGreaterEqual(self.dashboard["schemaVersion"], 36)
        self.assertEqual(self.dashboard["uid"], "e2b-gateway")
        self.assertNotIn("__inputs", self.dashboard, "provisioned dashboards take no import inputs")
        ids = [panel["id"] for panel in self.panels()]
        self.assertEqual(len(ids), len(set(ids)), "panel ids must be unique")
        variables = {v["name"]: v for v in self.dashboard["templating"]["list"]}
        self.assertIn("model", variables)
        self.assertEqual(variables["model"]["allValue"], ".*")

    def test_every_panel_queries_the_provisioned_datasource(self):
        provisioned = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
        uid = provisioned["datasources"][0]["uid"]
        self.assertNotIn("${DS_", catalog.DASHBOARD.read_text())
        graphs = [p for p in self.panels() if p["type"] != "row"]
        self.assertGreaterEqual(len(graphs), 20)
        for panel in graphs:
            with self.subTest(panel=panel["title"]):
                self.assertEqual(panel["datasource"]["uid"], uid)
                self.assertTrue(panel.get("description"), "README and panel say what it means")
                self.assertTrue(panel["targets"], "a panel without a query")
                for target in panel["targets"]:
                    self.assertTrue(target.get("expr"), f"target {target.get('refId')} has no expr")
                    self.assertEqual(target["datasource"]["uid"], uid)

    def test_queries_name_only_exported_metrics(self):
        used = set()
        for title, ref, expr in catalog.dashboard_queries():
            with self.subTest(panel=title, ref=ref):
                self.assertEqual(catalog.problems(expr), [], expr)
                used |= catalog.metric_names(expr)
        # Every metric the gateway exports is on the dashboard (histograms through a series).
        exported = set(catalog.COUNTERS) | set(catalog.GAUGES)
        exported |= {name + "_bucket" for name in catalog.HISTOGRAMS}
        self.assertEqual(sorted(exported - used), [])

    def test_panels_the_readme_explains(self):
        readme = (REPO / "README.md").read_text()
        for panel in self.panels():
            if panel["type"] != "row":
                with self.subTest(panel=panel["title"]):
                    self.assertTrue(f"**{panel['title']}**" in readme, "README.md does not explain it")


class Compose(unittest.TestCase):
    def setUp(self):
        self.compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
        self.services = self.compose["services"]

    def mounts(self, service):
        """(host path or volume name, container path) of each volume entry."""
        out = []
        for entry in self.services[service].get("volumes", []):
            source, target = entry.split(":")[:2]
            out.append((source, target))
        return out

    def host_file(self, service, container_path):
        """The host file a container path of a service maps to through a bind mount, or None."""
        path = PurePosixPath(container_path)
        for source, target in self.mounts(service):
            if source.startswith(".") and (path == PurePosixPath(target) or PurePosixPath(target) in path.parents):
                return (DEPLOY / source / path.relative_to(target)).resolve()
        return None

    def test_services_build_and_bind_existing_files(self):
        self.assertEqual(set(self.services), {"gateway", "prometheus", "grafana"})
        build = self.services["gateway"]["build"]
        context = (DEPLOY / build["context"]).resolve()
        self.assertEqual(context, REPO)
        self.assertTrue((context / build["dockerfile"]).is_file())
        named = set(self.compose.get("volumes", {}))
        for service in self.services:
            self.assertIn("healthcheck", self.services[service], service)
            for source, target in self.mounts(service):
                with self.subTest(service=service, mount=source):
                    if source.startswith("."):
                        self.assertTrue((DEPLOY / source).exists(), f"{source} does not exist")
                    else:
                        self.assertIn(source, named, "a named volume must be declared")

    def test_gateway_data_and_ports(self):
        gateway = self.services["gateway"]
        self.assertIn(("gateway-data", "/var/lib/e2b-gateway"), self.mounts("gateway"))
        ports = gateway["ports"]
        admin = [p for p in ports if p.endswith(":8081")]
        self.assertEqual(admin, ["127.0.0.1:8081:8081"], "the admin API must stay on the host's loopback")
        for service in ("prometheus", "grafana"):
            for port in self.services[service]["ports"]:
                self.assertTrue(port.startswith("127.0.0.1:"), port)
        for name, value in gateway["environment"].items():
            with self.subTest(variable=name):
                self.assertTrue(str(value).startswith("${"), "secrets come from .env, not the file")

    def test_prometheus_finds_its_rules_and_the_gateway(self):
        config_path = self.host_file("prometheus", "/etc/prometheus/prometheus.yml")
        self.assertEqual(config_path, DEPLOY / "prometheus/prometheus.yml")
        config = yaml.safe_load(config_path.read_text())
        for rule_file in config["rule_files"]:
            in_container = PurePosixPath("/etc/prometheus") / rule_file
            host = self.host_file("prometheus", str(in_container))
            self.assertIsNotNone(host, f"{in_container} is not mounted")
            self.assertTrue(host.is_file())
        targets = [t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
        self.assertIn("gateway:8080", targets)

    def test_grafana_provisioning_resolves(self):
        datasources = self.host_file("grafana", "/etc/grafana/provisioning/datasources/prometheus.yml")
        self.assertTrue(datasources.is_file())
        url = yaml.safe_load(datasources.read_text())["datasources"][0]["url"]
        self.assertRegex(url, r"^http://prometheus:9090")
        providers = self.host_file("grafana", "/etc/grafana/provisioning/dashboards/e2b-gateway.yml")
        self.assertTrue(providers.is_file())
        folder = yaml.safe_load(providers.read_text())["providers"][0]["options"]["path"]
        dashboards = self.host_file("grafana", folder + "/e2b-gateway.json")
        self.assertEqual(dashboards, catalog.DASHBOARD)
        home = self.services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
        self.assertEqual(self.host_file("grafana", home), catalog.DASHBOARD)


class Dockerfile(unittest.TestCase):
    def test_runtime_stage(self):
        text = (DEPLOY / "Dockerfile").read_text()
        stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M)
        self.assertEqual(stages[-1], ("debian:12-slim", "runtime"))
        runtime = text[text.index("AS runtime"):]
        self.assertRegex(runtime, r"(?m)^USER e2b-gateway")
        self.assertRegex(runtime, r"(?m)^HEALTHCHECK .*\n\s+CMD curl -fsS \S*/health")
        self.assertIn("curl", re.search(r"apt-get install[^\n]*", runtime).group(0))
        for source in re.findall(r"(?m)^COPY (?!--from)(\S+)", text):
            with self.subTest(copy=source):
                self.assertTrue((REPO / source).exists())


if __name__ == "__main__":
    unittest.main(verbosity=2)
