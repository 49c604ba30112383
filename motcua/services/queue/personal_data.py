"""Personal data the queue keeps, and how long.

A ticket holds its kiosk contact (sealed, given with consent) and its priority
reason (health or family data: disability, pregnancy, a young child); a remote
ticket also the keyed digests of its phone and client address. They serve only
while the ticket waits and is served. ``purge_after_days`` after a ticket
finished (served, no-show or cancelled), the retention sweep erases them (Law
91/2025 on personal data: kept no longer than needed); the ticket stays for the
waiting and service-time statistics. A booking's contact goes the same time after
the booking ended.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from motcua.shared.bus.retention import repeat_batches
from motcua.shared.runtime import ServiceRuntime

# ``updated_at`` is the time of a ticket's last change: for a finished one, its end.
_ERASE = """
    UPDATE tickets SET contact = NULL, priority_reason = NULL, requester = NULL, client = NULL
    WHERE ticket_id = ANY (ARRAY(
        SELECT ticket_id FROM tickets
        WHERE status IN ('served', 'no_show', 'cancelled')
          AND updated_at < now() - $1::interval
          AND (contact IS NOT NULL OR priority_reason IS NOT NULL)
        LIMIT $2))
"""


# A booking's contact serves its confirmation and reminder: erased once the booking
# has ended (checked in, cancelled or missed) and the horizon has passed since.
_ERASE_BOOKINGS = """
    UPDATE appointments SET contact = NULL
    WHERE appointment_id = ANY (ARRAY(
        SELECT appointment_id FROM appointments
        WHERE status IN ('checked_in', 'cancelled', 'no_show')
          AND updated_at < now() - $1::interval
          AND contact IS NOT NULL
        LIMIT $2))
"""


async def erase_ticket_details(conn: asyncpg.Connection, horizon: timedelta, batch: int) -> int:
    return await repeat_batches(conn, _ERASE, horizon, batch)


async def erase_booking_details(conn: asyncpg.Connection, horizon: timedelta, batch: int) -> int:
    return await repeat_batches(conn, _ERASE_BOOKINGS, horizon, batch)


def register(runtime: ServiceRuntime) -> None:
    runtime.retention.add_purge("ticket_details", erase_ticket_details)
    runtime.retention.add_purge("booking_details", erase_booking_details)
