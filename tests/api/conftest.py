"""The whole system running on the suite's servers, and staff tokens for it, for the
tests that hold the OpenAPI documents to what the live services answer."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from motcua.devtools.stack import AUTH_SECRET, CENTER
from tests.support.chaos_stack import stack_fixture

stack = stack_fixture("package", "api")

TIER = "MOTCUA_TEST_API"


@pytest.fixture(autouse=True)
def _own_step() -> None:
    """A few minutes of requests: CI runs this tier as its own step, ``make test-api``."""
    if not os.environ.get(TIER):
        pytest.skip(f"the API contract tier runs with `make test-api` ({TIER}=1)")


ROLES = ("clerk", "leader", "admin")


def staff_token(role: str) -> str:
    """A token as an operator makes one, ``motcua token``, with the stack's secret."""
    env = os.environ | {"MOTCUA_DEV_MODE": "true", "MOTCUA_AUTH_SECRET": AUTH_SECRET}
    out = subprocess.run(
        [sys.executable, "-m", "motcua.devtools.cli", "token", "--center", CENTER,
         "--subject", f"api-{role}", "--role", role],
        env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return out.strip().splitlines()[-1]


@pytest.fixture(scope="package")
def tokens() -> dict[str, str]:
    return {role: staff_token(role) for role in ROLES}
