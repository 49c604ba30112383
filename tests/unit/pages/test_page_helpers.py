"""The pure parts of the pages: reading the period, cutting it into weeks, and saying
figures and times the way each language does."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from motcua.services.deadlines import dashboard
from motcua.services.deadlines.dashboard import (
    BadPeriod,
    headline,
    number,
    parse_period,
    percent,
    weeks,
)
from motcua.services.deadlines.statistics import Tally
from motcua.services.intake.pages import long_local

TODAY = date(2026, 3, 20)
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_the_period_defaults_to_the_current_month() -> None:
    assert parse_period("", "", "", TODAY) == (date(2026, 3, 1), date(2026, 3, 31), None)
    assert parse_period("", "", "", date(2024, 2, 10))[:2] == (date(2024, 2, 1), date(2024, 2, 29))
    assert parse_period("", "", "", date(2025, 12, 31))[:2] == (
        date(2025, 12, 1),
        date(2025, 12, 31),
    )


def test_one_end_of_the_period_completes_the_other_within_its_month() -> None:
    assert parse_period("2026-02-10", "", "", TODAY)[:2] == (date(2026, 2, 10), date(2026, 2, 28))
    assert parse_period("", "2025-11-27", "", TODAY)[:2] == (date(2025, 11, 1), date(2025, 11, 27))
    assert parse_period("2025-07-01", "2025-11-27", "", TODAY)[:2] == (
        date(2025, 7, 1),
        date(2025, 11, 27),
    )


def test_as_of_is_a_datetime_or_a_date_meaning_its_end() -> None:
    assert parse_period("", "", "2025-11-27T17:00", TODAY)[2] == datetime(2025, 11, 27, 17)
    assert parse_period("", "", "2025-11-27", TODAY)[2] == datetime(2025, 11, 28)
    aware = parse_period("", "", "2025-11-27T10:00:00+00:00", TODAY)[2]
    assert aware is not None
    assert aware.utcoffset() is not None


@pytest.mark.parametrize(
    ("start", "end", "as_of", "field"),
    [("2026-13-01", "", "", "from"), ("", "31/03/2026", "", "to"), ("", "", "soon", "as_of")],
)
def test_an_unreadable_period_names_its_field(start: str, end: str, as_of: str, field: str) -> None:
    with pytest.raises(BadPeriod) as caught:
        parse_period(start, end, as_of, TODAY)
    assert caught.value.field == field


def test_weeks_run_monday_to_sunday_cut_at_the_period_and_at_the_instant() -> None:
    march = weeks(date(2026, 3, 1), date(2026, 3, 31), until=date(2026, 3, 31))
    assert march == [
        (date(2026, 3, 1), date(2026, 3, 1)),
        (date(2026, 3, 2), date(2026, 3, 8)),
        (date(2026, 3, 9), date(2026, 3, 15)),
        (date(2026, 3, 16), date(2026, 3, 22)),
        (date(2026, 3, 23), date(2026, 3, 29)),
        (date(2026, 3, 30), date(2026, 3, 31)),
    ]
    assert weeks(date(2026, 3, 1), date(2026, 3, 31), until=date(2026, 3, 10))[-1] == (
        date(2026, 3, 9),
        date(2026, 3, 15),
    )
    assert weeks(date(2026, 3, 1), date(2026, 3, 31), until=date(2026, 2, 1)) == []
    # Every day of the period falls in exactly one week.
    days = [w for w in march for _ in range((w[1] - w[0]).days + 1)]
    assert len(days) == 31


def test_a_long_period_keeps_only_the_last_weeks() -> None:
    year = weeks(date(2025, 1, 1), date(2025, 12, 31), until=date(2025, 12, 31))
    assert len(year) == dashboard.MAX_WEEKS
    assert year[-1] == (date(2025, 12, 29), date(2025, 12, 31))


def test_numbers_and_rates_in_each_language() -> None:
    assert (number(3510, "vi"), number(3510, "en")) == ("3.510", "3,510")
    assert (percent(3450 / 3510, "vi"), percent(3450 / 3510, "en")) == ("98,3%", "98.3%")
    assert percent(None, "vi") == "–"


def test_working_time_in_regular_days_hours_and_minutes() -> None:
    day = 27_000  # 7 h 30
    assert dashboard.working_time(-40 * 3600, day, "vi") == "5 ngày 2 giờ 30 phút"
    assert dashboard.working_time(40 * 3600, day, "en") == "5 days 2 h 30 min"
    assert dashboard.working_time(3600, day, "vi") == "1 giờ"
    assert dashboard.working_time(day, day, "en") == "1 day"
    assert dashboard.working_time(0, day, "vi") == "0 phút"


def test_the_headline_is_the_centers_own_sentence() -> None:
    t = Tally(resolved_early=3000, resolved_on_time=450, in_progress_within=60)
    assert headline(t, "vi") == (
        "3.510 hồ sơ tiếp nhận, 3.450 giải quyết đúng hạn và trước hạn, 60 đang giải quyết."
    )
    assert headline(t, "en") == (
        "3,510 dossiers received, 3,450 resolved on time or early, 60 in progress."
    )
    late = Tally(resolved_on_time=1, resolved_late=2, withdrawn=1, in_progress_overdue=1)
    assert headline(late, "en") == (
        "5 dossiers received, 1 resolved on time or early, 2 resolved late, "
        "1 withdrawn or stopped, 1 in progress (1 overdue)."
    )


def test_the_appointment_reads_as_people_say_it() -> None:
    t = datetime(2026, 3, 5, 10, 0, tzinfo=ZoneInfo("UTC"))  # 17:00 in Hà Nội
    assert long_local(t, VN, "vi") == "17 giờ 00 phút, Thứ Năm ngày 05 tháng 03 năm 2026"
    assert long_local(t, VN, "en") == "17:00, Thursday 5 March 2026"
