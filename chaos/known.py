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


# None known: every bug the chaos run has found so far is fixed and has a regression test.
BUGS: dict[str, KnownBug] = {}


def explained(problem: str, scenario: str) -> KnownBug | None:
    """The known bug that accounts for ``problem`` in ``scenario``, if one does."""
    return next((b for b in BUGS.values() if b.explains(problem, scenario)), None)
