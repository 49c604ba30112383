"""Explicit SQL of appointments on the caller's connection and transaction.

The places of a slot are a counter taken with one conditional upsert: the row lock
serialises racing bookers, and the ``WHERE booked < $cap`` makes the one who comes
second find the slot full instead of overbooking it.
"""

from __future__ import annotations

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


async def slot_full(
    conn: asyncpg.Connection, center_id: str, line_code: str, slot_start: datetime, capacity: int
) -> bool:
    """Whether the slot's places are all taken, read without a lock: a request for a full
    slot is refused at once instead of queueing behind the slot's row lock. Only a
    hint: ``take_place`` decides."""
    booked = await conn.fetchval(
        """
        SELECT booked FROM appointment_slots
        WHERE center_id = $1 AND line_code = $2 AND slot_start = $3
        """,
        center_id,
        line_code,
        slot_start,
    )
    return booked is not None and booked >= capacity


async def take_place(
    conn: asyncpg.Connection,
    center_id: str,
    line_code: str,
    slot_start: datetime,
    *,
    capacity: int,
    day: tuple[datetime, datetime] | None = None,
    daily_cap: int = 0,
) -> str | None:
    """Take one place in the slot; which limit is reached (``slot_full``, ``day_full``),
    if any.

    ``day`` (the first and last slot starts of the local day) is given only when the
    line's daily cap can bind that day. Bookings of one line-day then take a
    transaction-level advisory lock and count the day's places from the slots
    themselves: serialised, so the cap holds, and counted from the truth, so a cap
    changed mid-day holds too. When the cap cannot bind, bookings of different slots
    share no row at all, and a burst is limited only by each slot's own row.
    """
    if day is not None:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            f"appointment-day:{center_id}:{line_code}:{day[0].isoformat()}",
        )
        taken = await conn.fetchval(
            """
            SELECT coalesce(sum(booked), 0) FROM appointment_slots
            WHERE center_id = $1 AND line_code = $2 AND slot_start BETWEEN $3 AND $4
            """,
            center_id,
            line_code,
            day[0],
            day[1],
        )
        if taken >= daily_cap:
            return "day_full"
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
        capacity,
    )
    return None if slot is not None else "slot_full"


async def free_place(
    conn: asyncpg.Connection, center_id: str, line_code: str, slot_start: datetime
) -> None:
    """Give back the place a booking held (cancelled or moved)."""
    await conn.execute(
        """
        UPDATE appointment_slots SET booked = booked - 1
        WHERE center_id = $1 AND line_code = $2 AND slot_start = $3 AND booked > 0
        """,
        center_id,
        line_code,
        slot_start,
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
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
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
                dict(a.contact) if a.contact is not None else None,  # the pool's JSON codec
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
