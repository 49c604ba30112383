"""Notify follows the center registry, over the real broker and database: a center's
own day off moves its appointment reminders and its still-open escalation watches (those
already set, and new ones), and the staff API tells an unknown center, an empty
directory and a retired center apart.

A module of its own: once the registry has published a center, every center it has not
published is unknown here, which the other notify modules' centers are."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from motcua.devtools.samples import center_configured
from motcua.services.notify import ladder, reminders
from motcua.services.notify.usecases import Notifier
from motcua.shared.calendar import WorkingCalendar
from motcua.shared.centers import KnownCenter
from motcua.shared.events import new_event
from motcua.shared.events.catalog import CenterConfigured
from tests.integration.notify import test_staff
from tests.integration.notify.harness import (
    Notify,
    dossier_received,
    overdue,
    random_phone,
    sms_notify,
)
from tests.integration.notify.test_appointments import booked, booking
from tests.support.waiting import eventually

notify = sms_notify()


async def registry_publishes(n: Notify, config: CenterConfigured) -> None:
    """The registry's event on its topic, and notify's table and book holding it."""
    await n.publish(new_event(config, center_id=config.center_id, producer="registry"))
    notifier: Notifier = n.app.state.notifier

    async def held() -> tuple[int | None, bool]:
        stored = await n.db.fetchval(
            "SELECT revision FROM notify.registry_centers WHERE center_id = $1",
            config.center_id,
        )
        return stored, notifier.centers.get(config.center_id) is not None

    await eventually(held, until=lambda h: h == (config.revision, True), what="the center held")


async def reminder_due(n: Notify, appointment_id: uuid.UUID) -> datetime | None:
    due: datetime | None = await n.db.fetchval(
        "SELECT due_at FROM notify.appointment_reminders WHERE appointment_id = $1",
        appointment_id,
    )
    return due


async def watch_due(n: Notify, dossier_id: uuid.UUID) -> datetime | None:
    due: datetime | None = await n.db.fetchval(
        "SELECT due_at FROM notify.overdue_watches WHERE dossier_id = $1", dossier_id
    )
    return due


def far_slot() -> datetime:
    """09:00 in Hanoi on a national working day at least a week ahead."""
    national = WorkingCalendar.default()
    day = national.next_working_day(datetime.now(UTC).date() + timedelta(days=8))
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


async def test_a_centers_day_off_moves_its_reminders_and_still_open_watches(
    notify: Notify,
) -> None:
    center = f"rf-{uuid.uuid4().hex[:6]}"
    national = WorkingCalendar.default()
    at = notify.settings.appointment_reminder_time
    slot = far_slot()
    # Before the registry names the center: the national calendar.
    first = booking(center, slot, random_phone())
    dossier, received = dossier_received(center, phone=random_phone())
    late = overdue(dossier)
    await notify.publish(booked(center, first), received, late)
    reminder = await eventually(lambda: reminder_due(notify, first["appointment_id"]))
    watch = await eventually(lambda: watch_due(notify, dossier.dossier_id))
    assert reminder == reminders.reminder_due(national, slot, at, datetime.now(UTC))
    hours = ladder.DEFAULT_STILL_OPEN_HOURS
    assert watch == national.add_working_hours(late.occurred_at, hours)

    # The center takes the reminder's day, and the next working day, off.
    days_off = [national.local_date(reminder), national.local_date(watch)]
    config = center_configured(center, 1, days_off=days_off)
    own = KnownCenter.of(config).calendar
    await registry_publishes(notify, config)
    moved_reminder = reminders.reminder_due(own, slot, at, datetime.now(UTC))
    moved_watch = own.add_working_hours(late.occurred_at, hours)
    assert moved_reminder is not None
    assert moved_reminder < reminder
    assert moved_watch > watch
    # The handler's transaction commits the moves with the registry's revision.
    assert await reminder_due(notify, first["appointment_id"]) == moved_reminder
    assert await watch_due(notify, dossier.dossier_id) == moved_watch

    # A booking made now is timed on the center's calendar from the start.
    second = booking(center, slot, random_phone())
    await notify.publish(booked(center, second))
    assert await eventually(lambda: reminder_due(notify, second["appointment_id"])) == (
        moved_reminder
    )


# The staff API's clients, and a valid member, as the staff tests make them.
client_of = test_staff.client_of
member = test_staff.member


async def test_the_staff_api_tells_unknown_empty_and_retired_centers_apart(
    notify: Notify, client_of: Callable[..., httpx.AsyncClient]
) -> None:
    known, retired, unknown = (f"{k}-{uuid.uuid4().hex[:6]}" for k in ("rk", "rr", "ru"))
    await registry_publishes(notify, center_configured(known))
    await registry_publishes(notify, center_configured(retired, 2, active=False))

    r = await client_of(unknown).get(f"/centers/{unknown}/staff")
    assert r.status_code == 404, r.text
    assert unknown in r.text
    r = await client_of(unknown).post(f"/centers/{unknown}/staff", json=member("u-1"))
    assert r.status_code == 404, r.text

    r = await client_of(known).get(f"/centers/{known}/staff")
    assert r.status_code == 200, r.text
    assert r.json() == {"center_id": known, "loaded": False, "staff": []}
    r = await client_of(known).post(f"/centers/{known}/staff", json=member("k-1"))
    assert r.status_code == 201, r.text

    r = await client_of(retired).post(f"/centers/{retired}/staff", json=member("r-1"))
    assert r.status_code == 409, r.text
    assert retired in r.text
    r = await client_of(retired).get(f"/centers/{retired}/staff")
    assert r.status_code == 200, r.text  # its directory stays readable
