"""Bugs the chaos run found, pinned by a plain check (no system needed)."""

from __future__ import annotations

import asyncpg
import pytest

from chaos import known
from motcua.shared.db import RETRYABLE, UNAVAILABLE, is_unavailable


@pytest.mark.parametrize(
    "broken",
    [
        # Seen in the postgres-restart scenario on queue and intake requests.
        asyncpg.InternalClientError(
            "cannot switch to state 15; another operation (2) is in progress"
        ),
        asyncpg.InternalClientError('cannot switch to state 3; protocol is in the "failed" state'),
        asyncpg.InternalClientError("not connected"),
        asyncpg.exceptions.ProtocolError("unexpected message"),
    ],
    ids=["busy", "failed", "not-connected", "protocol"],
)
def test_a_connection_broken_by_a_restart_counts_as_the_database_being_away(
    broken: Exception,
) -> None:
    assert is_unavailable(broken)
    assert isinstance(broken, RETRYABLE)


def test_a_refused_statement_is_not_taken_for_an_outage() -> None:
    assert not is_unavailable(asyncpg.UniqueViolationError("duplicate key"))
    assert not is_unavailable(asyncpg.InternalServerError("internal error"))
    assert asyncpg.PostgresError not in UNAVAILABLE


def test_a_problem_no_known_bug_explains_stays_unexplained() -> None:
    """A failed scenario is reported as failed (with no bug on record, nothing explains
    a loss), not crashed on while being judged."""
    assert known.explained("lost: dossier 1 deadline flag set on the bus", "sigkill-queue") is None
