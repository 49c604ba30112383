"""The production overlay's edge: the Ingress serves each service on its own host over
TLS, and the NetworkPolicies let only the Ingress controller (and Prometheus) reach the
services, and only the motcua pods reach PostgreSQL and Kafka."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from motcua.devtools.services import ROOT, SERVICES
from tests.deploy.kustomize import Built, build

PRODUCTION = ROOT / "deploy" / "k8s" / "overlays" / "production"
POSTGRES_PORT = 5432
KAFKA_PORT = 9093  # the TLS listener of KAFKA_BOOTSTRAP_SERVERS


@pytest.fixture(scope="module")
def built() -> Built:
    return build(PRODUCTION)


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    return all(
        labels.get(e["key"]) in e["values"]
        for e in selector.get("matchExpressions", [])
        if e["operator"] == "In"
    )


def _pod_labels(built: Built) -> dict[str, dict[str, str]]:
    return {
        r["metadata"]["name"]: r["spec"]["template"]["metadata"]["labels"]
        for r in built.resources
        if r["kind"] in ("Deployment", "Job")
    }


def _policies_for(built: Built, labels: dict[str, str], kind: str) -> list[dict[str, Any]]:
    return [
        p["spec"]
        for p in built.of_kind("NetworkPolicy")
        if kind in p["spec"]["policyTypes"] and _matches(p["spec"]["podSelector"], labels)
    ]


def _namespaces(rules: list[dict[str, Any]], side: str) -> set[str]:
    return {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for rule in rules
        for peer in rule.get(side, [])
        if "namespaceSelector" in peer
    }


def test_the_ingress_serves_each_service_on_its_host_over_tls(built: Built) -> None:
    ingress = built.find("Ingress", "motcua")["spec"]
    backends = {
        rule["host"]: path["backend"]["service"]
        for rule in ingress["rules"]
        for path in rule["http"]["paths"]
    }
    assert sorted(b["name"] for b in backends.values()) == sorted(f"motcua-{s}" for s in SERVICES)
    for backend in backends.values():
        service = built.find("Service", backend["name"])
        assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    (tls,) = ingress["tls"]
    assert tls["secretName"] == "motcua-tls"
    assert set(tls["hosts"]) == set(backends)
    assert "motcua-tls" in (PRODUCTION / "kustomization.yaml").read_text(encoding="utf-8")


def test_everything_not_allowed_is_denied(built: Built) -> None:
    deny = built.find("NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    assert "egress" not in deny


def test_only_the_ingress_controller_and_prometheus_reach_the_services(built: Built) -> None:
    pods = _pod_labels(built)
    for name in SERVICES:
        rules = [
            rule
            for spec in _policies_for(built, pods[f"motcua-{name}"], "Ingress")
            for rule in spec.get("ingress", [])
        ]
        assert rules, name
        assert _namespaces(rules, "from") == {"ingress-nginx", "monitoring"}
        assert all(peer.keys() == {"namespaceSelector"} for r in rules for peer in r["from"])


def test_only_the_motcua_pods_reach_postgresql_and_kafka(built: Built) -> None:
    for name, labels in _pod_labels(built).items():
        ports = {
            port["port"]
            for spec in _policies_for(built, labels, "Egress")
            for rule in spec.get("egress", [])
            for port in rule.get("ports", [])
        }
        assert {POSTGRES_PORT, KAFKA_PORT} <= ports, name
    stranger = {"app.kubernetes.io/name": "debug"}
    reached = {
        port["port"]
        for spec in _policies_for(built, stranger, "Egress")
        for rule in spec.get("egress", [])
        for port in rule.get("ports", [])
    }
    assert reached == {53}, "a pod that is not motcua's may look names up, nothing more"


def test_intake_alone_reaches_the_object_store(built: Built) -> None:
    """The S3 endpoint is set once, in urls.env; a policy lets intake's pods, and only
    theirs, reach its address on its port (notify's gateway rule aside)."""
    store = built.find("NetworkPolicy", "motcua-intake-object-store")["spec"]
    (rule,) = store["egress"]
    (peer,) = rule["to"]
    assert peer.keys() == {"ipBlock"}
    assert peer["ipBlock"]["cidr"] != "0.0.0.0/0", "the object store's address, not anywhere"
    endpoint = urlsplit(
        built.find("ConfigMap", "motcua-config")["data"]["MOTCUA_INTAKE_S3_ENDPOINT"]
    )
    assert endpoint.scheme == "https"
    assert [p["port"] for p in rule["ports"]] == [endpoint.port or 443]
    reaching = {
        labels["app.kubernetes.io/name"]
        for labels in _pod_labels(built).values()
        if _matches(store["podSelector"], labels)
    }
    assert reaching == {"intake"}
