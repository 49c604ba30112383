"""Bugs the chaos run has found and reported, so that a run can tell them from new ones.

Each is pinned by a strict ``xfail`` test; when it is fixed that test passes,
fails the suite, and the entry here should go. A problem line of a scenario that
matches a bug's pattern (in the scenarios it names) is explained by it; a scenario
whose problems are all explained fails as expected and does not fail the run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownBug:
    key: str
    where: str
    summary: str
    test: str
    pattern: re.Pattern[str] | None = None  # problem lines it explains...
    scenarios: tuple[str, ...] = ()  # ...in these scenarios only (all when empty)

    def explains(self, problem: str, scenario: str) -> bool:
        if self.pattern is None or (self.scenarios and scenario not in self.scenarios):
            return False
        return bool(self.pattern.search(problem))


BUGS: dict[str, KnownBug] = {
    b.key: b
    for b in (
        KnownBug(
            "pg-restart-500",
            "shared/db.py",
            "after a PostgreSQL restart a pooled connection can fail with asyncpg's "
            "InternalClientError ('cannot switch to state 15; another operation (2) is in "
            "progress'), which UNAVAILABLE/RETRYABLE do not list: the HTTP request gets a 500 "
            "instead of 503 + Retry-After, and a consumer would take the event for a poison "
            "one (retried alone, then dead-lettered) instead of pausing.",
            "tests/chaos/test_known_bugs.py::"
            "test_a_connection_broken_by_a_restart_counts_as_the_database_being_away",
            re.compile(r"^(GET|POST|PUT) \S+ -> 500$"),
            ("postgres-restart", "postgres-outage"),
        ),
    )
}


def explained(problem: str, scenario: str) -> KnownBug | None:
    return next((b for b in BUGS.values() if b.explains(problem, scenario)), None)
