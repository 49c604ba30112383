"""Working calendar: hand-checked cases against the official 2025-2026 schedules, plus
property tests against an independent numpy business-day oracle."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.shared.calendar import CalendarError, TimeLimit, TimeUnit, WorkingCalendar
from tests.support.clock import VN, vn

DAY = TimeUnit.WORKING_DAYS
HOUR = TimeUnit.WORKING_HOURS
FULL_DAY = timedelta(hours=7, minutes=30)


def data_file_config() -> dict[str, Any]:
    text = resources.files("motcua.shared.data").joinpath("calendar_vn.json").read_text("utf-8")
    cfg: dict[str, Any] = json.loads(text)
    return cfg


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar.default()


# --- the official 2025-2026 schedules ----------------------------------------------------

# Weekdays that civil servants had off, as announced (including swaps).
OFFICIAL_WEEKDAYS_OFF = [
    date(2025, 1, 1),
    *(date(2025, 1, d) for d in range(27, 32)),  # Tết Ất Tỵ
    date(2025, 4, 7),  # Hùng Kings
    date(2025, 4, 30),
    date(2025, 5, 1),
    date(2025, 5, 2),  # swapped with Sat 26 Apr
    date(2025, 9, 1),  # National Day is two days from 2025
    date(2025, 9, 2),
    date(2026, 1, 1),
    date(2026, 1, 2),  # swapped with Sat 10 Jan
    *(date(2026, 2, d) for d in range(16, 21)),  # Tết Bính Ngọ: 29 Chạp .. mùng 4
    date(2026, 4, 27),  # Hùng Kings falls on Sun 26 Apr
    date(2026, 4, 30),
    date(2026, 5, 1),
    date(2026, 8, 31),  # swapped with Sat 22 Aug
    date(2026, 9, 1),
    date(2026, 9, 2),
]
MAKE_UP_SATURDAYS = [date(2025, 4, 26), date(2026, 1, 10), date(2026, 8, 22)]


@pytest.mark.parametrize("d", OFFICIAL_WEEKDAYS_OFF, ids=str)
def test_official_days_off(cal: WorkingCalendar, d: date) -> None:
    assert d.weekday() < 5
    assert not cal.is_working_day(d)
    assert cal.working_sessions(d) == []


@pytest.mark.parametrize("d", MAKE_UP_SATURDAYS, ids=str)
def test_make_up_saturdays_have_full_weekday_sessions(cal: WorkingCalendar, d: date) -> None:
    assert d.weekday() == 5
    assert cal.is_working_day(d)
    assert cal.working_sessions(d) == [
        (vn(d.year, d.month, d.day, 7, 30), vn(d.year, d.month, d.day, 11, 30)),
        (vn(d.year, d.month, d.day, 13, 30), vn(d.year, d.month, d.day, 17)),
    ]
    # Without the data file it is an ordinary Saturday.
    assert not WorkingCalendar.from_config({}).is_working_day(d)


@pytest.mark.parametrize(("year", "expected"), [(2025, 250), (2026, 249)])
def test_working_days_per_year(cal: WorkingCalendar, year: int, expected: int) -> None:
    # 261 weekdays each year; 2025: -12 off +1 make-up; 2026: -14 off (incl. 24 Nov, Vietnam
    # Culture Day, from holidays.VN) +2 make-up. Any other change to the schedule shows here.
    days = [date(year, 1, 1) + timedelta(i) for i in range(365)]
    assert sum(cal.is_working_day(d) for d in days) == expected


def test_data_file_adds_only_what_holidays_vn_lacks() -> None:
    cfg = data_file_config()
    extra = [date.fromisoformat(e["date"]) for e in cfg["extra_days_off"]]
    make_up = [date.fromisoformat(e["date"]) for e in cfg["make_up_working_days"]]
    vn_holidays = holidays.country_holidays("VN", years=[2025, 2026])
    assert extra
    assert all(d not in vn_holidays for d in extra)  # no double counting
    assert all(d not in vn_holidays and d.weekday() >= 5 for d in make_up)
    assert all(e.get("source") for e in cfg["extra_days_off"] + cfg["make_up_working_days"])


# --- hand-checked due dates ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "limit", "due"),
    [
        # Plain week: Mon 24 Nov 2025.
        (vn(2025, 11, 24, 9), TimeLimit(3, DAY), vn(2025, 11, 27, 17)),
        (vn(2025, 11, 24, 9), TimeLimit(0, DAY), vn(2025, 11, 24, 17)),
        # 15:00 rollover.
        (vn(2025, 11, 24, 16), TimeLimit(0, DAY, rollover=True), vn(2025, 11, 25, 17)),
        (vn(2025, 11, 24, 15), TimeLimit(0, DAY, rollover=True), vn(2025, 11, 25, 17)),
        (vn(2025, 11, 24, 14, 59, 59), TimeLimit(0, DAY, rollover=True), vn(2025, 11, 24, 17)),
        (vn(2025, 11, 24, 16), TimeLimit(0, DAY), vn(2025, 11, 24, 17)),
        (vn(2025, 11, 28, 15, 30), TimeLimit(0, DAY, rollover=True), vn(2025, 12, 1, 17)),
        (vn(2025, 11, 24, 15), TimeLimit(2, HOUR, rollover=True), vn(2025, 11, 25, 9, 30)),
        # After closing, at lunch, before opening.
        (vn(2025, 11, 24, 17), TimeLimit(0, DAY), vn(2025, 11, 25, 17)),
        (vn(2025, 11, 24, 12), TimeLimit(2, HOUR), vn(2025, 11, 24, 15, 30)),
        (vn(2025, 11, 24, 12), TimeLimit(0, DAY, rollover=True), vn(2025, 11, 24, 17)),
        (vn(2025, 11, 24, 6), TimeLimit(4, HOUR), vn(2025, 11, 24, 11, 30)),
        # Sunday: clock starts Monday; the rollover does not apply on a day off.
        (vn(2025, 11, 23, 10), TimeLimit(3, DAY), vn(2025, 11, 27, 17)),
        (vn(2025, 11, 23, 16), TimeLimit(0, DAY, rollover=True), vn(2025, 11, 24, 17)),
        # Working hours: Monday has 6 h left after 09:00; a full day is 7.5 h.
        (vn(2025, 11, 24, 9), TimeLimit(8, HOUR), vn(2025, 11, 25, 9, 30)),
        (vn(2025, 11, 28, 14), TimeLimit(8, HOUR), vn(2025, 12, 1, 14, 30)),  # over a weekend
        (vn(2025, 11, 24, 7, 30), TimeLimit(4, HOUR), vn(2025, 11, 24, 11, 30)),
        # Tết Bính Ngọ 2026 (Tết is Tue 17 Feb; office closed Mon 16 - Fri 20 Feb).
        (vn(2026, 2, 13, 10), TimeLimit(0, DAY), vn(2026, 2, 13, 17)),
        (vn(2026, 2, 13, 10), TimeLimit(1, DAY), vn(2026, 2, 23, 17)),
        (vn(2026, 2, 13, 16), TimeLimit(0, DAY, rollover=True), vn(2026, 2, 23, 17)),
        (vn(2026, 2, 12, 9), TimeLimit(3, DAY), vn(2026, 2, 24, 17)),
        (vn(2026, 2, 18, 9), TimeLimit(2, HOUR), vn(2026, 2, 23, 9, 30)),
        (vn(2026, 2, 13, 16), TimeLimit(8, HOUR), vn(2026, 2, 23, 16, 30)),
        # 30/4 - 1/5.
        (vn(2026, 4, 29, 10), TimeLimit(1, DAY), vn(2026, 5, 4, 17)),
        (vn(2026, 4, 24, 10), TimeLimit(1, DAY), vn(2026, 4, 28, 17)),  # Mon 27 Apr off
        (vn(2025, 4, 25, 10), TimeLimit(1, DAY), vn(2025, 4, 26, 17)),  # make-up Saturday
        (vn(2025, 4, 25, 10), TimeLimit(3, DAY), vn(2025, 4, 29, 17)),
        (vn(2025, 4, 25, 10), TimeLimit(4, DAY), vn(2025, 5, 5, 17)),
        # 2/9 National Day.
        (vn(2025, 8, 29, 10), TimeLimit(1, DAY), vn(2025, 9, 3, 17)),
        (vn(2026, 8, 28, 10), TimeLimit(1, DAY), vn(2026, 9, 3, 17)),
        (vn(2026, 8, 21, 16), TimeLimit(0, DAY, rollover=True), vn(2026, 8, 22, 17)),
        (vn(2026, 8, 21, 16), TimeLimit(4, HOUR), vn(2026, 8, 22, 10, 30)),
        # New Year 2026: Thu 1 and Fri 2 Jan off, Sat 10 Jan worked.
        (vn(2025, 12, 31, 16), TimeLimit(0, DAY, rollover=True), vn(2026, 1, 5, 17)),
        (vn(2026, 1, 5, 9), TimeLimit(5, DAY), vn(2026, 1, 10, 17)),
    ],
)
def test_due_at_hand_checked(
    cal: WorkingCalendar, received: datetime, limit: TimeLimit, due: datetime
) -> None:
    got = cal.due_at(received, limit)
    assert got == due
    assert got.tzinfo is UTC


def test_add_working_days_and_hours_match_due_at(cal: WorkingCalendar) -> None:
    t = vn(2025, 11, 24, 16)
    assert cal.add_working_days(t, 0, rollover=True) == vn(2025, 11, 25, 17)
    assert cal.add_working_days(t, 3) == vn(2025, 11, 27, 17)
    assert cal.add_working_hours(vn(2025, 11, 24, 9), 7.5) == vn(2025, 11, 25, 9)
    assert cal.add_working_hours(vn(2025, 11, 24, 9), timedelta(hours=8)) == vn(2025, 11, 25, 9, 30)
    assert cal.add_working_hours(vn(2025, 11, 24, 9), 0) == vn(2025, 11, 24, 9)
    assert cal.add_working_hours(vn(2025, 11, 24, 12), 0) == vn(2025, 11, 24, 13, 30)
    assert cal.add_working_hours(vn(2025, 11, 24, 9), 1 / 3600) == vn(2025, 11, 24, 9, 0, 1)


def test_effective_start(cal: WorkingCalendar) -> None:
    assert cal.effective_start(vn(2025, 11, 24, 12)) == vn(2025, 11, 24, 13, 30)
    assert cal.effective_start(vn(2025, 11, 24, 11, 30)) == vn(2025, 11, 24, 13, 30)
    assert cal.effective_start(vn(2025, 11, 24, 15), rollover=True) == vn(2025, 11, 25, 7, 30)
    assert cal.effective_start(vn(2025, 11, 22, 9), rollover=True) == vn(2025, 11, 24, 7, 30)
    assert cal.effective_start(vn(2026, 2, 15, 9)) == vn(2026, 2, 23, 7, 30)


def test_next_previous_working_day(cal: WorkingCalendar) -> None:
    assert cal.next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)
    assert cal.next_working_day(date(2026, 2, 16)) == date(2026, 2, 23)
    assert cal.next_working_day(date(2025, 11, 24)) == date(2025, 11, 25)
    assert cal.previous_working_day(date(2026, 2, 23)) == date(2026, 2, 13)
    assert cal.next_working_day(date(2026, 8, 21)) == date(2026, 8, 22)
    assert cal.next_working_day(date(2026, 8, 22)) == date(2026, 8, 24)
    assert cal.next_working_day(date(2026, 8, 28)) == date(2026, 9, 3)


def test_working_time_between(cal: WorkingCalendar) -> None:
    mon9, tue9 = vn(2025, 11, 24, 9), vn(2025, 11, 25, 9)
    assert cal.working_time_between(mon9, tue9) == FULL_DAY
    assert cal.working_time_between(tue9, mon9) == -FULL_DAY
    assert cal.working_time_between(vn(2025, 11, 24, 11), vn(2025, 11, 24, 14)) == timedelta(
        hours=1
    )
    assert cal.working_time_between(vn(2025, 11, 22), vn(2025, 11, 24)) == timedelta(0)
    # Over Tết 2026: Fri 13 Feb 16:00 -> Mon 23 Feb 08:00 is 1 h + 30 min.
    assert cal.working_time_between(vn(2026, 2, 13, 16), vn(2026, 2, 23, 8)) == timedelta(
        minutes=90
    )
    assert cal.working_time_between(vn(2025, 1, 1), vn(2027, 1, 1)) == 499 * FULL_DAY


def test_extend(cal: WorkingCalendar) -> None:
    two_h = timedelta(hours=2)
    assert cal.extend(vn(2025, 11, 27, 10), two_h) == vn(2025, 11, 27, 14)
    assert cal.extend(vn(2025, 11, 24, 17), two_h) == vn(2025, 11, 25, 9, 30)
    assert cal.extend(vn(2025, 11, 24, 17), timedelta(0)) == vn(2025, 11, 24, 17)
    assert cal.extend(vn(2026, 2, 13, 17), FULL_DAY) == vn(2026, 2, 23, 17)
    assert cal.extend(vn(2025, 11, 25, 9, 30), -two_h) == vn(2025, 11, 25, 7, 30)
    assert cal.extend(vn(2025, 11, 25, 9), -two_h) == vn(2025, 11, 24, 16, 30)
    assert cal.extend(vn(2026, 2, 23, 8), -timedelta(hours=1)) == vn(2026, 2, 13, 16, 30)


def test_outputs_are_utc_and_inputs_any_zone(cal: WorkingCalendar) -> None:
    received = datetime(2025, 11, 24, 2, tzinfo=UTC)  # 09:00 in Hà Nội
    berlin = received.astimezone(ZoneInfo("Europe/Berlin"))
    assert cal.due_at(berlin, TimeLimit(3, DAY)) == datetime(2025, 11, 27, 10, tzinfo=UTC)
    assert cal.local_date(datetime(2025, 11, 23, 17, tzinfo=UTC)) == date(2025, 11, 24)
    for start, end in cal.working_sessions(date(2025, 11, 24)):
        assert start.tzinfo is UTC
        assert end.tzinfo is UTC
    assert cal.tz == VN


# --- input validation --------------------------------------------------------------------

NAIVE = datetime(2025, 11, 24, 9)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.due_at(NAIVE, TimeLimit(1, DAY)),
        lambda c: c.add_working_days(NAIVE, 1),
        lambda c: c.add_working_hours(NAIVE, 1),
        lambda c: c.working_time_between(NAIVE, vn(2025, 11, 24)),
        lambda c: c.working_time_between(vn(2025, 11, 24), NAIVE),
        lambda c: c.extend(NAIVE, timedelta(hours=1)),
        lambda c: c.local_date(NAIVE),
        lambda c: c.effective_start(NAIVE),
        lambda c: c.add_working_days(vn(2025, 11, 24), -1),
        lambda c: c.add_working_days(vn(2025, 11, 24), True),
        lambda c: c.add_working_hours(vn(2025, 11, 24), -0.5),
        lambda c: c.add_working_hours(vn(2025, 11, 24), float("nan")),
        lambda c: c.extend(vn(2025, 11, 24), 2),
    ],
)
def test_bad_arguments_raise_calendar_error(cal: WorkingCalendar, call: Any) -> None:
    with pytest.raises(CalendarError):
        call(cal)


def test_naive_datetime_message_is_clear(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.due_at(NAIVE, TimeLimit(1, DAY))


def test_time_limit_validation() -> None:
    assert TimeLimit(3, "working_days").unit is TimeUnit.WORKING_DAYS  # type: ignore[arg-type]
    assert TimeLimit(0, HOUR).rollover is False
    for bad in [(-1, DAY), (1.5, DAY), (True, DAY), (1, "minutes")]:
        with pytest.raises(CalendarError):
            TimeLimit(*bad)  # type: ignore[arg-type]
    with pytest.raises(CalendarError):
        TimeLimit(1, DAY, rollover="yes")  # type: ignore[arg-type]


# --- configuration -----------------------------------------------------------------------


def test_default_is_cached() -> None:
    assert WorkingCalendar.default() is WorkingCalendar.default()


def test_saturday_morning_sessions() -> None:
    c = WorkingCalendar.from_config(
        {"weekly_sessions": {**data_file_config()["weekly_sessions"], "sat": [["07:30", "11:30"]]}}
    )
    assert c.working_sessions(date(2025, 11, 29)) == [
        (vn(2025, 11, 29, 7, 30), vn(2025, 11, 29, 11, 30))
    ]
    # Friday 16:00 + 2 h: 1 h on Friday, 1 h on Saturday morning.
    assert c.add_working_hours(vn(2025, 11, 28, 16), 2) == vn(2025, 11, 29, 8, 30)
    assert c.add_working_days(vn(2025, 11, 28, 9), 1) == vn(2025, 11, 29, 11, 30)


def test_not_holidays_and_extra_days_off_override_package() -> None:
    base = WorkingCalendar.from_config({})
    assert not base.is_working_day(date(2026, 11, 24))
    assert WorkingCalendar.from_config({"not_holidays": ["2026-11-24"]}).is_working_day(
        date(2026, 11, 24)
    )
    off = WorkingCalendar.from_config({"extra_days_off": [{"date": "2025-11-25", "why": "x"}]})
    assert off.add_working_days(vn(2025, 11, 24, 9), 1) == vn(2025, 11, 26, 17)


def test_custom_rollover_cutoff_and_make_up_sessions() -> None:
    c = WorkingCalendar.from_config(
        {
            "rollover_cutoff": "16:00",
            "make_up_working_days": ["2025-11-29"],
            "make_up_day_sessions": [["08:00", "12:00"]],
        }
    )
    assert c.due_at(vn(2025, 11, 24, 15, 30), TimeLimit(0, DAY, rollover=True)) == vn(
        2025, 11, 24, 17
    )
    assert c.working_sessions(date(2025, 11, 29)) == [(vn(2025, 11, 29, 8), vn(2025, 11, 29, 12))]


@pytest.mark.parametrize(
    ("cfg", "match"),
    [
        ({"timezon": "Asia/Ho_Chi_Minh"}, "unknown calendar config key"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"weekly_sessions": {"mon": [["07:30", "11:30"], ["11:00", "17:00"]]}}, "overlap"),
        ({"weekly_sessions": {"mon": [["17:00", "07:30"]]}}, "start before"),
        ({"weekly_sessions": {"mon": [["7:30", "11:30"]]}}, r"weekly_sessions\.mon"),
        ({"weekly_sessions": {"monday": []}}, "unknown weekday"),
        ({"weekly_sessions": {}}, "at least one weekday"),
        ({"rollover_cutoff": "25:00"}, "rollover_cutoff"),
        ({"extra_days_off": ["2026-13-01"]}, "extra_days_off"),
        ({"make_up_working_days": "2026-01-10"}, "make_up_working_days"),
        ({"make_up_working_days": ["2026-01-10"], "extra_days_off": ["2026-01-10"]}, "both"),
        ([], "JSON object"),
    ],
)
def test_bad_config(cfg: Any, match: str) -> None:
    with pytest.raises(CalendarError, match=match):
        WorkingCalendar.from_config(cfg)


def test_from_file(tmp_path: Path) -> None:
    path = tmp_path / "cal.json"
    cfg = data_file_config()
    cfg["extra_days_off"].append({"date": "2025-11-25", "source": "local decision"})
    path.write_text(json.dumps(cfg), encoding="utf-8")
    c = WorkingCalendar.from_file(path)
    assert not c.is_working_day(date(2025, 11, 25))
    assert c.is_working_day(date(2026, 8, 22))
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CalendarError, match="not valid JSON"):
        WorkingCalendar.from_file(str(path))


def test_long_spans_stay_consistent(cal: WorkingCalendar) -> None:
    # Two years of working time: the walk and the measure agree to the second.
    t = vn(2025, 1, 2, 8)
    due = cal.due_at(t, TimeLimit(3600, HOUR))
    assert cal.working_time_between(t, due) == timedelta(hours=3600)


# --- properties ----------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.sampled_from([UTC, VN, ZoneInfo("Europe/Berlin")]),
    allow_imaginary=False,
)
limits = st.builds(TimeLimit, st.integers(0, 40), st.sampled_from(list(TimeUnit)), st.booleans())
working_amounts = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=1500))

# The oracle cannot express make-up Saturdays, so it runs on the data file's configuration
# without them (extra days off kept); holidays come from the same holidays.VN calendar.
_NO_MAKE_UP_CFG = {**data_file_config(), "make_up_working_days": []}
_NO_MAKE_UP = WorkingCalendar.from_config(_NO_MAKE_UP_CFG)
_ORACLE_HOLIDAYS = sorted(
    {*holidays.country_holidays("VN", years=range(2023, 2032))}
    | {date.fromisoformat(e["date"]) for e in _NO_MAKE_UP_CFG["extra_days_off"]}
)
_ORACLE = np.busdaycalendar(weekmask="1111100", holidays=_ORACLE_HOLIDAYS)


def _oracle_due_date(received: datetime, n: int, rollover: bool) -> date:
    local = received.astimezone(VN)
    day = np.datetime64(local.date())
    cutoff = (15, 0) if rollover else (17, 0)
    same_day = bool(np.is_busday(day, busdaycal=_ORACLE)) and (local.hour, local.minute) < cutoff
    start = day if same_day else np.busday_offset(day + 1, 0, roll="forward", busdaycal=_ORACLE)
    due = np.busday_offset(start, n, roll="forward", busdaycal=_ORACLE)
    result: date = due.astype(object)
    return result


@settings(deadline=None)
@given(instants, st.integers(0, 60), st.booleans())
def test_whole_day_limits_match_numpy_oracle(received: datetime, n: int, rollover: bool) -> None:
    due = _NO_MAKE_UP.due_at(received, TimeLimit(n, DAY, rollover))
    assert _NO_MAKE_UP.local_date(due) == _oracle_due_date(received, n, rollover)
    assert due.astimezone(VN).time().hour == 17


@settings(deadline=None)
@given(
    st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)),
    st.integers(0, 800),
)
def test_working_time_over_whole_days_matches_busday_count(start: date, days: int) -> None:
    end = start + timedelta(days=days)
    expected = int(np.busday_count(start, end, busdaycal=_ORACLE)) * FULL_DAY
    a = datetime.combine(start, datetime.min.time(), tzinfo=VN)
    b = datetime.combine(end, datetime.min.time(), tzinfo=VN)
    assert _NO_MAKE_UP.working_time_between(a, b) == expected


@settings(deadline=None)
@given(instants, instants, limits)
def test_due_at_is_monotone_in_receipt(t1: datetime, t2: datetime, limit: TimeLimit) -> None:
    cal = WorkingCalendar.default()
    lo, hi = min(t1, t2), max(t1, t2)
    assert cal.due_at(lo, limit) <= cal.due_at(hi, limit)


@settings(deadline=None)
@given(instants, st.integers(0, 40), st.booleans())
def test_one_more_day_is_the_next_working_day(t: datetime, n: int, rollover: bool) -> None:
    cal = WorkingCalendar.default()
    due = cal.add_working_days(t, n, rollover=rollover)
    later = cal.add_working_days(t, n + 1, rollover=rollover)
    assert cal.is_working_day(cal.local_date(due))
    assert due == cal.working_sessions(cal.local_date(due))[-1][1]
    assert cal.local_date(later) == cal.next_working_day(cal.local_date(due))


@settings(deadline=None)
@given(instants, working_amounts)
def test_add_working_hours_round_trips(a: datetime, h: timedelta) -> None:
    cal = WorkingCalendar.default()
    b = cal.add_working_hours(a, h)
    assert b >= a
    assert cal.working_time_between(a, b) == h


@settings(deadline=None)
@given(instants, working_amounts, working_amounts, st.booleans())
def test_extend_is_additive(due: datetime, x: timedelta, y: timedelta, backward: bool) -> None:
    cal = WorkingCalendar.default()
    if backward:
        x, y = -x, -y
    assert cal.extend(cal.extend(due, x), y) == cal.extend(due, x + y)


@settings(deadline=None)
@given(instants, st.timedeltas(min_value=timedelta(hours=-1500), max_value=timedelta(hours=1500)))
def test_extend_moves_by_exactly_the_working_time(due: datetime, w: timedelta) -> None:
    cal = WorkingCalendar.default()
    assert cal.working_time_between(due, cal.extend(due, w)) == w


@settings(deadline=None)
@given(instants, instants, instants)
def test_working_time_between_is_antisymmetric_and_additive(
    a: datetime, b: datetime, c: datetime
) -> None:
    cal = WorkingCalendar.default()
    ab = cal.working_time_between(a, b)
    assert ab == -cal.working_time_between(b, a)
    assert ab + cal.working_time_between(b, c) == cal.working_time_between(a, c)
    assert abs(ab) <= abs(b - a)


@settings(deadline=None)
@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)))
def test_next_working_day_skips_exactly_the_days_off(d: date) -> None:
    cal = WorkingCalendar.default()
    nxt = cal.next_working_day(d)
    assert nxt > d
    assert cal.is_working_day(nxt)
    between = [d + timedelta(i) for i in range(1, (nxt - d).days)]
    assert not any(cal.is_working_day(x) for x in between)
    prev = cal.previous_working_day(nxt)
    assert prev == d if cal.is_working_day(d) else prev < d


# --- the running totals against a day-by-day walk ----------------------------------------
#
# The calendar measures and walks spans through per-year running totals; these walk the
# public day-level answers one day at a time, the plain definition, on calendars with
# make-up days, Saturday sessions and a time zone with daylight saving time.

BERLIN = ZoneInfo("Europe/Berlin")
CALENDARS = [
    WorkingCalendar.default(),
    WorkingCalendar.from_config(
        {
            "timezone": "Europe/Berlin",
            "holiday_country": "DE",
            "weekly_sessions": {
                "mon": [["08:00", "12:00"], ["13:00", "16:30"]],
                "wed": [["00:00", "04:00"], ["22:00", "23:59"]],  # around the DST switch
                "sat": [["09:00", "11:00"]],
            },
            "make_up_working_days": ["2031-03-30"],
            "extra_days_off": ["2030-12-30"],
        }
    ),
]
wide_instants = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2045, 12, 31),
    timezones=st.sampled_from([UTC, VN, BERLIN]),
)
calendars = st.sampled_from(CALENDARS)


def walk_forward(cal: WorkingCalendar, t: datetime, amount: timedelta) -> datetime:
    d = cal.local_date(t)
    while True:
        for start, end in cal.working_sessions(d):
            if end > t:
                begin = max(start, t)
                if amount <= end - begin:
                    return begin + amount
                amount -= end - begin
        d = cal.next_working_day(d)


def walk_backward(cal: WorkingCalendar, t: datetime, amount: timedelta) -> datetime:
    d = cal.local_date(t)
    while True:
        for start, end in reversed(cal.working_sessions(d)):
            if start < t:
                finish = min(end, t)
                if amount <= finish - start:
                    return finish - amount
                amount -= finish - start
        d = cal.previous_working_day(d)


def walk_between(cal: WorkingCalendar, a: datetime, b: datetime) -> timedelta:
    total, d = timedelta(0), cal.local_date(a)
    while d <= cal.local_date(b):
        for start, end in cal.working_sessions(d):
            total += max(timedelta(0), min(end, b) - max(start, a))
        d += timedelta(days=1)
    return total


def walk_days(cal: WorkingCalendar, t: datetime, n: int, rollover: bool) -> datetime:
    d = cal.local_date(cal.effective_start(t, rollover=rollover))
    for _ in range(n):
        d = cal.next_working_day(d)
    return cal.working_sessions(d)[-1][1]


@settings(deadline=None, max_examples=60)
@given(calendars, wide_instants, st.integers(0, 2 * 366), st.booleans())
def test_add_working_days_counts_like_a_walk(
    cal: WorkingCalendar, t: datetime, n: int, rollover: bool
) -> None:
    assert cal.add_working_days(t, n, rollover=rollover) == walk_days(cal, t, n, rollover)


@settings(deadline=None, max_examples=60)
@given(
    calendars,
    wide_instants,
    st.timedeltas(min_value=timedelta(hours=-3000), max_value=timedelta(hours=3000)),
)
def test_extend_walks_like_a_walk(cal: WorkingCalendar, t: datetime, w: timedelta) -> None:
    expected = walk_forward(cal, t, w) if w > timedelta(0) else walk_backward(cal, t, -w)
    assert cal.extend(t, w) == (expected if w else t.astimezone(UTC))


@settings(deadline=None, max_examples=60)
@given(
    calendars, wide_instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1500))
)
def test_working_time_between_measures_like_a_walk(
    cal: WorkingCalendar, a: datetime, span: timedelta
) -> None:
    b = a + span
    assert cal.working_time_between(a, b) == walk_between(cal, a, b)


def test_the_whole_covered_range_is_one_sum_of_its_years(cal: WorkingCalendar) -> None:
    first, last = cal.years
    assert (first, last) == (1901, 2100)
    starts = [datetime(y, 1, 1, tzinfo=VN) for y in range(first, last + 1)]
    end = datetime(last, 12, 31, 23, 59, tzinfo=VN)
    whole = cal.working_time_between(starts[0], end)
    parts = [
        cal.working_time_between(a, b) for a, b in zip(starts, [*starts[1:], end], strict=True)
    ]
    assert whole == sum(parts, timedelta(0))
    last_day = date(last, 12, 31)
    last_day = last_day if cal.is_working_day(last_day) else cal.previous_working_day(last_day)
    first_day = cal.next_working_day(date(first, 1, 1))  # New Year's Day is a holiday
    assert cal.add_working_hours(starts[0], whole) == cal.working_sessions(last_day)[-1][1]
    assert cal.extend(end, -whole) == cal.working_sessions(first_day)[0][0]


# --- the covered years -------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.is_working_day(date(2101, 1, 1)),
        lambda c: c.is_working_day(date(1900, 12, 31)),
        lambda c: c.is_public_holiday(date(2200, 2, 1)),
        lambda c: c.working_sessions(date(1, 1, 1)),
        lambda c: c.due_at(vn(2100, 12, 31, 9), TimeLimit(1, DAY)),
        lambda c: c.due_at(vn(2200, 1, 5, 9), TimeLimit(3, HOUR)),
        lambda c: c.due_at(datetime(9999, 12, 31, 23, tzinfo=UTC), TimeLimit(1, DAY)),
        lambda c: c.working_time_between(vn(2026, 3, 2), vn(2200, 1, 1)),
        lambda c: c.working_time_between(datetime(1, 1, 2, tzinfo=UTC), vn(2026, 3, 2)),
        lambda c: c.add_working_hours(vn(2026, 3, 2), timedelta(days=365 * 80)),
        lambda c: c.extend(vn(2026, 3, 2), -timedelta(days=365 * 130)),
        lambda c: c.add_working_days(vn(2026, 3, 2), 10**6),
        lambda c: c.next_working_day(date(2100, 12, 31)),
        lambda c: c.effective_start(datetime(1, 1, 1, 1, tzinfo=VN)),
    ],
)
def test_days_beyond_the_known_holidays_are_refused(cal: WorkingCalendar, call: Any) -> None:
    with pytest.raises(CalendarError, match=r"outside the years 1901-2100|no local date|range"):
        call(cal)


def test_covers_tells_the_days_it_can_count(cal: WorkingCalendar) -> None:
    assert cal.covers(date(1901, 1, 1))
    assert cal.covers(date(2100, 12, 31))
    assert not cal.covers(date(1900, 12, 31))
    assert not cal.covers(date(2101, 1, 1))
    assert cal.covers(datetime(2100, 12, 31, 16, 59, tzinfo=UTC))  # 23:59 in Hà Nội
    assert not cal.covers(datetime(2100, 12, 31, 17, tzinfo=UTC))  # 2101 in Hà Nội
    assert cal.covers(datetime(2100, 12, 31, 23, 59))  # naive: local
    assert not cal.covers(datetime(9999, 12, 31, 23, tzinfo=UTC))  # no local date


def test_the_edges_of_the_covered_years_still_count(cal: WorkingCalendar) -> None:
    assert cal.due_at(vn(2100, 12, 28, 9), TimeLimit(1, DAY)) == vn(2100, 12, 29, 17)
    assert cal.working_time_between(vn(1901, 1, 1), vn(1901, 1, 3)) == FULL_DAY
    assert cal.previous_working_day(date(1901, 1, 3)) == date(1901, 1, 2)


def test_an_unknown_holiday_country_is_a_calendar_error() -> None:
    with pytest.raises(CalendarError, match="holiday_country"):
        WorkingCalendar.from_config({"holiday_country": "XX"})
