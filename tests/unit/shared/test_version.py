"""One version, from pyproject.toml, on the CLI, on /healthz and in a metric label."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from motcua.devtools.cli import main
from motcua.devtools.services import ROOT
from motcua.shared import version
from motcua.shared.runtime import ServiceRuntime
from motcua.shared.settings import ServiceSettings


def declared() -> str:
    with (ROOT / "pyproject.toml").open("rb") as f:
        found: str = tomllib.load(f)["project"]["version"]
    return found


def test_the_installed_version_is_pyprojects() -> None:
    assert version.motcua_version() == declared()


def test_a_source_tree_without_metadata_reads_pyproject(tmp_path: Path) -> None:
    assert version._from_pyproject(ROOT / "pyproject.toml") == declared()
    assert version._from_pyproject(tmp_path / "missing.toml") == version.UNKNOWN
    broken = tmp_path / "pyproject.toml"
    broken.write_text("[project\n", encoding="utf-8")
    assert version._from_pyproject(broken) == version.UNKNOWN
    broken.write_text('[project]\nname = "motcua"\n', encoding="utf-8")
    assert version._from_pyproject(broken) == version.UNKNOWN


def test_cli_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"motcua {declared()}"


def test_healthz_and_build_info_carry_the_version() -> None:
    runtime = ServiceRuntime("probe", ServiceSettings(dev_mode=True), Path("."))
    app = runtime.create_app(title="probe")
    # No `with`: the lifespan (pool, broker) is not needed for liveness or metrics.
    client = TestClient(app)
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "service": "probe", "version": declared()}
    assert app.version == declared()
    labels = {"service": "probe", "version": declared()}
    assert REGISTRY.get_sample_value("motcua_build_info", labels) == 1
    assert f'motcua_build_info{{service="probe",version="{declared()}"}} 1.0' in (
        client.get("/metrics").text
    )
