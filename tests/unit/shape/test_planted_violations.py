"""The shape checks fail, naming the culprit, on a tree planted with one violation of
each kind: a service importing another, a domain importing asyncpg, a service
without errors.py. Without this a check that never fires would look the same as a
tree that keeps the rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.unit.shape.layout import REQUIRED_MODULES, shape_problems

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _write(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _plant(root: Path) -> None:
    """A tree with the packages the contracts name, every service complete but for
    the three planted faults. ``pyproject.toml`` is the real one, so that the real
    contracts are what runs."""
    _write(root / "pyproject.toml", (ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for package in (
        "motcua",
        "motcua/shared",
        "motcua/services",
        "motcua/devtools",
        "motcua/simulator",
        "bench",
        "chaos",
        "tests",
        "tests/support",
    ):
        _write(root / package / "__init__.py")
    for service in ("queue", "intake", "deadlines", "notify", "registry"):
        home = root / "motcua/services" / service
        _write(home / "__init__.py")
        for module in REQUIRED_MODULES:
            _write(home / module)
        _write(home / "schemas.py")
        _write(home / "repository/__init__.py")
        (home / "migrations").mkdir()
    # (a) a service importing another
    _write(root / "motcua/services/queue/usecases.py", "from motcua.services.intake import api\n")
    # (b) a domain importing asyncpg
    _write(root / "motcua/services/notify/domain.py", "import asyncpg\n")
    # (c) a service without errors.py
    (root / "motcua/services/deadlines/errors.py").unlink()


def test_planted_violations_are_each_reported_by_name(tmp_path: Path) -> None:
    _plant(tmp_path)

    # lint-imports puts its working directory first on sys.path: the planted motcua,
    # not the installed one, is what it reads.
    run = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 1, report
    assert "No service imports another BROKEN" in report
    assert "motcua.services.queue.usecases -> motcua.services.intake.api" in report
    assert "A service's domain imports no I/O or web framework BROKEN" in report
    assert "motcua.services.notify.domain -> asyncpg" in report
    # The planted tree keeps every other contract: only the planted faults are reported.
    assert "Contracts: 4 kept, 2 broken." in report

    services = tmp_path / "motcua/services"
    assert shape_problems(services / "deadlines") == ["deadlines: errors.py is missing"]
    assert shape_problems(services / "queue") == []
