"""How many examples a property test draws in this run.

A property test names its full count. The default tier, run on every change, draws a
quarter of it (never fewer than ``FLOOR``): the properties are checked on every run, and
the rarer corners at full strength by ``make test-thorough`` (the hypothesis profile
``thorough``, for a nightly run), which draws every example named."""

from __future__ import annotations

import os

FLOOR = 50
THOROUGH = "thorough"


def thorough() -> bool:
    return os.environ.get("HYPOTHESIS_PROFILE") == THOROUGH


def examples(full: int) -> int:
    """``full`` under the ``thorough`` profile, else a quarter of it (at least ``FLOOR``,
    at most ``full``)."""
    if thorough():
        return full
    return min(full, max(FLOOR, full // 4))
