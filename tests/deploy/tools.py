"""The outside tools the deployment checks run: found on PATH, beside this Python
(pip-installed ones) or in Go's bin folder (go-installed ones), at the versions .ci/run
pins. A check whose tool is missing skips and names the command that installs it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from motcua.devtools.services import ROOT

CI_RUN = ROOT / ".ci" / "run"


def pinned(variable: str) -> str:
    """The version .ci/run pins as ``VARIABLE=version``."""
    match = re.search(rf"^{variable}=(\S+)$", CI_RUN.read_text(encoding="utf-8"), re.M)
    assert match, f".ci/run pins {variable}"
    return match[1]


def find(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    gopath = os.environ.get("GOPATH") or str(Path.home() / "go")
    for folder in (Path(sys.executable).parent, Path(gopath) / "bin"):
        if (folder / name).is_file():
            return str(folder / name)
    return None


def require(name: str, install: str) -> str:
    """The tool's path, or a skip that says how to install it."""
    path = find(name)
    if path is None:
        pytest.skip(f"{name} not installed: {install}")
    return path


def run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )
