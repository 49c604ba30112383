"""The alert rules: they cover what an operator must hear of, watch series the code
exports, pass promtool with unit tests, and are the same rules in Compose, in the
PrometheusRule and in deploy/README.md's table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from motcua.devtools.services import ROOT
from tests.deploy import composefile, facts, tools
from tests.deploy.kustomize import build

PROMETHEUS = ROOT / "deploy" / "prometheus"
ALERTS = PROMETHEUS / "alerts.yml"
ALERTS_TEST = PROMETHEUS / "alerts_test.yml"
PRODUCTION = ROOT / "deploy" / "k8s" / "overlays" / "production"
README = ROOT / "deploy" / "README.md"
TABLE_START = "<!-- alerts-table:start -->"
TABLE_END = "<!-- alerts-table:end -->"
PROMTOOL_INSTALL = "go install github.com/prometheus/prometheus/cmd/promtool@{version}"
# What the issue asks an operator be told of, and the series that tell it.
COVERAGE = {
    "consumer lag": "motcua_consumer_lag",
    "dead-letter growth": "motcua_dlq_total",
    "outbox age": "motcua_outbox_oldest_age_seconds",
    "overdue growth": "motcua_dossiers_overdue",
    "readiness": "kube_deployment_status_replicas_ready",
    "error rate": 'motcua_events_consumed_total{outcome="rejected"}',
    "HTTP error rate": 'motcua_http_responses_total{code=~"5.."}',
}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def rules() -> list[dict[str, Any]]:
    return [rule for group in load(ALERTS)["groups"] for rule in group["rules"]]


def alerts_table() -> str:
    """deploy/README.md's table of the alerts, as the rules make it."""
    lines = ["| Alert | Severity | Fires after | What it means |", "|---|---|---|---|"]
    for rule in rules():
        meaning = " ".join(rule["annotations"]["description"].split())
        after = rule.get("for", "at once")
        lines.append(f"| `{rule['alert']}` | {rule['labels']['severity']} | {after} | {meaning} |")
    return "\n".join(lines)


def test_the_alerts_cover_what_an_operator_must_hear_of() -> None:
    exprs = " ".join(rule["expr"] for rule in rules())
    for what, series in COVERAGE.items():
        assert series in exprs, f"no alert on {what} ({series})"


def test_the_alerts_watch_only_series_the_code_exports() -> None:
    for rule in rules():
        for series in re.findall(r"\bmotcua_\w+", rule["expr"]):
            assert facts.is_defined_metric(series), f"{rule['alert']}: {series} is not exported"


def test_every_alert_is_explained_and_graded() -> None:
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    for rule in rules():
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]
        assert "{{" not in rule["annotations"]["description"], "the README table shows it as is"


def test_every_alert_has_a_unit_test_that_fires_it() -> None:
    tests = load(ALERTS_TEST)
    assert tests["rule_files"] == [ALERTS.name]
    fired = {
        case["alertname"]
        for test in tests["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert fired == {rule["alert"] for rule in rules()}


def test_the_prometheus_rule_carries_the_same_groups() -> None:
    rule = build(PRODUCTION).find("PrometheusRule", "motcua")
    assert rule["spec"] == {"groups": load(ALERTS)["groups"]}, (
        "copy deploy/prometheus/alerts.yml's groups into overlays/production/monitoring.yaml"
    )


def test_compose_prometheus_loads_the_rules() -> None:
    config = load(PROMETHEUS / "prometheus.yml")
    assert config["rule_files"] == [ALERTS.name]  # beside prometheus.yml, here and mounted
    mounts = composefile.load(".env.example", environ={"COMPOSE_PROFILES": "monitoring"})[
        "services"
    ]["prometheus"]["volumes"]
    assert f"./prometheus/{ALERTS.name}:/etc/prometheus/{ALERTS.name}:ro" in mounts


def test_the_readme_table_is_the_rules() -> None:
    text = README.read_text(encoding="utf-8")
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    assert text[start:end].strip() == alerts_table(), f"replace it with:\n{alerts_table()}"


def test_promtool_checks_the_rules_and_runs_their_unit_tests() -> None:
    version = tools.pinned("PROMTOOL_VERSION")
    promtool = tools.require("promtool", PROMTOOL_INSTALL.format(version=version))
    for args in (
        ("check", "rules", ALERTS),
        ("test", "rules", ALERTS_TEST),
        ("check", "config", PROMETHEUS / "prometheus.yml"),
    ):
        done = tools.run(promtool, *args)
        assert done.returncode == 0, done.stdout + done.stderr
