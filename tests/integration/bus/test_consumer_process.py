"""EventConsumer.process on the real database, fed records directly (no broker).

The real-broker paths are covered in test_outbox_inbox.py; this pins the batch
semantics precisely and quickly.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest

from motcua.devtools.probe import assigned
from motcua.shared.bus.consumer import EventConsumer, Retry, RetryPolicy
from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import DossierAssigned, DossierReturned
from tests.support.records import Rec


def records(*values: bytes) -> list[Rec]:
    return [Rec("t.dossier.events", 0, i, b"k", v) for i, v in enumerate(values)]


def returned(dossier: uuid.UUID) -> Envelope[Any]:
    payload = DossierReturned(dossier_id=dossier, dossier_code="D", procedure_code="P", status=10)
    return new_event(payload, center_id="c1", producer="probe")


def consumer(pool: asyncpg.Pool, dead: list[tuple[str, bytes, dict[str, str]]]) -> EventConsumer:
    async def publish(topic: str, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
        dead.append((topic, value, headers))

    c = EventConsumer("svc", pool=lambda: pool, publish=lambda: publish,
                      retry=RetryPolicy(attempts=3, base_delay=0.001))  # fmt: skip

    async def many(conn: asyncpg.Connection, events: Sequence[Envelope[DossierAssigned]]) -> None:
        if any(e.data.assignee == "poison" for e in events):
            raise ValueError("poisoned")
        await conn.executemany(
            "INSERT INTO log (what) VALUES ($1)", [(f"a{e.data.department}",) for e in events]
        )

    c.on_batch(DossierAssigned, many)

    async def one(conn: asyncpg.Connection, event: Envelope[DossierReturned]) -> None:
        await conn.execute("INSERT INTO log (what) VALUES ('r')")

    c.on(DossierReturned, one)

    return c


async def log(pool: asyncpg.Pool) -> list[str]:
    return [r["what"] for r in await pool.fetch("SELECT what FROM log ORDER BY seq")]


async def test_batch_and_single_handlers_interleave_in_order(pool: asyncpg.Pool) -> None:
    d = uuid.uuid4()
    evs = [assigned(d, 1), assigned(d, 2), returned(d), assigned(d, 3)]
    await consumer(pool, []).process(records(*(e.to_bytes() for e in evs)))
    assert await log(pool) == ["a1", "a2", "r", "a3"]


async def test_duplicates_in_and_across_batches_apply_once(pool: asyncpg.Pool) -> None:
    e = assigned(uuid.uuid4(), 1)
    c = consumer(pool, [])
    await c.process(records(e.to_bytes(), e.to_bytes()))
    await c.process(records(e.to_bytes()))
    assert await log(pool) == ["a1"]
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", e.event_id) == 1


async def test_poison_is_isolated_retried_and_dead_lettered(pool: asyncpg.Pool) -> None:
    d = uuid.uuid4()
    good1, bad, good2 = assigned(d, 1), assigned(d, 2, assignee="poison"), assigned(d, 3)
    dead: list[tuple[str, bytes, dict[str, str]]] = []
    await consumer(pool, dead).process(records(good1.to_bytes(), bad.to_bytes(), good2.to_bytes()))
    assert await log(pool) == ["a1", "a3"]
    assert len(dead) == 1
    topic, value, headers = dead[0]
    assert (topic, value) == ("t.dossier.events.dlq", bad.to_bytes())
    assert headers["x-attempts"] == "3"
    assert "poisoned" in headers["x-error"]
    assert headers["x-original-offset"] == "1"
    # The poison event is not marked processed: a fixed consumer could replay it from the DLQ.
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", bad.event_id) == 0


async def test_malformed_goes_straight_to_dlq_without_retry(pool: asyncpg.Pool) -> None:
    dead: list[tuple[str, bytes, dict[str, str]]] = []
    good = assigned(uuid.uuid4(), 1)
    await consumer(pool, dead).process(records(b"{oops", good.to_bytes(), b"x" * 70_000))
    assert await log(pool) == ["a1"]
    assert [h["x-attempts"] for _, _, h in dead] == ["1", "1"]
    assert "not JSON" in dead[0][2]["x-error"]
    assert "limit" in dead[1][2]["x-error"]


async def test_an_event_without_its_time_is_dead_lettered_not_applied(pool: asyncpg.Pool) -> None:
    # Dated on reading, it would start a deadline clock at whenever it was consumed.
    dead: list[tuple[str, bytes, dict[str, str]]] = []
    undated = assigned(uuid.uuid4(), 1)
    raw = json.loads(undated.to_bytes())
    del raw["occurred_at"]
    value = json.dumps(raw).encode()
    good = assigned(uuid.uuid4(), 2)
    await consumer(pool, dead).process(records(value, good.to_bytes()))
    assert await log(pool) == ["a2"]
    assert [(topic, v) for topic, v, _ in dead] == [("t.dossier.events.dlq", value)]
    assert dead[0][2]["x-attempts"] == "1"
    assert "occurred_at: Field required" in dead[0][2]["x-error"]
    assert (
        await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", undated.event_id) == 0
    )


async def test_database_unavailable_is_raised_not_dead_lettered(pool: asyncpg.Pool) -> None:
    dead: list[tuple[str, bytes, dict[str, str]]] = []
    c = consumer(pool, dead)
    c.retry = RetryPolicy(unavailable_pause=0.01)

    async def flaky(conn: asyncpg.Connection, event: Envelope[DossierReturned]) -> None:
        raise ConnectionResetError("database went away")

    c.on(DossierReturned, flaky)

    with pytest.raises(ConnectionResetError):
        await c.process(records(returned(uuid.uuid4()).to_bytes()))
    assert dead == []  # the batch is NACKed and redelivered, never dead-lettered


async def test_a_bad_query_argument_is_poison_not_an_outage(pool: asyncpg.Pool) -> None:
    # asyncpg files a wrong-typed argument under InterfaceError, next to "connection
    # closed"; taken for an outage it would pause the partition forever.
    dead: list[tuple[str, bytes, dict[str, str]]] = []
    c = consumer(pool, dead)
    c.retry = RetryPolicy(base_delay=0.001, unavailable_pause=0.01)

    async def misuse(conn: asyncpg.Connection, event: Envelope[DossierReturned]) -> None:
        await conn.execute("SELECT $1::int", "not a number")

    c.on(DossierReturned, misuse)

    await c.process(records(returned(uuid.uuid4()).to_bytes()))
    assert len(dead) == 1
    assert "DataError" in dead[0][2]["x-error"]


async def test_retry_signal_is_never_dead_lettered(pool: asyncpg.Pool) -> None:
    dead: list[tuple[str, bytes, dict[str, str]]] = []
    c = consumer(pool, dead)

    async def later(conn: asyncpg.Connection, event: Envelope[DossierReturned]) -> None:
        raise Retry("the dossier is not known yet")

    c.on(DossierReturned, later)

    with pytest.raises(Retry):
        await c.process(records(returned(uuid.uuid4()).to_bytes()))
    assert dead == []


def test_batch_handler_type_is_documented() -> None:
    c = EventConsumer("x", pool=lambda: None, publish=lambda: None)  # type: ignore[arg-type,return-value]

    async def h(conn: asyncpg.Connection, events: Sequence[Envelope[DossierAssigned]]) -> None: ...

    c.on_batch(DossierAssigned, h)

    assert c.handled == {DossierAssigned.EVENT_TYPE}
