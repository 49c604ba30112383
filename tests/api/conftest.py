"""The whole system running on the suite's servers, and staff tokens for it, for the
tests that hold the OpenAPI documents to what the live services answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from motcua.devtools.stack import AUTH_SECRET, CENTER
from tests.support.chaos_stack import stack_fixture
from tests.support.tiers import skip_unless_tier

stack = stack_fixture("package", "api")

ROLES = ("clerk", "leader", "admin")
TIER = "MOTCUA_TEST_API"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A few minutes of requests: CI runs this tier as its own step, ``make test-api``.
    Skipped at collection, so that no stack starts for it in ``make test``."""
    skip_unless_tier(items, Path(__file__).parent, TIER, "test-api")


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
