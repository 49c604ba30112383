"""The timeline read model: its entries stored once each, and one dossier's read back with
its ticket's and its notifications' (joined here, so topics may arrive in any order)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import timedelta

import asyncpg

from motcua.services.deadlines.timeline import Entry

_COLUMNS = "event_id, center_id, at, event_type, source, dossier_id, ticket_id, source_event_id"


async def add_entries(conn: asyncpg.Connection, entries: Sequence[Entry]) -> None:
    """Store entries; one already stored (the same event id) is left as it is."""
    if not entries:
        return
    await conn.executemany(
        f"""INSERT INTO timeline ({_COLUMNS}, detail)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb)
            ON CONFLICT (event_id) DO NOTHING""",
        [
            (
                e.event_id,
                e.center_id,
                e.at,
                e.event_type,
                e.source,
                e.dossier_id,
                e.ticket_id,
                e.source_event_id,
                json.dumps(e.detail, ensure_ascii=False),
            )
            for e in entries
        ],
    )


async def dossier_entries(conn: asyncpg.Connection, dossier_id: uuid.UUID) -> list[Entry]:
    """The dossier's own entries, its ticket's, and the notifications either caused."""
    rows = await conn.fetch(
        f"""WITH own AS (SELECT * FROM timeline WHERE dossier_id = $1),
                 tickets AS (SELECT * FROM timeline
                             WHERE ticket_id IN (SELECT ticket_id FROM own
                                                 WHERE ticket_id IS NOT NULL)),
                 cases AS (SELECT * FROM own UNION SELECT * FROM tickets),
                 told AS (SELECT * FROM timeline
                          WHERE source_event_id IN (SELECT event_id FROM cases))
            SELECT {_COLUMNS}, detail::text AS detail FROM cases
            UNION SELECT {_COLUMNS}, detail::text FROM told""",
        dossier_id,
    )
    return [
        Entry(
            event_id=r["event_id"],
            center_id=r["center_id"],
            at=r["at"],
            event_type=r["event_type"],
            source=r["source"],
            dossier_id=r["dossier_id"],
            ticket_id=r["ticket_id"],
            source_event_id=r["source_event_id"],
            detail=json.loads(r["detail"]),
        )
        for r in rows
    ]


async def expire_unjoined_tickets(conn: asyncpg.Connection, horizon: timedelta, limit: int) -> int:
    """Forget the queue entries of tickets older than ``horizon`` that no dossier names:
    most tickets end without a dossier, and nothing will ever ask for their story."""
    status: str = await conn.execute(
        """DELETE FROM timeline WHERE ctid = ANY (ARRAY(
               SELECT t.ctid FROM timeline t
               WHERE t.source = 'queue' AND t.at < now() - $1::interval
                 AND NOT EXISTS (SELECT 1 FROM timeline d
                                 WHERE d.ticket_id = t.ticket_id AND d.dossier_id IS NOT NULL)
               LIMIT $2))""",
        horizon,
        limit,
    )
    return int(status.split()[-1])
