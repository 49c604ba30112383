"""Retention: forget what no redelivery can ask about any more.

The inbox keeps one row per event a consumer has applied, so that a redelivered
copy is recognised and skipped. A copy can come back only while the broker still
holds the event (the topic's retention; Kafka keeps seven days by default) or
while an operator replays it from a dead-letter topic. Past that the row is dead
weight, and without a sweep the table grows for ever.

Each service process sweeps its own schema every ``retention_sweep_seconds``:
rows older than ``retention_days`` are deleted at most ``BATCH`` per statement,
each statement its own short transaction, so a sweep never holds many row locks,
never bloats one transaction's WAL and never stalls the consumers' inserts. Only
one replica per schema sweeps at a time (an advisory lock); the others skip the
round. A service adds its own ever-growing tables with ``Retention.add``.

The horizon must outlast every redelivery, or a replayed old event would find no
inbox row and be applied a second time; the settings refuse less than a day.

The same sweep erases personal data a set time after its case closed
(``purge_after_days``; Law 91/2025 on personal data: kept no longer than needed).
A service adds each kind with ``Retention.add_purge``; what went is counted in
``motcua_personal_data_purged_total``. A purge erases values, not the records: the
statistics and the audit trail stay whole.

The outbox journal (``motcua.shared.bus.journal``) is swept too, on a horizon of its own
(``journal_hours``): what it holds is published again after a broker lost its log, so
it must stay shorter than the inbox's horizon, which the settings check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
from prometheus_client import Counter

from motcua.shared.logging import get_logger

log = get_logger(__name__)

BATCH = 5_000

DELETED = Counter(
    "motcua_retention_deleted_total",
    "Rows deleted by the retention sweep, past the horizon",
    ["schema", "table"],
)

# Held by the replica that sweeps; two-key form, on the inbox table's identity, so one
# lock per schema and apart from the outbox relay's locks.
_SWEEPING = "'inbox'::regclass::oid::int, 1"

PURGED = Counter(
    "motcua_personal_data_purged_total",
    "Personal values erased a set time after their case closed (Law 91/2025)",
    ["schema", "what"],
)

Sweep = Callable[[asyncpg.Connection, timedelta, int], Awaitable[int]]
"""Delete one table's rows older than the horizon, at most ``batch`` rows per statement;
return how many went. A purge has the same shape, with the purge horizon, and returns
how many records it erased personal values from."""


async def delete_expired_batch(
    conn: asyncpg.Connection, table: str, column: str, horizon: timedelta, limit: int
) -> int:
    """One statement: delete at most ``limit`` rows of ``table`` whose ``column`` is older
    than ``horizon``; return how many went."""
    if not (table.isidentifier() and column.isidentifier()):
        raise ValueError(f"bad table or column name {table!r}.{column!r}")
    # ctid = ANY (ARRAY(...)) makes the planner fetch the chosen rows by their address.
    status = await conn.execute(
        f"""
        DELETE FROM {table} WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM {table} WHERE {column} < now() - $1::interval LIMIT $2))
        """,
        horizon,
        limit,
    )
    return int(status.rpartition(" ")[2])


async def delete_expired(
    conn: asyncpg.Connection, table: str, column: str, horizon: timedelta, batch: int = BATCH
) -> int:
    """Delete every row of ``table`` whose ``column`` is older than ``horizon``, ``batch``
    rows per statement; return how many went."""
    total = 0
    while True:
        deleted = await delete_expired_batch(conn, table, column, horizon, batch)
        total += deleted
        if deleted < batch:
            return total


async def repeat_batches(
    conn: asyncpg.Connection, statement: str, horizon: timedelta, batch: int, *args: object
) -> int:
    """Run ``statement`` (``$1`` the horizon, ``$2`` the batch size, then ``args``),
    each run its own short statement, until one touches fewer than ``batch`` rows;
    return how many it touched in all."""
    total = 0
    while True:
        status = await conn.execute(statement, horizon, batch, *args)
        done = int(status.rpartition(" ")[2])
        total += done
        if done < batch:
            return total


async def expire_inbox(conn: asyncpg.Connection, horizon: timedelta, batch: int) -> int:
    return await delete_expired(conn, "inbox", "processed_at", horizon, batch)


def expire_journal(horizon: timedelta) -> Sweep:
    """The outbox journal's sweep: rows published longer ago than ``horizon`` (its own,
    not the inbox's)."""

    async def sweep(conn: asyncpg.Connection, _inbox_horizon: timedelta, batch: int) -> int:
        return await delete_expired(conn, "outbox_journal", "published_at", horizon, batch)

    return sweep


class Retention:
    """The sweeps of one service's schema: the inbox, and whatever the service adds."""

    def __init__(
        self,
        schema: str,
        days: float,
        batch: int = BATCH,
        *,
        purge_days: float = 90.0,
        journal_hours: float | None = None,
    ) -> None:
        self.schema = schema
        self.horizon = timedelta(days=days)
        self.purge_horizon = timedelta(days=purge_days)
        self.batch = batch
        self.sweeps: dict[str, Sweep] = {}
        self.purges: dict[str, Sweep] = {}
        self.add("inbox", expire_inbox)
        if journal_hours is not None:
            self.add("outbox_journal", expire_journal(timedelta(hours=journal_hours)))

    def add(self, table: str, sweep: Sweep) -> None:
        self.sweeps[table] = sweep
        DELETED.labels(self.schema, table)  # the series exists, at 0, before any delete

    def add_purge(self, what: str, purge: Sweep) -> None:
        """Erase one kind of personal data past the purge horizon on every sweep."""
        self.purges[what] = purge
        PURGED.labels(self.schema, what)  # the series exists, at 0, before any purge

    async def sweep(self, conn: asyncpg.Connection) -> None:
        await self.sweep_once(conn)

    async def sweep_once(self, conn: asyncpg.Connection) -> dict[str, int] | None:
        """Sweep every table once; rows deleted per table, or ``None`` when another
        replica is sweeping this schema."""
        if not await conn.fetchval(f"SELECT pg_try_advisory_lock({_SWEEPING})"):
            return None
        try:
            deleted: dict[str, int] = {}
            for table, sweep in self.sweeps.items():
                deleted[table] = await sweep(conn, self.horizon, self.batch)
                DELETED.labels(self.schema, table).inc(deleted[table])
            for what, purge in self.purges.items():
                deleted[what] = await purge(conn, self.purge_horizon, self.batch)
                PURGED.labels(self.schema, what).inc(deleted[what])
        finally:
            await conn.execute(f"SELECT pg_advisory_unlock({_SWEEPING})")
        if any(deleted.values()):
            log.info("retention.swept", schema=self.schema, **deleted)
        return deleted
