"""Prometheus scrape configs and the Grafana dashboard match the services' series."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from motcua.devtools.services import ROOT, SERVICES
from tests.deploy import composefile, facts

DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "motcua.json"


def _exprs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return out + [e for v in node.values() for e in _exprs(v)]
    if isinstance(node, list):
        return [e for v in node for e in _exprs(v)]
    return []


def test_compose_scrape_targets_are_the_services() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "motcua")
    assert job["metrics_path"] == facts.health_paths()["metrics"]
    targets = {t for sc in job["static_configs"] for t in sc["targets"]}
    assert targets == {f"{name}:{info.port}" for name, info in SERVICES.items()}
    compose = composefile.load(".env.example")
    assert {t.split(":")[0] for t in targets} <= set(compose["services"])


def test_kubernetes_scrape_job_keeps_motcua_pods() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "kubernetes.yml").read_text())
    job = config["scrape_configs"][0]
    assert job["kubernetes_sd_configs"] == [{"role": "pod"}]
    keeps = [r for r in job["relabel_configs"] if r.get("action") == "keep"]
    assert any("prometheus_io_scrape" in r["source_labels"][0] for r in keeps)


def test_dashboard_queries_only_series_the_code_defines() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"]
    assert dashboard["title"]
    exprs = _exprs(dashboard["panels"])
    assert exprs
    used = {m for e in exprs for m in re.findall(r"\bmotcua_\w+", e)}
    for metric in used:
        assert facts.is_defined_metric(metric), f"{metric} is not defined by any service"
    # The shared series of issue 8 each have a panel.
    for series in (
        "motcua_events_consumed_total",
        "motcua_events_published_total",
        "motcua_handler_seconds",
        "motcua_outbox_backlog",
        "motcua_outbox_oldest_age_seconds",
        "motcua_consumer_lag",
        "motcua_dlq_total",
    ):
        assert any(series in e for e in exprs), series


def test_dashboard_uses_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )
    uids = {d["uid"] for d in provisioned["datasources"]}
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] in uids, panel["title"]
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "motcua.yaml").read_text()
    )
    compose = composefile.load(".env.example", environ={"COMPOSE_PROFILES": "monitoring"})
    mounts = compose["services"]["grafana"]["volumes"]
    path = provider["providers"][0]["options"]["path"]
    assert any(m.startswith("./grafana/dashboards:" + path) for m in mounts)
