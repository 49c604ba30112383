"""deploy/k8s: the Kustomize base and overlays build, and agree with the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from motcua.devtools.envdocs import PLACEHOLDER, collect
from motcua.devtools.services import ROOT, SERVICES
from tests.deploy import composefile, facts
from tests.deploy.kustomize import Built, build, image_name, load_kustomization, pod_spec

K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = sorted(p for p in (K8S / "overlays").iterdir() if p.is_dir())
SECRET_VARS = ("DATABASE_URL", "MOTCUA_AUTH_SECRET", "MOTCUA_CONTACT_KEY")
SASL_VARS = ("MOTCUA_KAFKA_SASL_USERNAME", "MOTCUA_KAFKA_SASL_PASSWORD")
# Created by the operator, never committed (deploy/README.md says how).
KAFKA_USERS = ("queue", "intake", "deadlines", "notify", "registry", "clerk-app", "admin")
EXTERNAL_SECRETS = {
    "production": {"motcua-secrets", "motcua-kafka-ca", *(f"motcua-kafka-{u}" for u in KAFKA_USERS)}
}
PRE_STOP_SECONDS = 5
RELAY_FLUSH_SECONDS = 10  # ServiceRuntime waits this long for the outbox relay on shutdown


@pytest.fixture(scope="module", params=["base", *(p.name for p in OVERLAYS)])
def built(request: pytest.FixtureRequest) -> Built:
    directory = BASE if request.param == "base" else K8S / "overlays" / request.param
    return build(directory)


@pytest.fixture(scope="module", params=[p.name for p in OVERLAYS])
def overlay(request: pytest.FixtureRequest) -> Built:
    return build(K8S / "overlays" / request.param)


def _container(resource: dict[str, Any]) -> dict[str, Any]:
    spec = pod_spec(resource)
    assert spec is not None
    containers: list[dict[str, Any]] = spec["containers"]
    assert len(containers) == 1
    return containers[0]


def _env(built: Built, container: dict[str, Any]) -> dict[str, Any]:
    """Every variable the container sees: envFrom ConfigMaps first, then env."""
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        env |= built.find("ConfigMap", ref)["data"]
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", item.get("valueFrom"))
    return env


def test_every_kustomization_builds_and_overlays_use_the_base() -> None:
    assert {p.name for p in OVERLAYS} >= {"dev", "production"}
    build(BASE)
    for overlay in OVERLAYS:
        k = load_kustomization(overlay)
        assert any((overlay / r).resolve() == BASE.resolve() for r in k["resources"]), overlay
        build(overlay)


def test_every_yaml_file_is_used() -> None:
    """A manifest nobody lists would never be applied."""
    listed: set[Path] = set()
    for directory in (BASE, *OVERLAYS):
        k = load_kustomization(directory)
        listed |= {(directory / r).resolve() for r in k.get("resources", [])}
        listed |= {(directory / p["path"]).resolve() for p in k.get("patches", []) if "path" in p}
        listed.add((directory / "kustomization.yaml").resolve())
    for path in K8S.rglob("*.yaml"):
        assert path.resolve() in listed, f"{path.relative_to(ROOT)} is not referenced"


def test_a_deployment_service_and_budget_per_service(built: Built) -> None:
    for name, info in SERVICES.items():
        deployment = built.find("Deployment", f"motcua-{name}")
        container = _container(deployment)
        assert container["args"] == ["run", name]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": info.port}
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()

        service = built.find("Service", f"motcua-{name}")
        assert service["spec"]["selector"].items() <= labels.items()
        assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
            (info.port, "http")
        ]
        pdb = built.find("PodDisruptionBudget", f"motcua-{name}")
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert "maxUnavailable" in pdb["spec"] or "minAvailable" in pdb["spec"]

        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(info.port)
        assert annotations["prometheus.io/path"] == facts.health_paths()["metrics"]


def test_probes_match_the_runtime(built: Built) -> None:
    paths = facts.health_paths()
    for name in SERVICES:
        container = _container(built.find("Deployment", f"motcua-{name}"))
        assert container["readinessProbe"]["httpGet"] == {
            "path": paths["readiness"],
            "port": "http",
        }
        assert container["livenessProbe"]["httpGet"] == {"path": paths["liveness"], "port": "http"}
        # Liveness must outlast a short broker outage: it tolerates a minute of failures.
        live = container["livenessProbe"]
        assert live["periodSeconds"] * live["failureThreshold"] >= 60


def _quantity(value: str | int) -> float:
    text = str(value)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    for unit, factor in sorted(units.items(), key=lambda u: -len(u[0])):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def test_resources_and_security(built: Built) -> None:
    for resource in built.resources:
        spec = pod_spec(resource)
        if spec is None or not resource["metadata"]["name"].startswith("motcua-"):
            continue
        container = _container(resource)
        res = container["resources"]
        for kind in ("cpu", "memory"):
            assert _quantity(res["requests"][kind]) <= _quantity(res["limits"][kind]), kind
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["enableServiceLinks"] is False, "service links collide with MOTCUA_* names"
        ctx = container["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["capabilities"]["drop"] == ["ALL"]


def test_required_env_and_secret_references(built: Built) -> None:
    known = {n for row in collect() for n in row.names}
    for name in SERVICES:
        container = _container(built.find("Deployment", f"motcua-{name}"))
        env = _env(built, container)
        assert env.get("KAFKA_BOOTSTRAP_SERVERS"), name
        assert env[f"MOTCUA_{name.upper()}_HOST"] == "0.0.0.0"
        assert env[f"MOTCUA_{name.upper()}_PORT"] == str(SERVICES[name].port)
        for var in (*SECRET_VARS, *SASL_VARS):
            assert "secretKeyRef" in env[var], f"{name}: {var} must come from a Secret"
        for var in env:
            assert var in known, f"{name}: {var} is read by no settings class"
        # Secrets whose built-in value is a development placeholder are mandatory.
        for row in collect():
            if row.default == PLACEHOLDER and name in row.services:
                given = [env[n] for n in row.names if n in env]
                assert given, f"{name}: {row.names[0]} unset"
                assert "secretKeyRef" in given[0], f"{name}: {row.names[0]} from a Secret"
                assert not given[0]["secretKeyRef"].get("optional"), row.names[0]
    migrate = _container(built.find("Job", "motcua-migrate"))
    assert migrate["args"] == ["migrate"]
    assert "secretKeyRef" in _env(built, migrate)["DATABASE_URL"]
    topics = _container(built.find("Job", "motcua-topics"))
    assert topics["args"][:2] == ["topics", "--replication"]
    assert _env(built, topics).get("KAFKA_BOOTSTRAP_SERVERS")


def test_secrets_resolve(overlay: Built) -> None:
    """In dev every referenced Secret and key is generated; production names only
    its documented, operator-created Secrets and keys."""
    built = overlay
    name = built.directory.name
    present = {r["metadata"]["name"]: r.get("data", {}) for r in built.of_kind("Secret")}
    external = EXTERNAL_SECRETS.get(name, set())
    readme = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    for resource in built.resources:
        spec = pod_spec(resource)
        if spec is None:
            continue
        refs: list[tuple[str, str | None, bool]] = []
        for c in spec["containers"]:
            for item in c.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    refs.append((ref["name"], ref["key"], bool(ref.get("optional"))))
        refs += [
            (v["secret"]["secretName"], None, False)
            for v in spec.get("volumes", [])
            if "secret" in v
        ]
        for secret, key, optional in refs:
            where = f"{name}: {resource['metadata']['name']}: {secret}/{key}"
            if secret in present:
                assert optional or key is None or key in present[secret], f"{where} missing"
                continue
            assert optional or secret in external, f"{where}: the Secret is never created"
            if secret in external:
                assert secret in readme, f"deploy/README.md must say how to create {secret}"
                assert key is None or f"`{key}`" in readme, f"deploy/README.md must name {key}"
    if name == "production":
        assert not present, "production secrets are created out of band, never committed"


def test_images_agree_with_compose_and_the_project(built: Built) -> None:
    compose = composefile.load(".env.example")
    assert compose["services"]["queue"]["image"] == facts.image()
    names = set()
    for resource in built.resources:
        spec = pod_spec(resource)
        if spec is None or not resource["metadata"]["name"].startswith("motcua-"):
            continue
        image = _container(resource)["image"]
        if image.startswith("apache/kafka:"):  # the ACL Job runs Kafka's own tools
            assert image == compose["services"]["kafka-1"]["image"], image
            continue
        names.add(image_name(image))
        assert image.endswith(":" + facts.project_version()), image
    assert len(names) == 1, names
    if built.directory == BASE:
        assert names == {image_name(facts.image())}


def test_grace_period_covers_the_drain(built: Built) -> None:
    for name in SERVICES:
        deployment = built.find("Deployment", f"motcua-{name}")
        spec = pod_spec(deployment)
        assert spec is not None
        drain = facts.graceful_seconds(name) or 30
        pre_stop = _container(deployment)["lifecycle"]["preStop"]["exec"]["command"]
        assert pre_stop == ["sleep", str(PRE_STOP_SECONDS)]
        assert (
            spec["terminationGracePeriodSeconds"] >= PRE_STOP_SECONDS + drain + RELAY_FLUSH_SECONDS
        )


def test_autoscalers_stay_within_partitions(built: Built) -> None:
    """A consumer group gives each partition to one member: replicas beyond the
    partition count of a consumed topic get none of that topic's work."""
    partitions = facts.partitions()
    scaled: dict[str, dict[str, Any]] = {}
    for hpa in built.of_kind("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment"
        deployment = built.find("Deployment", target["name"])
        assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
        consumes = hpa["metadata"]["annotations"]["motcua/consumes"].split(",")
        assert consumes, target["name"]
        for topic in consumes:
            assert topic in partitions, f"{topic} is not in motcua/shared/events/topics.py"
        ceiling = min(partitions[t] for t in consumes)
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"] <= ceiling
        scaled[target["name"].removeprefix("motcua-")] = hpa
    for name in SERVICES:
        subscribed = facts.consumed_streams(name)
        if not subscribed:
            continue
        assert name in scaled, f"{name} consumes {sorted(subscribed)} but has no autoscaler"
        declared = set(scaled[name]["metadata"]["annotations"]["motcua/consumes"].split(","))
        assert subscribed <= declared, f"{name} consumes {sorted(subscribed - declared)} too"
    assert {"intake", "deadlines", "notify"} <= set(scaled)


def test_hpa_ceiling_is_explained() -> None:
    readme = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    for path in BASE.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        for doc in yaml.safe_load_all(text):
            if doc and doc["kind"] == "HorizontalPodAutoscaler":
                assert re.search(r"partition", text, re.I), f"{path.name}: explain maxReplicas"
                name = doc["metadata"]["name"]
                assert re.search(rf"{name}.*{doc['spec']['maxReplicas']}", readme), name


def test_dev_overlay_is_self_contained() -> None:
    dev = build(K8S / "overlays" / "dev")
    assert {r["metadata"]["name"] for r in dev.of_kind("StatefulSet")} == {"kafka", "postgres"}
    topics = _container(dev.find("Job", "motcua-topics"))
    brokers = dev.find("StatefulSet", "kafka")["spec"]["replicas"]
    assert int(topics["args"][2]) <= brokers
    bootstrap = dev.find("ConfigMap", "motcua-config")["data"]["KAFKA_BOOTSTRAP_SERVERS"]
    host, port = bootstrap.split(":")
    service = dev.find("Service", host)
    assert int(port) in [p["port"] for p in service["spec"]["ports"]]
    for resource in dev.resources:
        assert resource["kind"] == "Namespace" or resource["metadata"]["namespace"] == "motcua-dev"


def test_production_overlay_uses_tls_and_scram() -> None:
    prod = build(K8S / "overlays" / "production")
    config = prod.find("ConfigMap", "motcua-config")["data"]
    assert config["MOTCUA_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["MOTCUA_KAFKA_SASL_MECHANISM"].startswith("SCRAM-")
    ca = config["MOTCUA_KAFKA_SSL_CAFILE"]
    for resource in prod.resources:
        spec = pod_spec(resource)
        if spec is None or "envFrom" not in spec["containers"][0]:
            continue
        mounts = [m["mountPath"] for m in spec["containers"][0].get("volumeMounts", [])]
        assert any(ca.startswith(m + "/") for m in mounts), resource["metadata"]["name"]
    topics = _container(prod.find("Job", "motcua-topics"))
    assert topics["args"] == ["topics", "--replication", "3"]
