"""Known bugs the chaos run found that a plain check can pin (no system needed)."""

from __future__ import annotations

import asyncpg
import pytest

from shared.db import RETRYABLE, is_unavailable

PG_RESTART_BUG = (
    "shared/db.py: after a PostgreSQL restart a pooled connection fails with asyncpg's "
    "InternalClientError ('cannot switch to state 15; another operation (2) is in progress', "
    "seen in `make chaos` postgres-restart on queue POST /centers/{c}/tickets and intake POST "
    "/v1/dossiers/{id}/return); UNAVAILABLE does not list it, so the request gets a 500, not "
    "503 + Retry-After, and a consumer takes the event for a poison one"
)


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=PG_RESTART_BUG)
def test_a_connection_broken_by_a_restart_counts_as_the_database_being_away() -> None:
    broken = asyncpg.InternalClientError(
        "cannot switch to state 15; another operation (2) is in progress"
    )
    assert is_unavailable(broken)
    assert isinstance(broken, RETRYABLE)
