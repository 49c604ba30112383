"""Per-center calendars: overrides merged onto the national calendar."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from motcua.services.deadlines import calendars
from motcua.shared.calendar import CalendarError, TimeLimit, TimeUnit, WorkingCalendar

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_no_overrides_is_the_national_calendar() -> None:
    assert calendars.build({}) is WorkingCalendar.default()


def test_extra_day_off_and_make_up_day_add_to_the_national_lists() -> None:
    cal = calendars.build(
        calendars.normalise(
            {"extra_days_off": [date(2026, 3, 3)], "make_up_working_days": [date(2026, 3, 7)]}
        )
    )
    assert not cal.is_working_day(date(2026, 3, 3))
    assert cal.is_working_day(date(2026, 3, 7))  # a Saturday
    # The national swaps still hold.
    assert not cal.is_working_day(date(2026, 1, 2))
    assert cal.is_working_day(date(2026, 1, 10))
    # Received Monday 2 March, 2 working days: Wed 4 and Thu 5 (Tue 3 is off).
    due = cal.due_at(datetime(2026, 3, 2, 9, tzinfo=VN), TimeLimit(2, TimeUnit.WORKING_DAYS))
    assert due == datetime(2026, 3, 5, 17, tzinfo=VN)


def test_a_center_decision_wins_over_the_national_swap() -> None:
    cal = calendars.build(
        {"extra_days_off": ["2026-01-10"], "make_up_working_days": ["2026-01-02"]}
    )
    assert not cal.is_working_day(date(2026, 1, 10))
    assert cal.is_working_day(date(2026, 1, 2))


def test_saturday_mornings_replace_only_saturday() -> None:
    cal = calendars.build({"weekly_sessions": {"sat": [["07:30", "11:30"]]}})
    assert len(cal.working_sessions(date(2026, 3, 7))) == 1
    assert len(cal.working_sessions(date(2026, 3, 6))) == 2  # Friday unchanged
    assert not cal.is_working_day(date(2026, 3, 8))


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"weekly_sessions": {"sat": [["11:30", "07:30"]]}}, "weekly_sessions.sat[0]"),
        ({"rollover_cutoff": "25:00"}, "rollover_cutoff"),
        ({"timezone": "UTC"}, "unknown calendar override"),
    ],
)
def test_bad_overrides_name_the_field(overrides: dict[str, object], fragment: str) -> None:
    with pytest.raises(CalendarError, match=re.escape(fragment)):
        calendars.build(overrides)
