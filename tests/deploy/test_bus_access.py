"""deploy/ gives each service its own Kafka user, allowed to write only what it owns,
with the grants generated from motcua/shared/events/access.py (never edited by hand)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from motcua.devtools.services import ROOT, SERVICES
from motcua.shared.events.access import WRITERS, password_variable, script, user_of
from tests.deploy import composefile
from tests.deploy.kustomize import build, pod_spec

# One file serves both deployments: the Kubernetes Job's ConfigMap and Compose's mount.
SCRIPT = ROOT / "deploy" / "k8s" / "base" / "kafka-acls.sh"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return composefile.load(".env.example")


def _env(svc: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in svc.get("environment", {}).items()}


def _script_variables() -> set[str]:
    return set(re.findall(r"\$\{(\w+):\?\}", script()))


def test_the_shipped_acl_script_is_the_generated_one() -> None:
    assert SCRIPT.read_text(encoding="utf-8") == script(), f"regenerate: motcua acls > {SCRIPT}"


def test_compose_runs_each_service_as_its_own_user(compose: dict[str, Any]) -> None:
    services = compose["services"]
    passwords = set()
    for name in SERVICES:
        env = _env(services[name])
        assert env["MOTCUA_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT", name
        assert env["MOTCUA_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512", name
        assert env["MOTCUA_KAFKA_SASL_USERNAME"] == user_of(name)  # type: ignore[arg-type]
        passwords.add(env["MOTCUA_KAFKA_SASL_PASSWORD"])
        assert services[name]["depends_on"]["kafka-acls"]["condition"] == (
            "service_completed_successfully"
        )
    assert len(passwords) == len(SERVICES), "one password per service"
    raw = composefile.raw()["services"]
    for name in SERVICES:
        password = raw[name]["environment"]["MOTCUA_KAFKA_SASL_PASSWORD"]
        assert re.fullmatch(rf"\$\{{KAFKA_{name.upper()}_PASSWORD:\?[^}}]+\}}", password)


def test_compose_brokers_authenticate_every_client_and_authorize_by_acl(
    compose: dict[str, Any],
) -> None:
    env = _env(compose["services"]["kafka-1"])
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}, "no anonymous listener"
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert env["KAFKA_SUPER_USERS"] == "User:motcua-admin"
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"


def test_compose_acl_job_runs_the_script_with_every_password(compose: dict[str, Any]) -> None:
    job = compose["services"]["kafka-acls"]
    assert job["restart"] == "no"
    assert "./k8s/base/kafka-acls.sh:/opt/motcua/acls.sh:ro" in job["volumes"]
    assert job["entrypoint"][-1] == "/opt/motcua/acls.sh"
    assert _script_variables() <= set(_env(job)), "the script reads these"


def test_kubernetes_runs_each_service_as_its_own_user() -> None:
    for overlay in ("production", "dev"):
        built = build(ROOT / "deploy" / "k8s" / "overlays" / overlay)
        for name in SERVICES:
            spec = pod_spec(built.find("Deployment", f"motcua-{name}"))
            assert spec is not None
            env = {e["name"]: e for e in spec["containers"][0]["env"]}
            for var in ("MOTCUA_KAFKA_SASL_USERNAME", "MOTCUA_KAFKA_SASL_PASSWORD"):
                ref = env[var]["valueFrom"]["secretKeyRef"]
                assert ref["name"] == f"motcua-kafka-{name}", (overlay, name, var)
    prod = build(ROOT / "deploy" / "k8s" / "overlays" / "production")
    job = pod_spec(prod.find("Job", "motcua-kafka-acls"))
    assert job is not None
    container = job["containers"][0]
    assert container["image"] == composefile.raw()["services"]["kafka-1"]["image"]
    given = {e["name"] for e in container["env"]}
    given |= set(prod.find("ConfigMap", "motcua-config")["data"])
    assert _script_variables() <= given
    assert {f"{password_variable(o)}" for o in WRITERS} <= given
    script_map = prod.find("ConfigMap", "motcua-kafka-acls")["data"]
    assert script_map["kafka-acls.sh"] == script()
