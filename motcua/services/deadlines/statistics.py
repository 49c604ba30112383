"""On-time statistics: pure classification, tallies and their renderings (JSON, CSV, table).

The cohort of a report is the dossiers **received** in the period (local dates, inclusive)
and at or before the report's instant ``as_of``. Each is classified by its state at
``as_of``, on business time:

* resolved early / on time / late (the resolution's outcome, see ``domain``);
* withdrawn: withdrawn by the applicant or stopped (no result is due any more);
* in progress within the deadline, or in progress overdue (``as_of`` is past the due
  instant as it stood at ``as_of``).

So the figures reconcile by construction: received = resolved + withdrawn + in progress.
The on-time rate is (early + on time) / resolved, the measure the centers publish; it is
undefined (``None``) when nothing was resolved.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from motcua.services.deadlines.domain import (
    ClockFacts,
    ClosureKind,
    Outcome,
    compute_clock,
    due_as_of,
)
from motcua.services.deadlines.errors import InvalidInput
from motcua.shared.calendar import WorkingCalendar


class Category(StrEnum):
    """Where one dossier of the cohort stands at the report's instant."""

    RESOLVED_EARLY = "resolved_early"
    RESOLVED_ON_TIME = "resolved_on_time"
    RESOLVED_LATE = "resolved_late"
    WITHDRAWN = "withdrawn"
    IN_PROGRESS_WITHIN = "in_progress_within"
    IN_PROGRESS_OVERDUE = "in_progress_overdue"


OUTCOME_CATEGORY = {
    Outcome.EARLY: Category.RESOLVED_EARLY,
    Outcome.ON_TIME: Category.RESOLVED_ON_TIME,
    Outcome.LATE: Category.RESOLVED_LATE,
}


def classify(cal: WorkingCalendar, facts: ClockFacts, as_of: datetime) -> Category:
    """The category of one dossier at ``as_of``, from the facts known at that instant."""
    clock = compute_clock(cal, facts.known_at(as_of))
    if clock.closure is not None:
        if clock.closure.kind is ClosureKind.RESOLVED and clock.outcome is not None:
            return OUTCOME_CATEGORY[clock.outcome]
        return Category.WITHDRAWN
    if as_of > due_as_of(cal, clock, as_of):
        return Category.IN_PROGRESS_OVERDUE
    return Category.IN_PROGRESS_WITHIN


@dataclass
class Tally:
    """Counts for one group; the derived figures always reconcile with ``received``."""

    resolved_early: int = 0
    resolved_on_time: int = 0
    resolved_late: int = 0
    withdrawn: int = 0
    in_progress_within: int = 0
    in_progress_overdue: int = 0

    def add(self, category: Category, n: int = 1) -> None:
        setattr(self, category.value, getattr(self, category.value) + n)

    @property
    def resolved(self) -> int:
        return self.resolved_early + self.resolved_on_time + self.resolved_late

    @property
    def on_time(self) -> int:
        """Resolved on time or early."""
        return self.resolved_early + self.resolved_on_time

    @property
    def in_progress(self) -> int:
        return self.in_progress_within + self.in_progress_overdue

    @property
    def received(self) -> int:
        return self.resolved + self.withdrawn + self.in_progress

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.resolved if self.resolved else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "resolved": self.resolved,
            "resolved_early": self.resolved_early,
            "resolved_on_time": self.resolved_on_time,
            "resolved_late": self.resolved_late,
            "resolved_on_time_or_early": self.on_time,
            "withdrawn": self.withdrawn,
            "in_progress": self.in_progress,
            "in_progress_within_deadline": self.in_progress_within,
            "in_progress_overdue": self.in_progress_overdue,
            "on_time_rate": self.on_time_rate,
        }


@dataclass(frozen=True)
class ReportQuery:
    """A report's scope: one center (or all when None), a period of local dates, an instant."""

    center_id: str | None
    start: date
    end: date
    as_of: datetime
    tz: ZoneInfo = field(default=ZoneInfo("Asia/Ho_Chi_Minh"))

    @classmethod
    def build(
        cls,
        *,
        center_id: str | None,
        start: date,
        end: date,
        as_of: datetime | None,
        now: datetime,
        tz: ZoneInfo,
        calendar: WorkingCalendar | None = None,
    ) -> ReportQuery:
        """Validate the period; ``as_of`` defaults to the period's end or now, if earlier.
        With a ``calendar``, the period and ``as_of`` must be days it covers."""
        if calendar is not None:
            for name, value in (("from", start), ("to", end), ("as_of", as_of)):
                if value is not None and not calendar.covers(value):
                    first, last = calendar.years
                    raise InvalidInput(
                        name, f"outside the years {first}-{last} the working calendar covers"
                    )
        if end < start:
            raise InvalidInput("to", f"the period ends ({end}) before it starts ({start})")
        query = cls(center_id, start, end, now, tz)
        if as_of is None:
            as_of = min(now, query.window[1])
        elif as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=tz)
        return cls(center_id, start, end, as_of.astimezone(UTC), tz)

    @property
    def window(self) -> tuple[datetime, datetime]:
        """Receipt instants counted: ``[start 00:00, day after end 00:00)`` local, in UTC."""
        lo = datetime.combine(self.start, time(), tzinfo=self.tz)
        hi = datetime.combine(self.end + timedelta(days=1), time(), tzinfo=self.tz)
        return lo.astimezone(UTC), hi.astimezone(UTC)


NO_LINE = ""


@dataclass
class OnTimeReport:
    """The tallies of a cohort in total, by procedure and by service line."""

    query: ReportQuery
    total: Tally = field(default_factory=Tally)
    by_procedure: dict[str, Tally] = field(default_factory=dict)
    by_line: dict[str, Tally] = field(default_factory=dict)

    @classmethod
    def from_counts(
        cls, query: ReportQuery, counts: Iterable[tuple[str, str | None, Category, int]]
    ) -> OnTimeReport:
        """Build from ``(procedure, line, category, n)`` rows (a row may repeat a group)."""
        report = cls(query)
        for procedure, line, category, n in counts:
            report.total.add(category, n)
            report.by_procedure.setdefault(procedure, Tally()).add(category, n)
            report.by_line.setdefault(line or NO_LINE, Tally()).add(category, n)
        report.by_procedure = dict(sorted(report.by_procedure.items()))
        report.by_line = dict(sorted(report.by_line.items()))
        return report

    def headline(self) -> str:
        """The center's own sentence, e.g. "3,510 dossiers received, 3,450 resolved on time
        or early, 60 in progress." Late and withdrawn figures appear only when non-zero."""
        t = self.total
        parts = [f"{t.received:,} dossiers received", f"{t.on_time:,} resolved on time or early"]
        if t.resolved_late:
            parts.append(f"{t.resolved_late:,} resolved late")
        if t.withdrawn:
            parts.append(f"{t.withdrawn:,} withdrawn")
        progress = f"{t.in_progress:,} in progress"
        if t.in_progress_overdue:
            progress += f" ({t.in_progress_overdue:,} overdue)"
        parts.append(progress)
        return ", ".join(parts) + "."

    def to_json(self) -> dict[str, Any]:
        q = self.query
        return {
            "center_id": q.center_id,
            "from": q.start.isoformat(),
            "to": q.end.isoformat(),
            "as_of": q.as_of.isoformat(),
            "timezone": q.tz.key,
            "headline": self.headline(),
            "total": self.total.as_dict(),
            "by_procedure": [
                {"procedure_code": k, **v.as_dict()} for k, v in self.by_procedure.items()
            ],
            "by_line": [{"line_code": k or None, **v.as_dict()} for k, v in self.by_line.items()],
        }

    def rows(self) -> list[tuple[str, str, Tally]]:
        """``(scope, key, tally)`` for the total, each procedure, then each service line."""
        out = [("total", "all", self.total)]
        out += [("procedure", k, v) for k, v in self.by_procedure.items()]
        out += [("line", k or "(none)", v) for k, v in self.by_line.items()]
        return out

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["scope", "key", *CSV_COLUMNS])
        for scope, key, tally in self.rows():
            figures = tally.as_dict()
            rate = figures["on_time_rate"]
            figures["on_time_rate"] = "" if rate is None else f"{rate:.4f}"
            writer.writerow([scope, key, *(figures[c] for c in CSV_COLUMNS)])
        return buffer.getvalue()

    def to_table(self) -> str:
        q = self.query
        scope = f"center {q.center_id}" if q.center_id else "all centers"
        as_of = q.as_of.astimezone(q.tz).strftime("%Y-%m-%d %H:%M:%S %z")
        lines = [
            f"On-time report, {scope}: received {q.start:%d/%m/%Y} to {q.end:%d/%m/%Y}, "
            f"as of {as_of}",
            self.headline(),
            "",
        ]
        header = ["SCOPE", "KEY", *TABLE_HEADERS]
        body = [
            [scope_, key, *(_cell(tally, c) for c in TABLE_COLUMNS)]
            for scope_, key, tally in self.rows()
        ]
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        for row in [header, *body]:
            cells = [
                cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            ]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines) + "\n"


CSV_COLUMNS = (
    "received",
    "resolved",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "resolved_on_time_or_early",
    "withdrawn",
    "in_progress",
    "in_progress_within_deadline",
    "in_progress_overdue",
    "on_time_rate",
)
TABLE_COLUMNS = (
    "received",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "withdrawn",
    "in_progress",
    "in_progress_overdue",
    "on_time_rate",
)
TABLE_HEADERS = (
    "RECEIVED",
    "EARLY",
    "ON TIME",
    "LATE",
    "WITHDRAWN",
    "IN PROGRESS",
    "OF WHICH OVERDUE",
    "ON-TIME RATE",
)


def _cell(tally: Tally, column: str) -> str:
    value = tally.as_dict()[column]
    if column == "on_time_rate":
        return "-" if value is None else f"{value:.2%}"
    return f"{value:,}"
