"""On-time statistics: classification at an instant, tallies, and the three renderings."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from motcua.services.deadlines.domain import (
    ClockFacts,
    Closure,
    ClosureKind,
    PauseChannel,
    PauseMark,
)
from motcua.services.deadlines.errors import InvalidInput
from motcua.services.deadlines.statistics import (
    Category,
    OnTimeReport,
    ReportQuery,
    Tally,
    classify,
)
from motcua.shared.calendar import TimeLimit, TimeUnit, WorkingCalendar
from tests.support.clock import VN, vn

RECEIVED = vn(2026, 3, 2, 9)  # 3 working days: due Thursday 5 March 17:00
PAUSE = (
    PauseMark(PauseChannel.SUPPLEMENT, True, vn(2026, 3, 3, 10)),
    PauseMark(PauseChannel.SUPPLEMENT, False, vn(2026, 3, 4, 10)),
)


@pytest.mark.parametrize(
    ("as_of", "category"),
    [
        (vn(2026, 3, 5, 16), Category.IN_PROGRESS_WITHIN),
        (vn(2026, 3, 3, 15), Category.IN_PROGRESS_WITHIN),  # paused in time
        (vn(2026, 3, 6, 16), Category.IN_PROGRESS_WITHIN),  # due Friday 17:00 after the pause
        (vn(2026, 3, 6, 17, 1), Category.IN_PROGRESS_OVERDUE),
        (vn(2026, 3, 9, 11), Category.RESOLVED_LATE),  # resolved Monday 10:00
    ],
)
def test_classify_at_an_instant(as_of: datetime, category: Category) -> None:
    cal = WorkingCalendar.default()
    facts = ClockFacts(
        RECEIVED,
        TimeLimit(3, TimeUnit.WORKING_DAYS),
        PAUSE,
        closures=(Closure(ClosureKind.RESOLVED, vn(2026, 3, 9, 10)),),
    )
    assert classify(cal, facts, as_of) is category


def test_classify_ignores_facts_after_the_instant() -> None:
    """On Thursday evening, before the supplement is provided, the pause is open: in time."""
    cal = WorkingCalendar.default()
    facts = ClockFacts(RECEIVED, TimeLimit(3, TimeUnit.WORKING_DAYS), PAUSE)
    assert classify(cal, facts, vn(2026, 3, 3, 20)) is Category.IN_PROGRESS_WITHIN
    withdrawn = ClockFacts(
        RECEIVED,
        TimeLimit(3, TimeUnit.WORKING_DAYS),
        closures=(Closure(ClosureKind.STOPPED, vn(2026, 3, 4)),),
    )
    assert classify(cal, withdrawn, vn(2026, 3, 4, 1)) is Category.WITHDRAWN
    assert classify(cal, withdrawn, vn(2026, 3, 3)) is Category.IN_PROGRESS_WITHIN


def test_tally_reconciles_and_rates() -> None:
    t = Tally()
    assert t.on_time_rate is None
    t.add(Category.RESOLVED_EARLY, 3)
    t.add(Category.RESOLVED_ON_TIME)
    t.add(Category.RESOLVED_LATE)
    t.add(Category.WITHDRAWN, 2)
    t.add(Category.IN_PROGRESS_OVERDUE)
    assert (t.received, t.resolved, t.in_progress, t.on_time) == (8, 5, 1, 4)
    assert t.on_time_rate == pytest.approx(0.8)


def query(**kw: object) -> ReportQuery:
    base: dict[str, object] = {
        "center_id": "nam-cuong",
        "start": date(2025, 7, 1),
        "end": date(2025, 11, 27),
        "as_of": None,
        "now": datetime(2026, 1, 1, tzinfo=UTC),
        "tz": VN,
    }
    return ReportQuery.build(**(base | kw))  # type: ignore[arg-type]


def test_query_window_and_default_instant() -> None:
    q = query()
    assert q.window == (vn(2025, 7, 1), vn(2025, 11, 28))
    assert q.as_of == vn(2025, 11, 28)  # the period's end, earlier than now
    assert query(now=vn(2025, 8, 1, 12)).as_of == vn(2025, 8, 1, 12)
    assert query(as_of=datetime(2025, 9, 1, 8)).as_of == vn(2025, 9, 1, 8)  # naive: local
    with pytest.raises(InvalidInput, match="to"):
        query(start=date(2025, 12, 1))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("from", date(1900, 12, 31)),
        ("to", date(9999, 12, 31)),  # the day after would not even exist
        ("as_of", datetime(2101, 1, 1, 0, 30)),  # naive: local
        ("as_of", datetime(2100, 12, 31, 17, 30, tzinfo=UTC)),  # 2101 already in Hà Nội
        ("as_of", datetime(1, 1, 1, 1, tzinfo=VN)),  # no such instant in UTC
    ],
)
def test_a_period_the_calendar_does_not_cover_is_refused(field: str, value: object) -> None:
    cal = WorkingCalendar.default()
    query(calendar=cal)  # the default period is covered
    with pytest.raises(InvalidInput, match="outside the years 1901-2100") as refused:
        query(calendar=cal, **{{"from": "start", "to": "end"}.get(field, field): value})
    assert refused.value.field == field


def reference_report() -> OnTimeReport:
    """The Nam Cường figures: 3,510 received, 3,450 resolved on time or early, 60 open."""
    return OnTimeReport.from_counts(
        query(),
        [
            ("CT-BS", "A", Category.RESOLVED_EARLY, 2_900),
            ("CT-BS", "A", Category.RESOLVED_ON_TIME, 300),
            ("HT-KS", "B", Category.RESOLVED_ON_TIME, 250),
            ("HT-KS", None, Category.IN_PROGRESS_WITHIN, 60),
        ],
    )


def test_reference_headline_is_the_centers_own_sentence() -> None:
    report = reference_report()
    assert report.headline() == (
        "3,510 dossiers received, 3,450 resolved on time or early, 60 in progress."
    )
    assert report.total.received == 3_510
    assert report.total.on_time_rate == 1.0


def test_table_csv_and_json_agree() -> None:
    report = reference_report()
    table = report.to_table()
    assert "3,510 dossiers received, 3,450 resolved on time or early, 60 in progress." in table
    total_line = next(line for line in table.splitlines() if line.startswith("total"))
    assert total_line.split() == [
        "total", "all", "3,510", "2,900", "550", "0", "0", "60", "0", "100.00%"
    ]  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [(r["scope"], r["key"]) for r in rows] == [
        ("total", "all"),
        ("procedure", "CT-BS"),
        ("procedure", "HT-KS"),
        ("line", "(none)"),
        ("line", "A"),
        ("line", "B"),
    ]
    assert rows[0]["received"] == "3510"
    assert rows[0]["resolved_on_time_or_early"] == "3450"
    assert rows[0]["on_time_rate"] == "1.0000"
    assert rows[3]["on_time_rate"] == ""  # nothing resolved on that line
    body = report.to_json()
    assert body["total"]["in_progress_within_deadline"] == 60
    by_procedure = {p["procedure_code"]: p["received"] for p in body["by_procedure"]}
    assert by_procedure == {"CT-BS": 3_200, "HT-KS": 310}
    assert sum(line["received"] for line in body["by_line"]) == 3_510


def test_headline_mentions_late_withdrawn_and_overdue_when_present() -> None:
    report = OnTimeReport.from_counts(
        query(),
        [
            ("P", None, Category.RESOLVED_LATE, 2),
            ("P", None, Category.WITHDRAWN, 1),
            ("P", None, Category.IN_PROGRESS_OVERDUE, 1),
        ],
    )
    assert report.headline() == (
        "4 dossiers received, 0 resolved on time or early, 2 resolved late, 1 withdrawn, "
        "1 in progress (1 overdue)."
    )
