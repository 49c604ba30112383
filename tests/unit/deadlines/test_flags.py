"""Planned flags: near-late thresholds, the overdue flag and its new appointment, flag ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from motcua.services.deadlines.domain import (
    ClockFacts,
    Closure,
    ClosureKind,
    PauseChannel,
    PauseMark,
    compute_clock,
)
from motcua.services.deadlines.errors import InvalidInput
from motcua.services.deadlines.flags import (
    FLAG_OVERDUE,
    Threshold,
    apology_letter_id,
    flag_event_id,
    new_appointment,
    parse_thresholds,
    plan_flags,
    regular_day,
)
from motcua.shared.calendar import TimeLimit, TimeUnit, WorkingCalendar
from tests.support.clock import VN, vn

DAYS = TimeUnit.WORKING_DAYS


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar.default()


THRESHOLDS = parse_thresholds(["1d", "80%"])
RECEIVED = vn(2026, 3, 2, 9)  # Monday; 3 working days: due Thursday 17:00


def planned(cal: WorkingCalendar, f: ClockFacts) -> list[tuple[str, datetime, int]]:
    return [
        (p.kind, p.at.astimezone(VN), p.working_seconds_left)
        for p in plan_flags(cal, compute_clock(cal, f), THRESHOLDS, 2)
    ]


def test_thresholds_parse_and_reject_nonsense() -> None:
    assert [t.label for t in parse_thresholds(["1d", "4h", "80%", "1d"])] == ["1d", "4h", "80%"]
    for bad in ("", "80", "0d", "100%", "1w", "-1d"):
        with pytest.raises(InvalidInput):
            Threshold.parse(bad)


def test_regular_day_is_seven_and_a_half_hours(cal: WorkingCalendar) -> None:
    assert regular_day(cal) == timedelta(hours=7, minutes=30)


def test_plan_for_three_working_days(cal: WorkingCalendar) -> None:
    # Budget: Monday 6h + 3 x 7h30 = 28h30. 1d: 7h30 left = Thursday 07:30.
    # 80%: 20% of 28h30 = 5h42 left: Thursday 17:00 back 3h30 to 13:30, 2h12 to 09:18.
    assert planned(cal, ClockFacts(RECEIVED, TimeLimit(3, DAYS))) == [
        ("approaching:1d", vn(2026, 3, 5, 7, 30), 27_000),
        ("approaching:80%", vn(2026, 3, 5, 9, 18), 20_520),
        (FLAG_OVERDUE, vn(2026, 3, 5, 17), 0),
    ]


def test_pauses_in_the_last_day_are_skipped_when_counting_back(cal: WorkingCalendar) -> None:
    """Paused Thu 14:00 -> Fri 10:00 (5h30): due Fri 15:00, but the warnings stay where the
    active time left crosses the threshold: Thursday 07:30 and 09:18."""
    marks = (
        PauseMark(PauseChannel.SUPPLEMENT, True, vn(2026, 3, 5, 14)),
        PauseMark(PauseChannel.SUPPLEMENT, False, vn(2026, 3, 6, 10)),
    )
    assert planned(cal, ClockFacts(RECEIVED, TimeLimit(3, DAYS), marks)) == [
        ("approaching:1d", vn(2026, 3, 5, 7, 30), 27_000),
        ("approaching:80%", vn(2026, 3, 5, 9, 18), 20_520),
        (FLAG_OVERDUE, vn(2026, 3, 6, 15), 0),
    ]


def test_threshold_reached_at_the_start_is_skipped(cal: WorkingCalendar) -> None:
    """A same-day procedure has less than a day from the start: no '1d' warning."""
    same_day = ClockFacts(vn(2026, 3, 2, 8), TimeLimit(0, DAYS))  # budget 7h
    kinds = [k for k, _, _ in planned(cal, same_day)]
    assert kinds == ["approaching:80%", FLAG_OVERDUE]
    assert planned(cal, same_day)[0][1] == vn(2026, 3, 2, 15, 36)  # 1h24 before 17:00


def test_working_hours_limit(cal: WorkingCalendar) -> None:
    # 4 working hours from Monday 10:00: 1h30 before lunch, 2h30 after: due 16:00.
    # 80% used leaves 48 min: 15:12.
    f = ClockFacts(vn(2026, 3, 2, 10), TimeLimit(4, TimeUnit.WORKING_HOURS))
    assert planned(cal, f) == [
        ("approaching:80%", vn(2026, 3, 2, 15, 12), 2_880),
        (FLAG_OVERDUE, vn(2026, 3, 2, 16), 0),
    ]


def test_paused_or_closed_clocks_plan_nothing(cal: WorkingCalendar) -> None:
    paused = ClockFacts(
        RECEIVED, TimeLimit(3, DAYS), (PauseMark(PauseChannel.FINANCIAL, True, vn(2026, 3, 3, 8)),)
    )
    closed = ClockFacts(
        RECEIVED, TimeLimit(3, DAYS), closures=(Closure(ClosureKind.WITHDRAWN, vn(2026, 3, 3)),)
    )
    assert planned(cal, paused) == []
    assert planned(cal, closed) == []


def test_new_appointment_is_the_close_of_the_grace_days_after_the_due_day(
    cal: WorkingCalendar,
) -> None:
    assert new_appointment(cal, vn(2026, 3, 5, 17), 2) == vn(2026, 3, 9, 17)
    # Due the Friday before Tết: two working days later is Tuesday 24 Feb.
    assert new_appointment(cal, vn(2026, 2, 13, 10), 2) == vn(2026, 2, 24, 17)
    overdue = plan_flags(cal, compute_clock(cal, ClockFacts(RECEIVED, TimeLimit(3, DAYS))), (), 2)
    assert [(p.kind, p.new_appointment_at) for p in overdue] == [(FLAG_OVERDUE, vn(2026, 3, 9, 17))]


def test_flag_ids_are_one_per_dossier_kind_and_due_instant() -> None:
    d = uuid.uuid4()
    due = vn(2026, 3, 5, 17)
    assert flag_event_id(d, "overdue", due) == flag_event_id(d, "overdue", due.astimezone(UTC))
    assert flag_event_id(d, "overdue", due) != flag_event_id(d, "set", due)
    assert flag_event_id(d, "overdue", due) != flag_event_id(
        d, "overdue", due + timedelta(microseconds=1)
    )
    assert flag_event_id(d, "overdue", due) != flag_event_id(uuid.uuid4(), "overdue", due)
    assert apology_letter_id(d, due) != flag_event_id(d, "overdue", due)
