"""deploy/compose.yaml: every service configured, ordered and health-checked."""

from __future__ import annotations

import re
from typing import Any

import pytest

from motcua.devtools.envdocs import PLACEHOLDER, collect
from motcua.devtools.services import SERVICES
from tests.deploy import composefile, facts

JOBS = ("migrate", "topics")
REQUIRED_ENV = (
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "MOTCUA_AUTH_SECRET",
    "MOTCUA_CONTACT_KEY",
)
SECRET_ENV = ("MOTCUA_AUTH_SECRET", "MOTCUA_CONTACT_KEY", "POSTGRES_PASSWORD")


@pytest.fixture(scope="module")
def single() -> dict[str, Any]:
    return composefile.load(".env.example")


@pytest.fixture(scope="module")
def ha() -> dict[str, Any]:
    return composefile.load(".env.example", "ha.env")


def _env(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment", {})
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: str(v) for k, v in env.items()}


def test_secrets_have_no_defaults() -> None:
    """Without a .env the file refuses to render: no built-in secret can ship."""
    with pytest.raises(composefile.Unset):
        composefile.load()
    raw = composefile.COMPOSE.read_text(encoding="utf-8")
    for name in SECRET_ENV:
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", raw)
        assert uses, name
        assert all(u.startswith(":?") for u in uses), f"{name} must be ${{{name}:?...}}"


def test_no_service_runs_on_a_placeholder_secret() -> None:
    """A secret whose built-in value is a development placeholder must be set, and
    from .env with no fallback, for every service that reads it."""
    raw = composefile.raw()["services"]
    rows = [r for r in collect() if r.default == PLACEHOLDER]
    assert rows
    for row in rows:
        for name in row.services:
            env = raw[name]["environment"]
            given = [n for n in row.names if n in env]
            assert given, f"{name}: {row.names[0]} is not set"
            assert re.match(r"\$\{\w+:\?", str(env[given[0]])), f"{name}: {given[0]} needs :?"


def test_every_service_runs_the_image_with_its_command(single: dict[str, Any]) -> None:
    services = single["services"]
    for name in SERVICES:
        svc = services[name]
        assert svc["image"] == facts.image()
        assert svc["build"]["context"] == ".."
        assert svc["command"] == ["run", name]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["topics"]["command"][:2] == ["topics", "--replication"]


def test_every_service_has_its_required_env(single: dict[str, Any]) -> None:
    for name, info in SERVICES.items():
        env = _env(single["services"][name])
        for var in REQUIRED_ENV:
            assert env.get(var), f"{name}: {var} unset"
        assert env[f"MOTCUA_{name.upper()}_HOST"] == "0.0.0.0"
        assert env.get(f"MOTCUA_{name.upper()}_PORT", str(info.port)) == str(info.port)
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in env["DATABASE_URL"]
    assert _env(single["services"]["migrate"])["DATABASE_URL"].startswith("postgresql://")
    assert _env(single["services"]["topics"])["KAFKA_BOOTSTRAP_SERVERS"]


def test_env_names_are_ones_the_settings_read(single: dict[str, Any]) -> None:
    """A typo in a variable name would be silently ignored by pydantic-settings."""
    known = {n for row in collect() for n in row.names}
    for name in (*SERVICES, *JOBS):
        for var in _env(single["services"][name]):
            assert var in known, f"{name}: {var} is read by no settings class"


def test_ports_and_health_checks_match_the_runtime(single: dict[str, Any]) -> None:
    paths = facts.health_paths()
    for name, info in SERVICES.items():
        svc = single["services"][name]
        published = [str(p).rsplit(":", 1)[-1] for p in svc["ports"]]
        assert published == [str(info.port)]
        test = svc["healthcheck"]["test"]
        assert paths["readiness"] in test or paths["liveness"] in test
        assert name in test, "the probe names its own service"
        assert svc["stop_grace_period"]


def test_depends_on_conditions(single: dict[str, Any], ha: dict[str, Any]) -> None:
    for model in (single, ha):
        services = model["services"]
        for name, svc in services.items():
            for dep, spec in svc.get("depends_on", {}).items():
                assert isinstance(spec, dict), f"{name}: long depends_on syntax with a condition"
                condition = spec["condition"]
                if dep not in services:
                    assert spec.get("required") is False, f"{name} needs {dep}, not enabled"
                    continue
                if condition == "service_healthy":
                    check = services[dep].get("healthcheck", {})
                    assert check.get("test"), f"{dep} has no health check"
                    assert not check.get("disable"), f"{dep} has its health check disabled"
                elif condition == "service_completed_successfully":
                    assert services[dep]["restart"] == "no", f"{dep} is a one-shot job"
                else:
                    pytest.fail(f"{name} -> {dep}: unexpected condition {condition}")
        for name in SERVICES:
            deps = services[name]["depends_on"]
            for job in JOBS:
                assert deps[job]["condition"] == "service_completed_successfully"
        assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services["topics"]["depends_on"]["kafka-1"]["condition"] == "service_healthy"


def _brokers(model: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The Kafka nodes (the kafka-acls job runs the same image, to use its tools)."""
    return {
        n: _env(s)
        for n, s in model["services"].items()
        if str(s.get("image", "")).startswith("apache/kafka:") and "KAFKA_NODE_ID" in _env(s)
    }


def test_single_broker_kraft_by_default(single: dict[str, Any]) -> None:
    brokers = _brokers(single)
    assert list(brokers) == ["kafka-1"]
    env = brokers["kafka-1"]
    assert "controller" in env["KAFKA_PROCESS_ROLES"]
    assert not any(k.startswith("KAFKA_ZOOKEEPER") for k in env)
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka-1:9093"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert single["services"]["topics"]["command"] == ["topics", "--replication", "1"]
    assert _env(single["services"]["queue"])["KAFKA_BOOTSTRAP_SERVERS"] == "kafka-1:9092"


def test_ha_profile_runs_three_brokers_with_replication_three(ha: dict[str, Any]) -> None:
    brokers = _brokers(ha)
    assert sorted(brokers) == ["kafka-1", "kafka-2", "kafka-3"]
    ids = {env["KAFKA_NODE_ID"] for env in brokers.values()}
    assert ids == {"1", "2", "3"}
    voters = {env["KAFKA_CONTROLLER_QUORUM_VOTERS"] for env in brokers.values()}
    assert voters == {"1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"}
    assert len({env["CLUSTER_ID"] for env in brokers.values()}) == 1
    for env in brokers.values():
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    assert ha["services"]["topics"]["command"] == ["topics", "--replication", "3"]
    for name in SERVICES:
        bootstrap = _env(ha["services"][name])["KAFKA_BOOTSTRAP_SERVERS"].split(",")
        assert sorted(b.split(":")[0] for b in bootstrap) == sorted(brokers)
    deps = ha["services"]["topics"]["depends_on"]
    assert all(deps[b]["condition"] == "service_healthy" for b in brokers)


def test_images_are_pinned(single: dict[str, Any]) -> None:
    raw = composefile.raw()
    for name, svc in raw["services"].items():
        image = composefile.interpolate(svc["image"], {})
        assert ":" in image, f"{name}: {image} has no tag"
        tag = image.rsplit(":", 1)[1]
        assert tag != "latest", name
        assert re.match(r"v?\d+\.\d+", tag), f"{name}: {image} is not a version"
    assert re.fullmatch(r"postgres:18\.\d+.*", raw["services"]["postgres"]["image"])
    assert re.fullmatch(r"apache/kafka:\d+\.\d+\.\d+", raw["services"]["kafka-1"]["image"])


def test_monitoring_profile_and_its_files() -> None:
    model = composefile.load(".env.example", environ={"COMPOSE_PROFILES": "monitoring"})
    services = model["services"]
    assert {"prometheus", "grafana"} <= set(services)
    assert "prometheus" not in composefile.load(".env.example")["services"]
    for svc in services.values():
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (composefile.DEPLOY / source).exists(), source


def test_motcua_containers_are_hardened(single: dict[str, Any]) -> None:
    for name in (*SERVICES, *JOBS):
        svc = single["services"][name]
        assert svc["read_only"] is True
        assert svc["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in svc["security_opt"]
