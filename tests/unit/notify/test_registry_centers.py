"""Notify's use of the center registry, without a broker: which centers the staff API
takes, and the reminder's day on a center's own calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

import pytest

from motcua.devtools.samples import center_configured as center
from motcua.services.notify.errors import Conflict, NotFound
from motcua.services.notify.reminders import reminder_due
from motcua.services.notify.staff import StaffDirectory
from motcua.shared.calendar import WorkingCalendar
from motcua.shared.centers import CenterBook, KnownCenter
from motcua.shared.events.catalog import CenterConfigured


def directory(*configs: CenterConfigured) -> StaffDirectory:
    book = CenterBook()
    for config in configs:
        book.remember(config)
    return StaffDirectory(SimpleNamespace(centers=book))  # type: ignore[arg-type]


def test_before_the_registry_publishes_any_center_every_center_is_taken() -> None:
    directory().check_center("any-center", adding=True)


def test_an_unknown_center_is_a_404_naming_it_and_a_retired_one_takes_no_new_staff() -> None:
    d = directory(center("known"), center("gone", active=False))
    d.check_center("known", adding=True)
    with pytest.raises(NotFound, match="'elsewhere'"):
        d.check_center("elsewhere")
    d.check_center("gone")  # its directory stays readable
    with pytest.raises(Conflict, match="'gone' is retired"):
        d.check_center("gone", adding=True)


def test_a_centers_day_off_moves_the_reminder_to_the_working_day_before() -> None:
    national = WorkingCalendar.default()
    day = national.next_working_day(date(2026, 3, 9))
    day = national.next_working_day(national.next_working_day(day))
    slot = datetime.combine(day, time(9), tzinfo=national.tz)
    now = slot - timedelta(days=30)
    before = reminder_due(national, slot, time(16), now)
    assert before is not None
    own = KnownCenter.of(center("c", days_off=[before.date()])).calendar
    moved = reminder_due(own, slot, time(16), now)
    assert moved is not None
    assert moved.date() == national.previous_working_day(before.date())
    assert moved.astimezone(UTC) < before.astimezone(UTC)
