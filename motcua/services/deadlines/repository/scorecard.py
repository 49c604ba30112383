"""The 766 scorecard's SQL: what it stores (each dossier's filing channel, its documents'
flags) and the counts it reads, aggregated per center in the database in one pass over
the cohort, so the province's 150 centers cost one query, not 150.

The cohort is the dossiers received in the period (``[lo, hi)``), each in its state now:
the stored clock (``due_at`` already moved by every pause and extension) with the flags
the scorecard keeps on it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from motcua.services.deadlines.scorecard import DISLIKE_AT_MOST, Counts, Handling
from motcua.shared.reference.supplements import REPEATED_FROM


async def record_channel(conn: asyncpg.Connection, dossier_id: uuid.UUID, channel: str) -> None:
    """The channel of a receipt just stored (``record_receipt`` wrote its row), and the
    flags of what came before it."""
    await conn.execute("UPDATE clocks SET channel = $2 WHERE dossier_id = $1", dossier_id, channel)
    await refresh_flags(conn, dossier_id)


async def record_document(
    conn: asyncpg.Connection,
    dossier_id: uuid.UUID,
    kind: str,
    component: int,
    *,
    digitised: bool,
    reused: bool,
) -> None:
    """One attached file's flags (attached again, the flags it ever had stay), then its
    dossier's clock's."""
    await conn.execute(
        """INSERT INTO dossier_documents AS d (dossier_id, kind, component, digitised, reused)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (dossier_id, kind, component) DO UPDATE SET
               digitised = d.digitised OR EXCLUDED.digitised,
               reused = d.reused OR EXCLUDED.reused""",
        dossier_id,
        kind,
        component,
        digitised,
        reused,
    )
    await refresh_flags(conn, dossier_id)


async def refresh_flags(conn: asyncpg.Connection, dossier_id: uuid.UUID) -> None:
    """Recompute what the scorecard reads on the dossier's clock from its sources: the
    supplement requests recorded, the files attached, the rating given. Idempotent, so it
    runs after each of them and after the receipt (which may come last)."""
    await conn.execute(
        """UPDATE clocks c SET
               supplement_requests = (
                   SELECT count(*) FROM clock_facts f WHERE f.dossier_id = $1
                     AND f.kind = 'pause_start' AND f.channel = 'supplement'),
               has_component = coalesce(d.has_component, false),
               scanned_component = coalesce(d.scanned, false),
               reused_component = coalesce(d.reused, false),
               has_result = coalesce(d.has_result, false),
               rating = (SELECT r.rating FROM ratings r WHERE r.dossier_id = $1)
           FROM (SELECT bool_or(kind = 'component') AS has_component,
                        bool_or(kind = 'component' AND digitised) AS scanned,
                        bool_or(kind = 'component' AND reused) AS reused,
                        bool_or(kind = 'result') AS has_result
                 FROM dossier_documents WHERE dossier_id = $1) AS d
           WHERE c.dossier_id = $1""",
        dossier_id,
    )


# Each dossier of the period's cohort with what the indicators ask of it, from its clock
# alone (the flags above) and the apology letters. ``ended`` is when its handling stopped
# counting: its closure, the start of the pause it waits in (a dossier waiting for the
# citizen's supplement ends at the request), or now.
_COHORT = f"""
    SELECT c.center_id, c.closed_kind, c.outcome, c.due_at, c.channel, c.rating,
           c.received_at, c.closed_at, c.reused_component, c.has_result,
           coalesce(c.closed_at, c.paused_since, $4) AS ended,
           c.supplement_requests >= {REPEATED_FROM} AS repeated,
           c.scanned_component OR (c.channel = 'online' AND c.has_component)
               AS digitised_component,
           CASE WHEN c.closed_kind = 'resolved' THEN c.outcome = 'late'
                ELSE c.closed_kind IS NULL
                     AND coalesce(c.closed_at, c.paused_since, $4) > c.due_at END AS overdue,
           l.dossier_id IS NOT NULL AS lettered
    FROM clocks c
    -- One row per lettered dossier of the period: a hash join, not a lookup per dossier.
    LEFT JOIN (SELECT DISTINCT a.dossier_id FROM apology_letters a
               WHERE a.received_at >= $1 AND a.received_at < $2
                 AND ($3::text IS NULL OR a.center_id = $3)) AS l USING (dossier_id)
    WHERE c.received_at >= $1 AND c.received_at < $2
      AND ($3::text IS NULL OR c.center_id = $3)"""


async def counts_by_center(
    conn: asyncpg.Connection,
    lo: datetime,
    hi: datetime,
    center_id: str | None,
    now: datetime,
) -> dict[str, Counts]:
    """The scorecard's counts of every center with a dossier in the cohort (one center's
    with ``center_id``)."""
    rows = await conn.fetch(
        f"""
        SELECT center_id,
            count(*) AS received,
            count(*) FILTER (WHERE NOT repeated AND CASE
                WHEN closed_kind = 'resolved' THEN outcome IN ('early', 'on_time')
                ELSE ended <= due_at END) AS on_time_766,
            count(*) FILTER (WHERE repeated) AS repeated_supplement,
            count(*) FILTER (WHERE closed_kind = 'resolved') AS resolved,
            count(*) FILTER (WHERE closed_kind = 'resolved' AND outcome = 'late')
                AS resolved_late,
            count(*) FILTER (WHERE overdue) AS overdue,
            count(*) FILTER (WHERE overdue AND lettered) AS overdue_with_letter,
            count(*) FILTER (WHERE channel = 'online') AS online,
            count(*) FILTER (WHERE closed_kind = 'resolved' AND has_result) AS with_result,
            count(*) FILTER (WHERE digitised_component AND has_result) AS digitised,
            count(*) FILTER (WHERE reused_component) AS reused,
            count(rating) AS rated,
            count(*) FILTER (WHERE rating <= {DISLIKE_AT_MOST}) AS disliked,
            coalesce(sum(extract(epoch FROM closed_at - received_at))
                FILTER (WHERE closed_kind = 'resolved'), 0)::float8 AS handling_seconds
        FROM ({_COHORT}) AS marked GROUP BY center_id""",
        lo,
        hi,
        center_id,
        now,
    )
    return {
        r["center_id"]: Counts(**{k: v for k, v in r.items() if k != "center_id"}) for r in rows
    }


async def handling_by_procedure(
    conn: asyncpg.Connection, lo: datetime, hi: datetime, center_id: str | None
) -> list[Handling]:
    """2.2 per procedure: the cohort's resolved dossiers and their handling time."""
    rows = await conn.fetch(
        """SELECT procedure_code, count(*) AS resolved,
                  sum(extract(epoch FROM closed_at - received_at))::float8 AS seconds
           FROM clocks
           WHERE received_at >= $1 AND received_at < $2
             AND ($3::text IS NULL OR center_id = $3) AND closed_kind = 'resolved'
           GROUP BY procedure_code ORDER BY procedure_code""",
        lo,
        hi,
        center_id,
    )
    return [Handling(r["procedure_code"], r["resolved"], r["seconds"]) for r in rows]


async def known_center(conn: asyncpg.Connection, center_id: str) -> bool:
    """Whether this service has heard of the center: configured, or with a dossier."""
    return bool(
        await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM centers WHERE center_id = $1)
                   OR EXISTS (SELECT 1 FROM clocks WHERE center_id = $1)""",
            center_id,
        )
    )
