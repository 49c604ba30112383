"""The pure rules of appointments: slots from the working calendar, capacity, refusals."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from motcua.services.queue import appointments as rules
from motcua.services.queue.appointments import AppointmentStatus, BookingRules
from motcua.services.queue.errors import Refused, Taken
from motcua.shared.calendar import WorkingCalendar
from tests.unit.queue.factories import T0, center

CAL = WorkingCalendar.default()
RULES = BookingRules(slot_minutes=15, reserved_counters=1, opens_days_ahead=14)
HANOI = timedelta(hours=7)


def local(d: date, hh: int, mm: int) -> datetime:
    """A Hanoi wall-clock time as UTC."""
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=UTC) - HANOI


FRIDAY = date(2025, 11, 28)  # T0 is Thursday 27 November 2025, 08:30 in Hanoi


def test_a_day_has_whole_slots_inside_the_morning_and_afternoon_sessions() -> None:
    starts = list(rules.slot_starts(CAL, FRIDAY, RULES))
    # 07:30-11:30 holds 16 slots of 15 minutes, 13:30-17:00 holds 14.
    assert len(starts) == 30
    assert starts[0] == local(FRIDAY, 7, 30)
    assert starts[15] == local(FRIDAY, 11, 15)
    assert starts[16] == local(FRIDAY, 13, 30)
    assert starts[-1] == local(FRIDAY, 16, 45)


def test_a_slot_never_straddles_lunch_or_closing() -> None:
    long = BookingRules(slot_minutes=50)
    for start in rules.slot_starts(CAL, FRIDAY, long):
        sessions = CAL.working_sessions(FRIDAY)
        assert any(a <= start and start + long.slot_length <= b for a, b in sessions)


def test_weekends_and_holidays_have_no_slots() -> None:
    assert list(rules.slot_starts(CAL, date(2025, 11, 29), RULES)) == []  # Saturday
    assert list(rules.slot_starts(CAL, date(2025, 9, 2), RULES)) == []  # National Day


def test_capacity_is_the_reserved_counters_at_most_those_serving_the_line() -> None:
    c = center()
    land = c.line("land")  # served by Q3 and Q5
    assert rules.capacity(c, land, BookingRules(reserved_counters=1)) == 1
    assert rules.capacity(c, land, BookingRules(reserved_counters=5)) == 2
    assert rules.capacity(c, land, BookingRules(reserved_counters=0)) == 0


def check(start: datetime, now: datetime = T0, line: str = "justice") -> tuple[datetime, ...]:
    c = center()
    return rules.check_slot(CAL, c, c.line(line), start, now, RULES)


def test_a_listed_slot_is_accepted_with_its_end_and_local_day() -> None:
    start = local(FRIDAY, 9, 0)
    assert check(start) == (start, start + timedelta(minutes=15), FRIDAY)


@pytest.mark.parametrize(
    ("start", "key"),
    [
        (T0 - timedelta(minutes=1), "slot_in_past"),
        (T0 + timedelta(minutes=15), "booking_closed"),
        (local(date(2025, 11, 29), 9, 0), "slot_day_off"),
        (local(date(2026, 1, 1), 9, 0), "slot_too_far"),
        (local(FRIDAY, 12, 0), "slot_outside_hours"),
        (local(FRIDAY, 9, 7), "slot_outside_hours"),
        (local(FRIDAY, 11, 30), "slot_outside_hours"),
        (local(FRIDAY, 17, 0), "slot_outside_hours"),
    ],
)
def test_bad_slots_are_refused_naming_the_field(start: datetime, key: str) -> None:
    with pytest.raises(Refused) as refused:
        check(start)
    assert refused.value.field == "slot_start"
    assert refused.value.key == key


def test_a_holiday_within_the_window_is_a_day_off() -> None:
    now = datetime(2025, 8, 29, 2, 0, tzinfo=UTC)
    with pytest.raises(Refused) as refused:
        check(local(date(2025, 9, 2), 9, 0), now)
    assert refused.value.key == "slot_day_off"


def test_a_line_without_reserved_counters_takes_no_booking() -> None:
    c = center()
    closed = BookingRules(reserved_counters=0)
    with pytest.raises(Refused) as refused:
        rules.check_slot(CAL, c, c.line("justice"), local(FRIDAY, 9, 0), T0, closed)
    assert refused.value.field == "line_code"


def test_only_a_booked_appointment_moves_or_cancels() -> None:
    c = center()
    start = local(FRIDAY, 9, 0)
    booked = rules.book(
        appointment_id=uuid.uuid4(),
        center=c,
        line=c.line("justice"),
        slot=(start, start + RULES.slot_length),
        code=rules.new_code(),
        at=T0,
    )
    later = local(FRIDAY, 10, 0)
    moved = rules.reschedule(booked, (later, later + RULES.slot_length))
    assert (moved.slot_start, moved.code) == (later, booked.code)
    with pytest.raises(Refused):
        rules.reschedule(moved, (later, later + RULES.slot_length))
    cancelled = rules.cancel(moved)
    assert cancelled.status is AppointmentStatus.CANCELLED
    with pytest.raises(Taken) as twice:
        rules.cancel(cancelled)
    assert twice.value.params == {"status": "cancelled"}
    with pytest.raises(Taken):
        rules.reschedule(cancelled, (start, start + RULES.slot_length))


@given(st.text(alphabet=rules.CODE_ALPHABET + " -abc", max_size=20))
def test_a_code_as_typed_normalises_to_upper_case_without_separators(typed: str) -> None:
    code = rules.normalise_code(typed)
    assert code == code.upper()
    assert " " not in code
    assert "-" not in code


def test_codes_avoid_look_alike_characters() -> None:
    for _ in range(200):
        code = rules.new_code()
        assert len(code) == rules.CODE_LENGTH
        assert not set(code) & set("01OIL")


@given(st.integers(0, 24 * 60 * 20), st.sampled_from([0, 30]))
def test_every_listed_slot_passes_the_check(minutes: int, closes: int) -> None:
    """What ``free_slots`` lists (bookable days, slot starts, the window) is what ``book``
    accepts: a citizen never picks a listed slot and gets refused for its time."""
    now = T0 + timedelta(minutes=minutes)
    book_rules = BookingRules(closes_minutes_before=closes)
    c = center()
    for day in rules.open_days(CAL, now, book_rules)[:3]:
        for start in rules.slot_starts(CAL, day, book_rules):
            if rules.bookable(start, now, book_rules):
                checked = rules.check_slot(CAL, c, c.line("justice"), start, now, book_rules)
                assert checked[0] == start


def test_the_daily_cap_is_counted_only_on_days_it_can_bind() -> None:
    # 30 slots a day: with one place each, a cap of 40 can never bind; of 20 it can.
    assert rules.binding_cap_span(CAL, FRIDAY, 1, BookingRules(daily_cap_per_line=40)) is None
    span = rules.binding_cap_span(CAL, FRIDAY, 1, BookingRules(daily_cap_per_line=20))
    assert span == (local(FRIDAY, 7, 30), local(FRIDAY, 16, 45))
    assert rules.binding_cap_span(CAL, date(2025, 11, 29), 1, RULES) is None  # Saturday
