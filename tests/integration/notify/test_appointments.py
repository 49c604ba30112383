"""Appointment confirmations and reminders, from queue events on the real broker to
the SMS gateway, on the real database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from motcua.devtools.sinks import HttpSink
from motcua.services.notify import reminders
from motcua.services.notify.usecases import Notifier
from motcua.shared.events import Envelope
from motcua.shared.events.catalog import (
    AppointmentBooked,
    AppointmentCancelled,
)
from motcua.shared.events.envelope import new_event
from tests.integration.notify.harness import Notify, e164, random_phone, sealed, sms_notify
from tests.support.waiting import eventually

notify = sms_notify()


def booking(center: str, slot: datetime, phone: str | None, language: str = "vi") -> dict[str, Any]:
    appointment_id = uuid.uuid4()
    return {
        "appointment_id": appointment_id,
        "line_code": "justice",
        "code": "K7Q2M9XD",
        "slot_start": slot,
        "slot_end": slot + timedelta(minutes=15),
        "contact": sealed("phone", phone, appointment_id, language) if phone else None,
    }


def booked(center: str, facts: dict[str, Any]) -> Envelope[AppointmentBooked]:
    payload = AppointmentBooked(**facts, booked_at=datetime.now(UTC))
    return new_event(payload, center_id=center, producer="queue")


@pytest.fixture
def far_slot() -> datetime:
    """09:00 in Hanoi on a weekday at least a week ahead (a weekday: not a holiday-proof
    choice, so the test reads the reminder's time from the rule, not a constant)."""
    day = datetime.now(UTC).date() + timedelta(days=8)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


@pytest.fixture
def notifier(notify: Notify) -> Iterator[Notifier]:
    n: Notifier = notify.app.state.notifier
    real = n.clock
    yield n
    n.clock = real


async def reminder_row(notify: Notify, appointment_id: uuid.UUID) -> Any:
    return await notify.db.fetchrow(
        "SELECT * FROM notify.appointment_reminders WHERE appointment_id = $1", appointment_id
    )


async def test_a_booking_is_confirmed_and_reminded_once_the_working_day_before(
    notify: Notify, notifier: Notifier, http_sink: HttpSink, far_slot: datetime
) -> None:
    phone = random_phone()
    facts = booking("c-appt-1", far_slot, phone, language="en")
    event = booked("c-appt-1", facts)
    await notify.publish(event)
    (confirmation,) = await eventually(
        lambda: notify.deliveries(event.event_id),
        until=lambda d: bool(d) and d[0]["status"] == "sent",
        what="the confirmation sent",
    )
    assert confirmation["kind"] == "appointment_booked"
    (sms,) = http_sink.to(e164(phone))
    assert "Booking code: K7Q2M9XD" in str(sms)
    row = await eventually(lambda: reminder_row(notify, facts["appointment_id"]))
    assert row is not None
    assert row["due_at"] < far_slot
    assert row["due_at"].astimezone(notifier.composer.renderer.tz).hour == 16

    async with notify.app.state.runtime.read() as conn:
        assert await reminders.send_due(notifier, conn) == 0  # not yet
        notifier.clock = lambda: row["due_at"] + timedelta(seconds=1)
        assert await reminders.send_due(notifier, conn) == 1
        assert await reminders.send_due(notifier, conn) == 0  # once
    sent = await eventually(
        lambda: notify.deliveries(event.event_id),
        until=lambda d: any(r["kind"] == "appointment_reminder" for r in d),
        what="the reminder",
    )
    reminder = next(r for r in sent if r["kind"] == "appointment_reminder")
    assert reminder["language"] == "en"
    assert await reminder_row(notify, facts["appointment_id"]) is None


async def test_a_cancelled_booking_is_not_reminded(notify: Notify, far_slot: datetime) -> None:
    facts = booking("c-appt-2", far_slot, random_phone())
    event = booked("c-appt-2", facts)
    await notify.publish(event)
    await eventually(lambda: reminder_row(notify, facts["appointment_id"]))
    cancelled = new_event(AppointmentCancelled(**facts), center_id="c-appt-2", producer="queue")
    await notify.publish(cancelled)

    async def gone() -> bool:
        return await reminder_row(notify, facts["appointment_id"]) is None

    assert await eventually(gone)


async def test_without_consent_no_message_and_no_trace_of_a_contact(
    notify: Notify, far_slot: datetime
) -> None:
    facts = booking("c-appt-3", far_slot, None)
    event = booked("c-appt-3", facts)
    await notify.publish(event)
    await eventually(lambda: notify.consumed(event.event_id))
    assert await notify.deliveries(event.event_id) == []
