"""Retention of the inbox on the real database: old rows go in bounded batches, recent
ones stay and still refuse their duplicates; a running service sweeps on its own."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from motcua.devtools import probe
from motcua.shared.bus import inbox
from motcua.shared.bus.retention import Retention, delete_expired, delete_expired_batch
from motcua.shared.settings import ServiceSettings
from tests.integration.bus.conftest import runtime_of
from tests.support.serving import serve
from tests.support.waiting import eventually

HORIZON = timedelta(days=30)


async def claim(
    conn: asyncpg.Connection, ids: list[uuid.UUID], age_days: float = 0
) -> set[uuid.UUID]:
    """Claim ``ids`` for consumer ``c``, as if ``age_days`` ago; return those that were new."""
    async with conn.transaction():
        new = await inbox.claim(conn, "c", ids)
        await conn.execute(
            "UPDATE inbox SET processed_at = now() - $2::interval WHERE event_id = ANY($1)",
            ids,
            timedelta(days=age_days),
        )
    return new


async def kept(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    rows = await conn.fetch("SELECT event_id FROM inbox WHERE event_id = ANY($1)", ids)
    return {r["event_id"] for r in rows}


def ids(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


async def test_old_rows_go_recent_rows_stay_and_still_refuse_their_duplicates(
    pool: asyncpg.Pool,
) -> None:
    old, recent, edge = ids(3), ids(3), ids(1)
    async with pool.acquire() as conn:
        await claim(conn, old, age_days=45)
        await claim(conn, edge, age_days=29)
        await claim(conn, recent)

        assert await delete_expired(conn, "inbox", "processed_at", HORIZON) == 3

        assert await kept(conn, old + recent + edge) == set(recent + edge)
        # A redelivered copy of a recent event is still recognised: no second effect.
        assert await claim(conn, recent + edge) == set()
        # An event past the horizon is forgotten, which is why the horizon must outlast
        # every redelivery.
        assert await claim(conn, old[:1]) == set(old[:1])


async def test_one_statement_deletes_at_most_its_batch_and_a_sweep_deletes_them_all(
    pool: asyncpg.Pool,
) -> None:
    old, recent = ids(25), ids(4)
    async with pool.acquire() as conn:
        await claim(conn, old, age_days=31)
        await claim(conn, recent)

        assert await delete_expired_batch(conn, "inbox", "processed_at", HORIZON, 10) == 10
        assert len(await kept(conn, old)) == 15

        assert await delete_expired(conn, "inbox", "processed_at", HORIZON, batch=10) == 15
        assert await kept(conn, old + recent) == set(recent)


async def test_names_that_are_not_identifiers_are_refused(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(ValueError, match="bad table"):
            await delete_expired(conn, "inbox; DROP TABLE log", "processed_at", HORIZON)


async def test_one_replica_sweeps_a_schema_at_a_time_and_counts_what_it_deletes(
    pool: asyncpg.Pool,
) -> None:
    retention = Retention("svc", days=30, batch=2)
    old = ids(3)
    before = deleted_total("svc", "inbox")
    async with pool.acquire() as conn, pool.acquire() as other:
        await claim(conn, old, age_days=40)
        assert await other.fetchval("SELECT pg_try_advisory_lock('inbox'::regclass::oid::int, 1)")
        try:
            assert await retention.sweep_once(conn) is None  # another replica is sweeping
            assert await kept(conn, old) == set(old)
        finally:
            await other.execute("SELECT pg_advisory_unlock('inbox'::regclass::oid::int, 1)")

        assert await retention.sweep_once(conn) == {"inbox": 3}
        assert await kept(conn, old) == set()
        # The lock is let go after a sweep: the other replica can sweep next time.
        assert await retention.sweep_once(other) == {"inbox": 0}
    assert deleted_total("svc", "inbox") - before == 3


def deleted_total(schema: str, table: str) -> float:
    value = REGISTRY.get_sample_value(
        "motcua_retention_deleted_total", {"schema": schema, "table": table}
    )
    return value or 0.0


@pytest.mark.parametrize("days", [0, 0.5, -30])
def test_a_horizon_under_a_day_is_refused_at_start_up(days: float) -> None:
    with pytest.raises(ValueError, match="would be applied twice"):
        ServiceSettings(retention_days=days)


async def test_a_running_service_sweeps_its_inbox(
    make_settings: Any, db: asyncpg.Connection
) -> None:
    settings = make_settings(ServiceSettings, retention_sweep_seconds=0.1)
    app: FastAPI = probe.create_app(settings)
    assert set(runtime_of(app).retention.sweeps) == {"inbox", "outbox_journal"}
    old, recent = ids(2), ids(2)
    async with serve(app):
        await db.execute("SET search_path TO probe")
        await claim(db, old, age_days=60)
        await claim(db, recent)
        await eventually(lambda: kept(db, old), until=lambda k: not k, what="old rows swept")
        assert await kept(db, recent) == set(recent)
