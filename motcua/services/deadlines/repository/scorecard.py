"""The 766 scorecard's SQL: what it stores (each dossier's filing channel, its documents'
flags) and the counts it reads, aggregated per center in the database.

The cohort is the dossiers received in the period (``[lo, hi)``), each in its state now:
the stored clock (``due_at`` already moved by every pause and extension) with the flags
the scorecard keeps on it.

A period of whole local days (every report's) is read from the daily summary that
migration 0008 keeps exact on each clock change: a row per center and day, plus the
changes not yet folded into it (``scorecard_changes``), plus the running clocks' on-time
and overdue counts as of now. Any other window is counted from
the clocks directly (``_COHORT``), which is also the reference the summary is tested
against.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import asyncpg

from motcua.services.deadlines.repository.reports import plan_for_the_values
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


SUMMARY_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
"""The zone of the summary's days (migration 0008 names it too)."""


def summary_days(lo: datetime, hi: datetime) -> tuple[date, date] | None:
    """The window as summary days ``[first, after)``, or None when its bounds are not
    midnights of the summary's zone (a report configured in another zone)."""
    lo_local, hi_local = lo.astimezone(SUMMARY_TZ), hi.astimezone(SUMMARY_TZ)
    if lo_local.time() != time() or hi_local.time() != time():
        return None
    return lo_local.date(), hi_local.date()


async def counts_by_center(
    conn: asyncpg.Connection,
    lo: datetime,
    hi: datetime,
    center_id: str | None,
    now: datetime,
) -> dict[str, Counts]:
    """The scorecard's counts of every center with a dossier in the cohort (one center's
    with ``center_id``): from the daily summary when the window is whole days."""
    await plan_for_the_values(conn)  # one center's days, or every center's
    days = summary_days(lo, hi)
    if days is None:
        return await counted_from_clocks(conn, lo, hi, center_id, now)
    rows = await conn.fetch(_SUMMED, *days, center_id, lo, hi, now)
    return _by_center(rows)


# The summary's days of the period (its rows and its pending changes), and the running
# clocks' now-dependent counts (the
# summary leaves them out: neither closed nor paused, they are on time or overdue as of
# now), by the direct count's expressions with "ended" now.
_SUMMARY_COLUMNS = """center_id, received, on_time_766, repeated_supplement, resolved,
    resolved_late, overdue, overdue_with_letter, online, with_result, digitised, reused,
    rated, disliked, handling_seconds"""
_SUMMED = f"""
    WITH summed AS (
        SELECT center_id, sum(received) AS received, sum(on_time_766) AS on_time_766,
            sum(repeated_supplement) AS repeated_supplement, sum(resolved) AS resolved,
            sum(resolved_late) AS resolved_late, sum(overdue) AS overdue,
            sum(overdue_with_letter) AS overdue_with_letter, sum(online) AS online,
            sum(with_result) AS with_result, sum(digitised) AS digitised,
            sum(reused) AS reused, sum(rated) AS rated, sum(disliked) AS disliked,
            sum(handling_seconds)::float8 AS handling_seconds
        FROM (SELECT {_SUMMARY_COLUMNS} FROM scorecard_days
              WHERE day >= $1 AND day < $2 AND ($3::text IS NULL OR center_id = $3)
              UNION ALL
              SELECT {_SUMMARY_COLUMNS} FROM scorecard_changes
              WHERE day >= $1 AND day < $2 AND ($3::text IS NULL OR center_id = $3)) AS d
        GROUP BY center_id),
    running AS (
        SELECT center_id,
            count(*) FILTER (WHERE supplement_requests < {REPEATED_FROM} AND CASE
                WHEN closed_kind = 'resolved' THEN outcome IN ('early', 'on_time')
                ELSE $6 <= due_at END) AS on_time_766,
            count(*) FILTER (WHERE overdue) AS overdue,
            count(*) FILTER (WHERE overdue AND lettered) AS overdue_with_letter
        FROM (SELECT center_id, closed_kind, outcome, due_at, supplement_requests, lettered,
                     CASE WHEN closed_kind = 'resolved' THEN outcome = 'late'
                          ELSE closed_kind IS NULL AND $6 > due_at END AS overdue
              FROM clocks
              WHERE closed_at IS NULL AND paused_since IS NULL
                AND received_at >= $4 AND received_at < $5
                AND ($3::text IS NULL OR center_id = $3)) AS r
        GROUP BY center_id)
    SELECT s.center_id, s.received,
        s.on_time_766 + coalesce(r.on_time_766, 0) AS on_time_766,
        s.repeated_supplement, s.resolved, s.resolved_late,
        s.overdue + coalesce(r.overdue, 0) AS overdue,
        s.overdue_with_letter + coalesce(r.overdue_with_letter, 0) AS overdue_with_letter,
        s.online, s.with_result, s.digitised, s.reused, s.rated, s.disliked,
        s.handling_seconds
    FROM summed s LEFT JOIN running r USING (center_id)
    WHERE s.received > 0"""


def _by_center(rows: list[asyncpg.Record]) -> dict[str, Counts]:
    return {
        r["center_id"]: Counts(**{k: v for k, v in r.items() if k != "center_id"}) for r in rows
    }


async def counted_from_clocks(
    conn: asyncpg.Connection,
    lo: datetime,
    hi: datetime,
    center_id: str | None,
    now: datetime,
) -> dict[str, Counts]:
    """The same counts from the cohort's clocks, one by one: any window, at the cost of a
    scan of the period's clocks."""
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
    return _by_center(rows)


async def handling_by_procedure(
    conn: asyncpg.Connection, lo: datetime, hi: datetime, center_id: str | None
) -> list[Handling]:
    """2.2 per procedure: the cohort's resolved dossiers and their handling time."""
    days = summary_days(lo, hi)
    if days is None:
        return await handling_from_clocks(conn, lo, hi, center_id)
    # The province's own table holds a row per day and procedure, not one per center too.
    # The pending changes are every center's (or the one's), as they were appended.
    table, scope = (
        ("scorecard_province_procedure_days", "$3::text IS NULL")
        if center_id is None
        else ("scorecard_procedure_days", "center_id = $3")
    )
    rows = await conn.fetch(
        f"""SELECT procedure_code, sum(resolved) AS resolved,
                   sum(handling_seconds)::float8 AS seconds
            FROM (SELECT procedure_code, resolved, handling_seconds FROM {table}
                  WHERE {scope} AND day >= $1 AND day < $2
                  UNION ALL
                  SELECT procedure_code, resolved, handling_seconds FROM scorecard_changes
                  WHERE ($3::text IS NULL OR center_id = $3) AND day >= $1 AND day < $2) AS d
            GROUP BY procedure_code HAVING sum(resolved) > 0 ORDER BY procedure_code""",
        *days,
        center_id,
    )
    return [Handling(r["procedure_code"], r["resolved"], r["seconds"]) for r in rows]


async def handling_from_clocks(
    conn: asyncpg.Connection, lo: datetime, hi: datetime, center_id: str | None
) -> list[Handling]:
    """The same from the cohort's clocks, one by one."""
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


async def fold_scorecard_days(conn: asyncpg.Connection) -> int:
    """Fold the scorecard summary's pending changes into its rows (see migration 0008); how
    many of its rows changed, 0 while another transaction folds."""
    folded: int = await conn.fetchval("SELECT scorecard_fold()")
    return folded
