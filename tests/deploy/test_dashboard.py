"""deploy/grafana/netprov.json names only metrics that exist: every metric of every panel's query is
in what a running API and worker serve on /metrics (real processes, after some traffic). And
deploy/prometheus.yml scrapes both, at the ports the compose file gives them."""

import json
import re
from pathlib import Path

import httpx
import pytest
import yaml

from devstack.temporal_server import free_port

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "netprov.json"
PROMETHEUS = ROOT / "deploy" / "prometheus.yml"
TENANT = "dashboard"
# PromQL words that look like metric names but are not.
PROMQL_WORDS = {
    "sum", "rate", "irate", "increase", "by", "without", "histogram_quantile", "le", "avg", "max", "min", "count",
    "on", "ignoring", "group_left", "group_right", "or", "and", "unless", "topk", "bottomk", "clamp_min", "delta",
    "deriv", "abs", "vector", "scalar", "time", "offset", "bool", "absent", "label_replace", "changes", "resets",
}


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (label names and values, functions and ranges left out)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # grouping labels
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return {w for w in words if w not in PROMQL_WORDS and not w.startswith("$") and not re.fullmatch(r"\d+\w*", w)}


def dashboard_exprs() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text())
    found = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            found.append((panel["title"], target["expr"]))
    return found


def served_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


def test_metric_names_are_read_from_queries():
    assert metric_names('histogram_quantile(0.99, sum by (le, route) (rate(netprov_api_request_duration_seconds_bucket{route!="/metrics"}[5m])))') == {"netprov_api_request_duration_seconds_bucket"}
    assert metric_names('sum(rate(netprov_plugin_call_errors_total{kind="transient"}[$__rate_interval])) / sum(rate(netprov_plugin_calls_total[5m]))') == {"netprov_plugin_call_errors_total", "netprov_plugin_calls_total"}


def test_prometheus_scrapes_the_api_and_the_workers():
    config = yaml.safe_load(PROMETHEUS.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    (api,) = jobs["netprov-api"]["dns_sd_configs"]
    assert api["names"] == ["api"] and api["port"] == int(compose["api"]["environment"]["NETPROV_API_PORT"])
    assert jobs["netprov-api"].get("metrics_path", "/metrics") == "/metrics"
    (workers,) = jobs["netprov-worker"]["dns_sd_configs"]
    metered = {name for name, service in compose.items()
               if "NETPROV_WORKER_METRICS_PORT" in (service.get("environment") or {})}
    assert set(workers["names"]) == metered
    assert {compose[name]["environment"]["NETPROV_WORKER_METRICS_PORT"] for name in metered} == {str(workers["port"])}
    # Grafana's provisioned data source is the one the dashboard's panels name.
    source = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())["datasources"][0]
    board = json.loads(DASHBOARD.read_text())
    assert {p["datasource"]["uid"] for p in board["panels"] if p["type"] != "row"} == {source["uid"]}
    assert source["url"] == "http://prometheus:9090" and "prometheus" in compose and "grafana" in compose


@pytest.fixture(scope="module")
def running(services_factory, deploy_database):
    services = services_factory(deploy_database)
    services.api = services.start_api("api")
    services.metrics_port = free_port()
    services.start_worker("worker", NETPROV_WORKER_METRICS_PORT=str(services.metrics_port))
    services.wait_healthy(services.api)
    services.wait_worker("worker")
    return services


async def test_every_metric_the_dashboard_names_is_served(running):
    headers = {"X-Auth-Token": running.env["NETPROV_ADMIN_TOKEN"]}
    async with httpx.AsyncClient(base_url=f"{running.api}/v1.1/tenants/{TENANT}", headers=headers, timeout=30) as http:
        # Traffic that makes every series exist: a success, a transient failure, a permanent one, a 4xx.
        # fake's one-step actions run as local activities; qbh-sim's steps as ordinary ones: both kinds fail once.
        for name, plugin in (("dash-ok", "fake"), ("flaky1-dash", "fake"), ("fail-dash", "fake"), ("fail-dash-qbh", "qbh-sim")):
            network = {"name": name, "plugin": plugin}
            response = await http.post("networks", json={"network": network}, headers={"Prefer": "wait=15"})
            assert response.status_code == 201, response.text
        assert (await http.get("networks/not-a-uuid")).status_code == 400
        served = served_names((await http.get(f"{running.api}/metrics")).text)
        served |= served_names((await http.get(f"http://127.0.0.1:{running.metrics_port}/metrics")).text)

    exprs = dashboard_exprs()
    assert len(exprs) >= 8
    missing = {(title, name) for title, expr in exprs for name in metric_names(expr) if name not in served}
    assert not missing, f"dashboard names metrics nobody serves: {sorted(missing)}"
