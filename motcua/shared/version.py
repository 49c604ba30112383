"""The release this code belongs to, from one place: ``pyproject.toml``'s version.

An installed package (a wheel, or ``pip install -e .``) carries the version in its
metadata, so that is what the CLI, ``/healthz`` and the ``motcua_build_info`` metric
report. A source tree that was never installed has no metadata: then the version is
read from the ``pyproject.toml`` beside the package, so a checkout still says which
release it is instead of failing.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

DISTRIBUTION = "motcua"
UNKNOWN = "0+unknown"
"""A valid PEP 440 version that sorts before every release: nothing claims to be one."""


@cache
def motcua_version() -> str:
    """``0.1.0`` and the like; ``0+unknown`` when neither metadata nor pyproject says."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return _from_pyproject(Path(__file__).resolve().parents[2] / "pyproject.toml")


def _from_pyproject(path: Path) -> str:
    try:
        with path.open("rb") as f:
            found = tomllib.load(f).get("project", {}).get("version")
    except (OSError, tomllib.TOMLDecodeError):
        return UNKNOWN
    return found if isinstance(found, str) and found else UNKNOWN
