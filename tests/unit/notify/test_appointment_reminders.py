"""When an appointment's reminder is due: the working day before the slot's day."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from motcua.services.notify.reminders import reminder_due
from motcua.shared.calendar import WorkingCalendar

CAL = WorkingCalendar.default()
HANOI = timedelta(hours=7)
AT = time(16, 0)


def hanoi(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC) - HANOI


def test_a_monday_slot_is_reminded_on_the_friday_before() -> None:
    slot = hanoi(2025, 12, 1, 9, 0)  # Monday
    due = reminder_due(CAL, slot, AT, now=hanoi(2025, 11, 25, 10, 0))
    assert due == hanoi(2025, 11, 28, 16, 0)


def test_the_day_before_skips_a_public_holiday() -> None:
    slot = hanoi(2025, 9, 3, 9, 0)  # Wednesday, after the National Day holidays (1-2/9)
    due = reminder_due(CAL, slot, AT, now=hanoi(2025, 8, 20, 10, 0))
    assert due == hanoi(2025, 8, 29, 16, 0)


def test_no_reminder_once_its_moment_has_passed() -> None:
    slot = hanoi(2025, 12, 2, 9, 0)  # Tuesday
    assert reminder_due(CAL, slot, AT, now=hanoi(2025, 12, 1, 16, 30)) is None
    assert reminder_due(CAL, slot, AT, now=hanoi(2025, 12, 2, 7, 0)) is None
    assert reminder_due(CAL, slot, AT, now=hanoi(2025, 12, 1, 15, 59)) is not None
