"""The legal clock as a pure function of the facts: every expected instant is hand-checked
on the default calendar (Mon-Fri 07:30-11:30 and 13:30-17:00, Asia/Ho_Chi_Minh)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from motcua.services.deadlines.domain import (
    ClockFacts,
    Closure,
    ClosureKind,
    Extension,
    Outcome,
    PauseChannel,
    PauseMark,
    compute_clock,
    due_as_of,
    pause_intervals,
    shift_working_days,
    working_time_left,
)
from motcua.services.deadlines.errors import InvalidInput
from motcua.shared.calendar import TimeLimit, TimeUnit, WorkingCalendar

VN = ZoneInfo("Asia/Ho_Chi_Minh")
DAYS = TimeUnit.WORKING_DAYS
HOURS = TimeUnit.WORKING_HOURS
SUPPLEMENT = PauseChannel.SUPPLEMENT
FINANCIAL = PauseChannel.FINANCIAL
H = timedelta(hours=1)


def vn(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=VN)


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar.default()


def pause(
    start: datetime, end: datetime | None, channel: PauseChannel = SUPPLEMENT
) -> tuple[PauseMark, ...]:
    marks = (PauseMark(channel, True, start),)
    return marks if end is None else (*marks, PauseMark(channel, False, end))


# Received Monday 2 March 2026 09:00 with 3 working days: due Thursday 5 March 17:00.
RECEIVED = vn(2026, 3, 2, 9)
THREE_DAYS = TimeLimit(3, DAYS)


def facts(**kw: object) -> ClockFacts:
    return ClockFacts(RECEIVED, THREE_DAYS, **kw)  # type: ignore[arg-type]


def test_without_pauses_due_is_the_calendar_due_and_the_budget_is_the_working_time(
    cal: WorkingCalendar,
) -> None:
    clock = compute_clock(cal, facts())
    assert clock.due_at == clock.base_due_at == vn(2026, 3, 5, 17)
    assert clock.started_at == RECEIVED
    assert clock.budget == 6 * H + 3 * timedelta(hours=7.5)  # Monday 09:00-17:00 is 6 h
    assert clock.is_open
    assert clock.paused_since is None


def test_pause_and_resume_extends_due_by_the_working_time_paused(cal: WorkingCalendar) -> None:
    # Tue 10:00 -> Wed 10:00: Tue 1h30 + 3h30, Wed 2h30 = 7h30 of working time.
    clock = compute_clock(cal, facts(pause_marks=pause(vn(2026, 3, 3, 10), vn(2026, 3, 4, 10))))
    assert clock.paused == timedelta(hours=7.5)
    assert clock.due_at == vn(2026, 3, 6, 17)


def test_several_pauses_add_up(cal: WorkingCalendar) -> None:
    marks = (
        *pause(vn(2026, 3, 3, 10), vn(2026, 3, 4, 10)),  # 7h30
        *pause(vn(2026, 3, 5, 14), vn(2026, 3, 5, 16), FINANCIAL),  # 2h
        *pause(vn(2026, 3, 6, 8), vn(2026, 3, 6, 9)),  # 1h
    )
    clock = compute_clock(cal, facts(pause_marks=marks))
    assert clock.paused == timedelta(hours=10.5)
    # Thu 17:00 + 10h30: Fri 7h30, then Mon 07:30 + 3h = 10:30.
    assert clock.due_at == vn(2026, 3, 9, 10, 30)


def test_overlapping_pauses_of_both_channels_count_once(cal: WorkingCalendar) -> None:
    marks = (
        *pause(vn(2026, 3, 3, 10), vn(2026, 3, 4, 10)),
        *pause(vn(2026, 3, 3, 14), vn(2026, 3, 4, 14), FINANCIAL),
    )
    # Union Tue 10:00 -> Wed 14:00 = 5h + 4h + 0h30 = 9h30.
    clock = compute_clock(cal, facts(pause_marks=marks))
    assert clock.paused == timedelta(hours=9.5)
    assert clock.due_at == vn(2026, 3, 9, 9, 30)


def test_pause_marks_in_any_order_give_the_same_clock(cal: WorkingCalendar) -> None:
    """supplement_provided processed before supplement_requested (a retry): same clock."""
    marks = (
        *pause(vn(2026, 3, 3, 10), vn(2026, 3, 4, 10)),
        *pause(vn(2026, 3, 5, 14), vn(2026, 3, 5, 16), FINANCIAL),
    )
    expected = compute_clock(cal, facts(pause_marks=marks))
    for order in itertools.permutations(marks):
        assert compute_clock(cal, facts(pause_marks=order)) == expected


def test_provided_alone_changes_nothing_until_the_request_is_known(cal: WorkingCalendar) -> None:
    provided_only = (PauseMark(SUPPLEMENT, False, vn(2026, 3, 4, 10)),)
    assert compute_clock(cal, facts(pause_marks=provided_only)).due_at == vn(2026, 3, 5, 17)


def test_repeated_requests_and_back_to_back_pauses() -> None:
    t = [vn(2026, 3, 3, h) for h in (8, 9, 10, 11)]
    twice_requested = (
        PauseMark(SUPPLEMENT, True, t[0]),
        PauseMark(SUPPLEMENT, True, t[1]),
        PauseMark(SUPPLEMENT, False, t[2]),
    )
    assert [(i.start, i.end) for i in pause_intervals(twice_requested)] == [(t[0], t[2])]
    # Provided and requested again at the same instant: one continuous pause.
    back_to_back = (*pause(t[0], t[1]), *pause(t[1], t[3]))
    assert [(i.start, i.end) for i in pause_intervals(back_to_back)] == [(t[0], t[3])]


def test_open_pause_stops_the_clock_and_due_as_of_moves_with_time(cal: WorkingCalendar) -> None:
    clock = compute_clock(cal, facts(pause_marks=pause(vn(2026, 3, 3, 10), None)))
    assert clock.paused_since == vn(2026, 3, 3, 10)
    assert clock.due_at == vn(2026, 3, 5, 17)  # closed pauses only
    # On Friday 6 March 10:00 the pause has lasted 5h + 7h30 + 7h30 + 2h30 = 22h30:
    # Thursday 17:00 + 22h30 = Tuesday 10 March 17:00.
    friday = vn(2026, 3, 6, 10)
    assert due_as_of(cal, clock, friday) == vn(2026, 3, 10, 17)
    assert friday < due_as_of(cal, clock, friday)  # paused in time: not overdue


def test_pause_starting_after_due_does_not_cure_lateness(cal: WorkingCalendar) -> None:
    clock = compute_clock(cal, facts(pause_marks=pause(vn(2026, 3, 6, 10), None)))
    noon = vn(2026, 3, 6, 12)
    due = due_as_of(cal, clock, noon)
    assert due == vn(2026, 3, 6, 9)  # Thu 17:00 + the 1h30 paused so far
    assert noon > due
    # Late by the active time before the pause: Friday 07:30-10:00.
    assert working_time_left(cal, due, noon) == -timedelta(hours=2.5)


def test_pause_before_the_clock_starts_counts_only_from_the_start(cal: WorkingCalendar) -> None:
    # Received 16:00 with the 15:00 rollover: the clock starts Tue 07:30.
    received = vn(2026, 3, 2, 16)
    marks = pause(vn(2026, 3, 2, 16, 30), vn(2026, 3, 3, 8))
    clock = compute_clock(cal, ClockFacts(received, TimeLimit(0, DAYS, rollover=True), marks))
    assert clock.started_at == vn(2026, 3, 3, 7, 30)
    assert clock.paused == timedelta(minutes=30)
    assert clock.due_at == vn(2026, 3, 4, 8)  # Tue 17:00 + 30 min


def test_extension_in_working_days_keeps_the_position_in_the_day(cal: WorkingCalendar) -> None:
    ext = Extension(2, DAYS, vn(2026, 3, 4, 9), "verification with another agency")
    clock = compute_clock(cal, facts(extensions=(ext,)))
    assert clock.due_at == vn(2026, 3, 9, 17)  # Thu -> Fri, Mon
    assert clock.budget == compute_clock(cal, facts()).budget + timedelta(hours=15)


def test_extension_then_pause(cal: WorkingCalendar) -> None:
    ext = Extension(2, DAYS, vn(2026, 3, 4, 9), "verification")
    marks = pause(vn(2026, 3, 3, 10), vn(2026, 3, 4, 10))
    clock = compute_clock(cal, facts(extensions=(ext,), pause_marks=marks))
    assert clock.budget_end == vn(2026, 3, 9, 17)
    assert clock.due_at == vn(2026, 3, 10, 17)  # + the 7h30 paused


def test_extension_in_working_hours(cal: WorkingCalendar) -> None:
    clock = compute_clock(cal, facts(extensions=(Extension(4, HOURS, vn(2026, 3, 4, 9)),)))
    assert clock.due_at == vn(2026, 3, 6, 11, 30)


def test_shift_working_days_clamps_to_a_shorter_day_and_skips_days_off() -> None:
    saturday_mornings = WorkingCalendar.from_config(
        {
            "weekly_sessions": {
                **{
                    d: [["07:30", "11:30"], ["13:30", "17:00"]]
                    for d in ("mon", "tue", "wed", "thu", "fri")
                },
                "sat": [["07:30", "11:30"]],
            }
        }
    )
    # Friday 17:00 plus one day lands on Saturday's close, 11:30.
    assert shift_working_days(saturday_mornings, vn(2026, 3, 6, 17), 1) == vn(2026, 3, 7, 11, 30)
    cal = WorkingCalendar.default()
    # Over Tết 2026 (16-20 Feb off): Friday 13 Feb 17:00 plus one day is Monday 23 Feb 17:00.
    assert shift_working_days(cal, vn(2026, 2, 13, 17), 1) == vn(2026, 2, 23, 17)
    with pytest.raises(InvalidInput):
        shift_working_days(cal, vn(2026, 2, 13, 17), -1)


@pytest.mark.parametrize(
    ("resolved_at", "outcome", "late_by"),
    [
        (vn(2026, 3, 4, 16), Outcome.EARLY, timedelta(0)),
        (vn(2026, 3, 5, 10), Outcome.ON_TIME, timedelta(0)),
        (vn(2026, 3, 5, 17), Outcome.ON_TIME, timedelta(0)),
        (vn(2026, 3, 5, 17, 30), Outcome.LATE, timedelta(0)),  # after hours: late, 0 working s
        (vn(2026, 3, 6, 8), Outcome.LATE, timedelta(minutes=30)),
        (vn(2026, 3, 9, 14), Outcome.LATE, timedelta(hours=7.5 + 4 + 0.5)),
    ],
)
def test_outcome_of_a_resolution(
    cal: WorkingCalendar, resolved_at: datetime, outcome: Outcome, late_by: timedelta
) -> None:
    clock = compute_clock(cal, facts(closures=(Closure(ClosureKind.RESOLVED, resolved_at),)))
    assert (clock.outcome, clock.late_by) == (outcome, late_by)
    assert not clock.is_open


def test_outcome_is_judged_on_the_resolution_business_time_with_pauses(
    cal: WorkingCalendar,
) -> None:
    """Resolved Friday 10:00, after a 7h30 pause: due Friday 17:00, so on time."""
    clock = compute_clock(
        cal,
        facts(
            pause_marks=pause(vn(2026, 3, 3, 10), vn(2026, 3, 4, 10)),
            closures=(Closure(ClosureKind.RESOLVED, vn(2026, 3, 6, 10)),),
        ),
    )
    assert clock.outcome is Outcome.ON_TIME


def test_facts_after_the_closure_are_ignored_and_an_open_pause_ends_there(
    cal: WorkingCalendar,
) -> None:
    closure = Closure(ClosureKind.RESOLVED, vn(2026, 3, 4, 10))
    clock = compute_clock(
        cal,
        facts(
            pause_marks=(
                *pause(vn(2026, 3, 3, 10), None),  # open when resolved: ends at the closure
                *pause(vn(2026, 3, 4, 14), vn(2026, 3, 5, 14), FINANCIAL),  # after: ignored
            ),
            extensions=(Extension(5, DAYS, vn(2026, 3, 4, 11)),),  # after: ignored
            closures=(closure, Closure(ClosureKind.WITHDRAWN, vn(2026, 3, 5, 9))),
        ),
    )
    assert clock.closure == closure
    assert clock.paused == timedelta(hours=7.5)
    assert clock.due_at == vn(2026, 3, 6, 17)
    assert clock.extensions == ()
    assert clock.outcome is Outcome.EARLY


def test_withdrawal_closes_without_an_outcome(cal: WorkingCalendar) -> None:
    clock = compute_clock(cal, facts(closures=(Closure(ClosureKind.WITHDRAWN, vn(2026, 3, 9, 9)),)))
    assert not clock.is_open
    assert clock.outcome is None


def test_known_at_drops_later_facts() -> None:
    f = facts(
        pause_marks=pause(vn(2026, 3, 3, 10), vn(2026, 3, 4, 10)),
        extensions=(Extension(1, DAYS, vn(2026, 3, 4, 12)),),
        closures=(Closure(ClosureKind.RESOLVED, vn(2026, 3, 6, 9)),),
    )
    at = f.known_at(vn(2026, 3, 4, 9))
    assert at.pause_marks == f.pause_marks[:1]
    assert at.extensions == ()
    assert at.closures == ()
    assert f.adjusted
    assert not facts().adjusted


@pytest.mark.parametrize(
    ("received", "limit", "due"),
    [
        # Tết Bính Ngọ: 16-20 Feb 2026 off. Friday 13 Feb + 3 days: 23, 24, 25 Feb.
        (vn(2026, 2, 13, 9), TimeLimit(3, DAYS), vn(2026, 2, 25, 17)),
        # 30/4-1/5 2026 (Thu, Fri): Wednesday 29 Apr + 2 days: Mon 4, Tue 5 May.
        (vn(2026, 4, 29, 10), TimeLimit(2, DAYS), vn(2026, 5, 5, 17)),
        # National Day 2026: 31 Aug (swap) to 2 Sep off. Friday 28 Aug + 1 day: Thu 3 Sep.
        (vn(2026, 8, 28, 9), TimeLimit(1, DAYS), vn(2026, 9, 3, 17)),
        # Make-up Saturday 10 Jan 2026: Friday 16:00 with the rollover, same day -> Saturday.
        (vn(2026, 1, 9, 16), TimeLimit(0, DAYS, rollover=True), vn(2026, 1, 10, 17)),
        # After 15:00 with the rollover: the next working day.
        (vn(2026, 3, 2, 15, 30), TimeLimit(0, DAYS, rollover=True), vn(2026, 3, 3, 17)),
    ],
)
def test_due_dates_around_holidays(
    cal: WorkingCalendar, received: datetime, limit: TimeLimit, due: datetime
) -> None:
    assert compute_clock(cal, ClockFacts(received, limit)).due_at == due


def test_pause_across_tet_counts_no_holiday_time(cal: WorkingCalendar) -> None:
    # Requested Fri 13 Feb 16:00, provided Mon 23 Feb 08:30: 1h + 1h of working time.
    received = vn(2026, 2, 12, 9)  # Thursday, 3 days: due Tue 24 Feb 17:00
    clock = compute_clock(
        cal,
        ClockFacts(
            received, TimeLimit(3, DAYS), pause(vn(2026, 2, 13, 16), vn(2026, 2, 23, 8, 30))
        ),
    )
    assert clock.base_due_at == vn(2026, 2, 24, 17)
    assert clock.paused == timedelta(hours=2)
    assert clock.due_at == vn(2026, 2, 25, 9, 30)
