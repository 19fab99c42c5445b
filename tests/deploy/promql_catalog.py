"""The metrics e2b-gateway exports and the PromQL the deploy/ files run against them.

Shared by the tests of deploy/: the dashboard's and the alert rules' expressions, and the
metric and label names an expression uses, checked against the metrics plugin's contract.
"""
import json
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy/grafana/dashboards/e2b-gateway.json"
ALERTS = REPO / "deploy/prometheus/alerts.yml"

# name -> labels (job and instance come from the scrape and are allowed everywhere).
COUNTERS = {
    "gateway_requests_total": {"route", "model", "status"},
    "gateway_tokens_total": {"model", "type", "tenant"},
    "gateway_outcomes_total": {"outcome"},
    "gateway_upstream_errors_total": {"model", "code"},
    # tenant: only when the metrics plugin labels refusals by tenant (tenant_labels: true).
    "gateway_rate_limited_total": {"limit", "level", "tenant"},
    "gateway_constraints_adjusted_total": {"param", "policy"},
    "gateway_usage_rows_dropped_total": set(),
    "gateway_config_reloads_total": {"result"},
    "process_cpu_seconds_total": set(),
}
GAUGES = {
    "gateway_in_flight_requests": set(),
    "gateway_open_streams": set(),
    "gateway_usage_queue_depth": set(),
    "gateway_upstream_connections": set(),
    "gateway_build_info": {"version"},
    "process_resident_memory_bytes": set(),
    "process_open_fds": set(),
    "process_max_fds": set(),
    "process_start_time_seconds": set(),
    "up": set(),
}
HISTOGRAMS = {
    "gateway_request_duration_seconds": {"route", "model", "stream"},
    "gateway_time_to_first_token_seconds": {"model"},
    "gateway_time_per_output_token_seconds": {"model"},
    "gateway_overhead_duration_seconds": {"route"},
}
SCRAPE_LABELS = {"job", "instance"}


def known_metrics():
    """Every series name a query may use, with its labels."""
    names = {**COUNTERS, **GAUGES}
    for name, labels in HISTOGRAMS.items():
        names[name + "_bucket"] = labels | {"le"}
        names[name + "_sum"] = labels
        names[name + "_count"] = labels
    return names


def dashboard_queries(path=DASHBOARD):
    """(panel title, refId, expr) of every target of every panel, rows' nested panels included."""
    dashboard = json.loads(Path(path).read_text())
    out = []

    def walk(panels):
        for panel in panels:
            walk(panel.get("panels", []))
            for target in panel.get("targets", []):
                out.append((panel.get("title", ""), target.get("refId", ""), target.get("expr")))

    walk(dashboard.get("panels", []))
    return out


def alert_rules(path=ALERTS):
    """Every rule of every group of the rule file."""
    document = yaml.safe_load(Path(path).read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "bool", "offset", "inf", "nan"}


def _without_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)


def metric_names(expr):
    """Names of the series an expression selects."""
    text = _without_strings(expr)
    text = re.sub(r"\{[^}]*\}", " ", text)                     # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)                    # range durations
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        following = text[match.end():].lstrip()
        if word.lower() in KEYWORDS or following.startswith("("):
            continue  # a keyword or a function call
        names.add(word)
    return names


def label_names(expr):
    """Label names used in matchers and in by/without/on/ignoring/group_* clauses."""
    text = _without_strings(expr)
    labels = set()
    for matchers in re.findall(r"\{([^}]*)\}", text):
        labels |= set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", matchers))
    for clause in re.findall(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", text):
        labels |= {name.strip() for name in clause.split(",") if name.strip()}
    return labels


def problems(expr):
    """What an expression names that the gateway does not export; empty when it is consistent."""
    metrics = known_metrics()
    found = []
    names = metric_names(expr)
    if not names:
        found.append("selects no metric")
    unknown = sorted(n for n in names if n not in metrics)
    if unknown:
        found.append("unknown metrics " + ", ".join(unknown))
    allowed = set(SCRAPE_LABELS)
    for name in names & metrics.keys():
        allowed |= metrics[name]
    stray = sorted(label_names(expr) - allowed)
    if stray:
        found.append("labels no selected metric has: " + ", ".join(stray))
    return found
