"""Citizens' satisfaction: the ratings (1 to 5) given after a result was returned, tallied
per center, per procedure and per month, for the reports and the leaders' dashboard.

notify owns the rating page and publishes ``feedback.received``; deadlines keeps the
score of each dossier (one per dossier, the first: notify's page refuses a second) with
the local date it was given. A report covers the ratings **given** in its period; the
procedure is the dossier's, joined when the report is read, so a rating consumed before
its dossier's receipt still lands under its procedure.

"Satisfied" is a score of 4 or 5, the share of satisfied ratings the satisfaction rate.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

SCORES = (1, 2, 3, 4, 5)
SATISFIED_FROM = 4


@dataclass
class Ratings:
    """How many ratings of each score one group got."""

    by_score: dict[int, int] = field(default_factory=lambda: dict.fromkeys(SCORES, 0))

    def add(self, score: int, n: int = 1) -> None:
        self.by_score[score] += n

    @property
    def count(self) -> int:
        return sum(self.by_score.values())

    @property
    def average(self) -> float | None:
        """The mean score, undefined (None) with no rating."""
        return sum(s * n for s, n in self.by_score.items()) / self.count if self.count else None

    @property
    def satisfied(self) -> int:
        return sum(n for s, n in self.by_score.items() if s >= SATISFIED_FROM)

    @property
    def satisfied_rate(self) -> float | None:
        return self.satisfied / self.count if self.count else None

    def as_dict(self) -> dict[str, Any]:
        average = self.average
        return {
            "ratings": self.count,
            "average": None if average is None else round(average, 2),
            "satisfied": self.satisfied,
            "satisfied_rate": self.satisfied_rate,
            "by_score": {str(s): n for s, n in self.by_score.items()},
        }


@dataclass
class SatisfactionReport:
    """The ratings given in ``[start, end]`` (local dates), at one center or all."""

    center_id: str | None
    start: date
    end: date
    total: Ratings = field(default_factory=Ratings)
    by_center: dict[str, Ratings] = field(default_factory=dict)
    by_procedure: dict[str | None, Ratings] = field(default_factory=dict)
    by_month: dict[str, Ratings] = field(default_factory=dict)

    @classmethod
    def from_counts(
        cls,
        center_id: str | None,
        start: date,
        end: date,
        counts: list[tuple[str, str | None, date, int, int]],
    ) -> SatisfactionReport:
        """From (center, procedure or None when unknown, month's first day, score, count)."""
        report = cls(center_id, start, end)
        for center, procedure, month, score, n in sorted(
            counts, key=lambda c: (c[0], c[1] or "", c[2], c[3])
        ):
            report.total.add(score, n)
            report.by_center.setdefault(center, Ratings()).add(score, n)
            report.by_procedure.setdefault(procedure, Ratings()).add(score, n)
            report.by_month.setdefault(f"{month:%Y-%m}", Ratings()).add(score, n)
        report.by_month = dict(sorted(report.by_month.items()))
        return report

    def to_json(self) -> dict[str, Any]:
        return {
            "center_id": self.center_id,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "scale": {"min": SCORES[0], "max": SCORES[-1], "satisfied_from": SATISFIED_FROM},
            "total": self.total.as_dict(),
            "by_center": [{"center_id": k, **v.as_dict()} for k, v in self.by_center.items()],
            "by_procedure": [
                {"procedure_code": k, **v.as_dict()} for k, v in self.by_procedure.items()
            ],
            "by_month": [{"month": k, **v.as_dict()} for k, v in self.by_month.items()],
        }

    def to_csv(self) -> str:
        """One row per group: ``group`` (total, center, procedure, month) and its key."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        scores = [f"score_{s}" for s in SCORES]
        writer.writerow(["group", "key", "ratings", "average", "satisfied", *scores])
        rows: list[tuple[str, str, Ratings]] = [("total", "", self.total)]
        rows += [("center", k, v) for k, v in self.by_center.items()]
        rows += [("procedure", k or "", v) for k, v in self.by_procedure.items()]
        rows += [("month", k, v) for k, v in self.by_month.items()]
        for group, key, r in rows:
            average = "" if r.average is None else f"{r.average:.2f}"
            writer.writerow([group, key, r.count, average, r.satisfied, *r.by_score.values()])
        return out.getvalue()
