"""Appointments booked at the queue: the confirmation, and the reminder the working
day before.

``appointment.booked`` and ``appointment.rescheduled`` carry the contact the citizen
gave with consent (sealed for notify); each is confirmed at once, and schedules (or
moves) the reminder to ``appointment_reminder_time`` on the working day before the
slot's day, by the center's own working calendar as the registry configures it (the
national one until the registry names the center). A new day off of the center moves the
reminders already scheduled there (``reschedule``, in the transaction that applies the
registry's event). A booking checked in, cancelled or missed needs no reminder any more:
its row goes. A sweep sends the reminders that fell due; the message is about the
booking's last event, so a sweep repeated after a crash records nothing twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

import asyncpg

from motcua.services.notify.domain import Kind
from motcua.services.notify.usecases import Intent, Notifier
from motcua.shared.calendar import CalendarError, WorkingCalendar
from motcua.shared.events import Envelope
from motcua.shared.events.catalog import AppointmentFacts, AppointmentRescheduled
from motcua.shared.events.registry import parse_event

SUBJECT = "appointment"


def reminder_due(
    calendar: WorkingCalendar, slot_start: datetime, at: time, now: datetime
) -> datetime | None:
    """When to remind: ``at`` (local) on the working day before the slot's day; ``None``
    when that moment has passed (booked the day before, or the same day)."""
    try:
        day = calendar.previous_working_day(calendar.local_date(slot_start))
    except CalendarError:
        return None
    due = datetime.combine(day, at, tzinfo=calendar.tz)
    return due if now < due < slot_start else None


def _context(d: AppointmentFacts) -> dict[str, Any]:
    return {"code": d.code, "slot_start": d.slot_start.isoformat(), "line_code": d.line_code}


async def appointment_booked(
    n: Notifier, conn: asyncpg.Connection, event: Envelope[AppointmentFacts]
) -> None:
    """``appointment.booked`` or ``.rescheduled``: confirm, and (re)schedule the reminder."""
    d = event.data
    await n.remember_contact(conn, SUBJECT, d.appointment_id, event.center_id, d.contact)
    context = _context(d)
    kind = (
        Kind.APPOINTMENT_RESCHEDULED
        if isinstance(d, AppointmentRescheduled)
        else Kind.APPOINTMENT_BOOKED
    )
    await n.notify(conn, event, kind, SUBJECT, d.appointment_id, context)
    calendar = n.calendar_of(event.center_id)
    due = reminder_due(calendar, d.slot_start, n.settings.appointment_reminder_time, n.clock())
    if due is None:
        await _forget(conn, event)
        return
    await conn.execute(
        """
        INSERT INTO appointment_reminders (appointment_id, center_id, due_at, event, context)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (appointment_id) DO UPDATE
            SET due_at = EXCLUDED.due_at, event = EXCLUDED.event, context = EXCLUDED.context
        """,
        d.appointment_id,
        event.center_id,
        due,
        event.to_bytes(),
        context,  # the pool's JSON codec
    )


async def appointment_ended(
    n: Notifier, conn: asyncpg.Connection, event: Envelope[AppointmentFacts]
) -> None:
    """Checked in, cancelled or a no-show: nothing left to remind."""
    await _forget(conn, event)


async def _forget(conn: asyncpg.Connection, event: Envelope[AppointmentFacts]) -> None:
    await conn.execute(
        "DELETE FROM appointment_reminders WHERE appointment_id = $1", event.data.appointment_id
    )


async def reschedule(
    n: Notifier, conn: asyncpg.Connection, center_id: str, calendar: WorkingCalendar
) -> int:
    """The center's calendar changed to ``calendar``: move its pending reminders to the
    working day before each slot on it. One whose new time has already passed keeps
    the time it had (it still comes before the slot). Returns the reminders moved."""
    rows = await conn.fetch(
        "SELECT appointment_id, event, due_at FROM appointment_reminders WHERE center_id = $1 "
        "FOR UPDATE",
        center_id,
    )
    now = n.clock()
    moved: list[tuple[uuid.UUID, datetime]] = []
    for r in rows:
        booking = parse_event(bytes(r["event"])).data
        if not isinstance(booking, AppointmentFacts):
            continue  # only bookings are stored here
        due = reminder_due(calendar, booking.slot_start, n.settings.appointment_reminder_time, now)
        if due is not None and due != r["due_at"]:
            moved.append((r["appointment_id"], due))
    await conn.executemany(
        "UPDATE appointment_reminders SET due_at = $2 WHERE appointment_id = $1", moved
    )
    return len(moved)


async def send_due(n: Notifier, conn: asyncpg.Connection, batch: int = 200) -> int:
    """Record the reminders that fell due, in one transaction with their removal."""
    async with conn.transaction():
        rows = await conn.fetch(
            """
            DELETE FROM appointment_reminders WHERE appointment_id = ANY (ARRAY(
                SELECT appointment_id FROM appointment_reminders WHERE due_at <= $1
                ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED))
            RETURNING appointment_id, event, context
            """,
            n.clock(),
            batch,
        )
        intents = [
            Intent(
                parse_event(bytes(r["event"])),
                Kind.APPOINTMENT_REMINDER,
                SUBJECT,
                r["appointment_id"],
                r["context"],
            )
            for r in rows
        ]
        return await n.notify_many(conn, intents) if intents else 0
