"""Explicit SQL of appointments on the caller's connection and transaction.

The places of a slot and of a line's day are counters taken with one conditional
upsert each: the row lock serialises racing bookers, and the ``WHERE booked < $cap``
makes the one who comes second find the slot full instead of overbooking it.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime

import asyncpg

from motcua.services.queue.appointments import Appointment, AppointmentStatus
from motcua.services.queue.errors import Conflict


class DuplicateCode(Conflict):
    """The random booking code is taken; the caller draws another one."""


class DuplicateRequest(Conflict):
    """A booking with this idempotency key was committed concurrently."""


COLUMNS = """
    appointment_id, center_id, line_code, slot_start, slot_end, code, status, booked_at,
    contact, ticket_id
"""


def appointment_from(row: asyncpg.Record) -> Appointment:
    values = dict(row)
    values["status"] = AppointmentStatus(values["status"])
    return Appointment(**values)


async def take_place(
    conn: asyncpg.Connection,
    center_id: str,
    line_code: str,
    slot_start: datetime,
    day: date,
    *,
    slot_capacity: int,
    daily_cap: int,
) -> str | None:
    """Take one place in the slot and one in the line's day; which one is full, if any.

    The slot goes first in every booking and rescheduling, so two transactions always
    lock rows in the same order.
    """
    slot = await conn.fetchval(
        """
        INSERT INTO appointment_slots AS s (center_id, line_code, slot_start, booked)
        SELECT $1, $2, $3, 1 WHERE $4 > 0
        ON CONFLICT (center_id, line_code, slot_start)
        DO UPDATE SET booked = s.booked + 1 WHERE s.booked < $4
        RETURNING booked
        """,
        center_id,
        line_code,
        slot_start,
        slot_capacity,
    )
    if slot is None:
        return "slot_full"
    taken = await conn.fetchval(
        """
        INSERT INTO appointment_days AS d (center_id, line_code, local_day, booked)
        SELECT $1, $2, $3, 1 WHERE $4 > 0
        ON CONFLICT (center_id, line_code, local_day)
        DO UPDATE SET booked = d.booked + 1 WHERE d.booked < $4
        RETURNING booked
        """,
        center_id,
        line_code,
        day,
        daily_cap,
    )
    return None if taken is not None else "day_full"


async def free_place(
    conn: asyncpg.Connection, center_id: str, line_code: str, slot_start: datetime, day: date
) -> None:
    """Give back the places a booking held (cancelled or moved)."""
    await conn.execute(
        """
        UPDATE appointment_slots SET booked = booked - 1
        WHERE center_id = $1 AND line_code = $2 AND slot_start = $3 AND booked > 0
        """,
        center_id,
        line_code,
        slot_start,
    )
    await conn.execute(
        """
        UPDATE appointment_days SET booked = booked - 1
        WHERE center_id = $1 AND line_code = $2 AND local_day = $3 AND booked > 0
        """,
        center_id,
        line_code,
        day,
    )


async def booked_per_slot(
    conn: asyncpg.Connection, center_id: str, line_code: str, first: datetime, last: datetime
) -> dict[datetime, int]:
    rows = await conn.fetch(
        """
        SELECT slot_start, booked FROM appointment_slots
        WHERE center_id = $1 AND line_code = $2 AND slot_start BETWEEN $3 AND $4
        """,
        center_id,
        line_code,
        first,
        last,
    )
    return {r["slot_start"]: r["booked"] for r in rows}


async def booked_per_day(
    conn: asyncpg.Connection, center_id: str, line_code: str, first: date, last: date
) -> dict[date, int]:
    rows = await conn.fetch(
        """
        SELECT local_day, booked FROM appointment_days
        WHERE center_id = $1 AND line_code = $2 AND local_day BETWEEN $3 AND $4
        """,
        center_id,
        line_code,
        first,
        last,
    )
    return {r["local_day"]: r["booked"] for r in rows}


async def insert(
    conn: asyncpg.Connection, a: Appointment, day: date, idempotency_key: str | None
) -> None:
    try:
        # A savepoint, so that a clash leaves the caller's transaction usable.
        async with conn.transaction():
            await conn.execute(
                """
                INSERT INTO appointments (appointment_id, center_id, line_code, local_day,
                    slot_start, slot_end, code, status, booked_at, contact, idempotency_key)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)
                """,
                a.appointment_id,
                a.center_id,
                a.line_code,
                day,
                a.slot_start,
                a.slot_end,
                a.code,
                a.status.value,
                a.booked_at,
                json.dumps(a.contact) if a.contact is not None else None,
                idempotency_key,
            )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "appointments_code_unique":
            raise DuplicateCode("booking code taken") from exc
        raise DuplicateRequest("a booking with this Idempotency-Key exists") from exc


async def by_request(
    conn: asyncpg.Connection, center_id: str, idempotency_key: str
) -> Appointment | None:
    """The booking an earlier request with this key made."""
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM appointments WHERE center_id = $1 AND idempotency_key = $2",
        center_id,
        idempotency_key,
    )
    return appointment_from(row) if row else None


async def lock_by_code(conn: asyncpg.Connection, code: str) -> Appointment | None:
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM appointments WHERE code = $1 FOR UPDATE", code
    )
    return appointment_from(row) if row else None


async def by_code(conn: asyncpg.Connection, code: str) -> Appointment | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM appointments WHERE code = $1", code)
    return appointment_from(row) if row else None


async def save(
    conn: asyncpg.Connection, a: Appointment, day: date, request_key: str | None = None
) -> None:
    """Store a change; ``request_key`` is the Idempotency-Key of the request that made it,
    so that its retry is answered without a second change."""
    await conn.execute(
        """
        UPDATE appointments
        SET slot_start = $2, slot_end = $3, local_day = $4, status = $5, ticket_id = $6,
            last_request = COALESCE($7, last_request), updated_at = now()
        WHERE appointment_id = $1
        """,
        a.appointment_id,
        a.slot_start,
        a.slot_end,
        day,
        a.status.value,
        a.ticket_id,
        request_key,
    )


async def last_request(conn: asyncpg.Connection, appointment_id: uuid.UUID) -> str | None:
    key: str | None = await conn.fetchval(
        "SELECT last_request FROM appointments WHERE appointment_id = $1", appointment_id
    )
    return key


async def lock_unchecked(conn: asyncpg.Connection, now: datetime, batch: int) -> list[Appointment]:
    """Open bookings whose slot has begun, oldest first, locked (SKIP LOCKED: a booking a
    kiosk is checking in right now is left to the kiosk). The rules say which of them
    are past their center's check-in window."""
    rows = await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM appointments
        WHERE status = 'booked' AND slot_start < $1
        ORDER BY slot_start
        LIMIT $2
        FOR UPDATE SKIP LOCKED
        """,
        now,
        batch,
    )
    return [appointment_from(r) for r in rows]
