"""Test tiers that run only on their own ``make`` target."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def skip_unless_tier(items: list[pytest.Item], here: Path, variable: str, target: str) -> None:
    """Skip at collection every test under ``here`` unless ``variable`` is set (its
    ``make`` target sets it), so that ``make test`` starts nothing for the tier."""
    if os.environ.get(variable):
        return
    skip = pytest.mark.skip(reason=f"this tier runs with `make {target}` ({variable}=1)")
    for item in items:
        if here in item.path.parents:
            item.add_marker(skip)
