"""Every address a browser is given, and every origin it calls from, is set in one place:
urls.env in the production overlay, .env in Compose. None is left at loopback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from motcua.devtools.envdocs import collect
from motcua.devtools.services import ROOT
from tests.deploy import composefile
from tests.deploy.kustomize import Built, build

K8S = ROOT / "deploy" / "k8s"
PRODUCTION = K8S / "overlays" / "production"
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def browser_facing() -> set[str]:
    """The settings whose development default is a service's loopback address: each is
    a link printed for a browser or phone, or a browser origin. The queue's public URL
    defaults to the kiosk's own address, so it is named here."""
    names = {row.names[0] for row in collect() if "http://127.0.0.1" in row.default}
    assert len(names) >= 7, names  # the two CORS lists, five URLs
    return names | {"MOTCUA_QUEUE_PUBLIC_URL"}


def urls_env(directory: Path) -> dict[str, str]:
    return composefile.read_env_file(directory / "urls.env")


def _config(built: Built) -> dict[str, str]:
    data: dict[str, str] = built.find("ConfigMap", "motcua-config")["data"]
    return data


def _assert_from(values: dict[str, str], sources: dict[str, str]) -> None:
    for name in browser_facing():
        value = values.get(name)
        assert value is not None, f"{name} is not set"
        assert not any(host in value for host in LOOPBACK), f"{name}={value}"
        assert any(url in value for url in sources.values()), f"{name}={value} is not public"


def test_the_production_overlay_takes_every_public_address_from_urls_env() -> None:
    sources = urls_env(PRODUCTION)
    assert sources, "urls.env sets nothing"
    assert all(v.startswith("https://") and not v.endswith("/") for v in sources.values())
    _assert_from(_config(build(PRODUCTION)), sources)


def test_changing_urls_env_changes_every_address_and_the_ingress(tmp_path: Path) -> None:
    """Follow urls.env, not a copy of its values: rebuild with other hosts."""
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    other = {
        key: f"https://{key.lower().replace('_', '-')}.tinh.example.vn"
        for key in urls_env(PRODUCTION)
    }
    (copy / "overlays" / "production" / "urls.env").write_text(
        "".join(f"{k}={v}\n" for k, v in other.items()), encoding="utf-8"
    )
    built = build(copy / "overlays" / "production")
    config = _config(built)
    _assert_from(config, other)
    assert not any(old in v for v in config.values() for old in urls_env(PRODUCTION).values())
    # The object store is intake's alone, reached from inside: not a host of the Ingress.
    assert config["MOTCUA_INTAKE_S3_ENDPOINT"] == other["OBJECT_STORE_URL"]
    ingress = built.find("Ingress", "motcua")
    hosts = {url.removeprefix("https://") for k, url in other.items() if k.startswith("PUBLIC_")}
    assert {rule["host"] for rule in ingress["spec"]["rules"]} == hosts
    assert {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]} == hosts


def test_no_placeholder_survives_the_build() -> None:
    text = repr(build(PRODUCTION).resources)
    for key in urls_env(PRODUCTION):
        assert text.count(key) == 1, f"{key} left as a placeholder"  # its own ConfigMap key


def test_compose_takes_every_public_address_from_the_env_file() -> None:
    env = composefile.read_env_file(composefile.DEPLOY / ".env.example")
    sources = {k: v for k, v in env.items() if k.startswith("PUBLIC_") and k.endswith("_URL")}
    public = {k for k in urls_env(PRODUCTION) if k.startswith("PUBLIC_")}
    assert set(sources) == public, "Compose and Kubernetes name them alike"
    moved = {k: v.replace("127.0.0.1", "ward.example.vn") for k, v in sources.items()}
    model = composefile.load(".env.example", environ=moved)
    values: dict[str, str] = {}
    for name in ("queue", "intake", "deadlines", "notify"):
        values |= {k: str(v) for k, v in model["services"][name]["environment"].items()}
    _assert_from(values, moved)


@pytest.mark.parametrize("missing", ["PUBLIC_QUEUE_URL", "PUBLIC_INTAKE_URL"])
def test_compose_refuses_to_start_without_the_public_addresses(missing: str) -> None:
    env = composefile.read_env_file(composefile.DEPLOY / ".env.example")
    env.pop(missing)
    with pytest.raises(composefile.Unset, match=missing):
        composefile.load(environ=env)
