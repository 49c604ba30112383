"""The outbox journal: published rows kept, published again on a new bus epoch or on
an operator's request, in id order and before the outbox; pruned on its own horizon."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from motcua.devtools.bus import read_all
from motcua.devtools.cli import outbox_command
from motcua.devtools.probe import assigned
from motcua.shared.bus import journal, outbox
from motcua.shared.bus.epoch import EpochMarker
from motcua.shared.bus.kafka import open_producer
from motcua.shared.bus.outbox import OutboxRelay
from motcua.shared.bus.retention import Retention
from motcua.shared.events.topics import DOSSIERS
from motcua.shared.settings import KafkaSettings
from tests.support.waiting import eventually

KEYS = [uuid.uuid4() for _ in range(3)]


def relay_for(
    pool: asyncpg.Pool, kafka: KafkaSettings, *, epoch: bool = True, **options: Any
) -> OutboxRelay:
    return OutboxRelay(
        pool,
        "svc",
        lambda: open_producer(kafka),
        topic_prefix=kafka.topic_prefix,
        epoch=EpochMarker(kafka) if epoch else None,
        replay_grace=0,
        **options,
    )


@pytest.fixture
async def running(
    pool: asyncpg.Pool, kafka_settings: KafkaSettings
) -> AsyncIterator[Callable[..., OutboxRelay]]:
    """Start relays on the ``svc`` schema; each is stopped at the end of the test."""
    tasks: list[tuple[OutboxRelay, asyncio.Task[None]]] = []

    def start(**options: Any) -> OutboxRelay:
        relay = relay_for(pool, kafka_settings, **options)
        tasks.append((relay, asyncio.create_task(relay.run())))
        return relay

    yield start
    for relay, task in tasks:
        await relay.stop()
        await asyncio.wait_for(task, 30)


async def write(pool: asyncpg.Pool, first_seq: int, count: int) -> list[uuid.UUID]:
    """``count`` transactions, each one event per key, seq ``first_seq`` onwards."""
    ids = []
    async with pool.acquire() as conn:
        for seq in range(first_seq, first_seq + count):
            events = [assigned(k, seq) for k in KEYS]
            async with conn.transaction():
                await outbox.add(conn, *events)
            ids += [e.event_id for e in events]
    return ids


async def journalled(pool: asyncpg.Pool, transactions: int) -> list[uuid.UUID]:
    """``write`` from seq 0, then wait until a running relay has published all of it
    into the journal (one row per event)."""
    ids = await write(pool, 0, transactions)
    await eventually(lambda: count(pool, "outbox_journal"), until=lambda n: n == len(ids))
    return ids


async def on_bus(kafka: KafkaSettings) -> list[dict[str, Any]]:
    topic = DOSSIERS.topic(kafka.topic_prefix)
    return [json.loads(m.value) for m in await read_all(kafka.bootstrap_servers, topic)]


def seqs_per_key(events: list[dict[str, Any]]) -> dict[str, list[int]]:
    per_key: dict[str, list[int]] = {}
    for e in events:
        per_key.setdefault(e["data"]["dossier_id"], []).append(int(e["data"]["department"]))
    return per_key


async def journal_ids(pool: asyncpg.Pool) -> list[uuid.UUID]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT event_id FROM outbox_journal ORDER BY id")
    return [r["event_id"] for r in rows]


async def count(pool: asyncpg.Pool, table: str) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))


async def test_published_rows_move_to_the_journal_with_their_bytes(
    pool: asyncpg.Pool, running: Callable[..., OutboxRelay], kafka_settings: KafkaSettings
) -> None:
    ids = await write(pool, 0, 5)
    running()
    assert await eventually(lambda: journal_ids(pool), until=lambda j: len(j) == 15) == ids
    assert await count(pool, "outbox") == 0
    async with pool.acquire() as conn:
        kept = await conn.fetch("SELECT event_id, payload FROM outbox_journal")
    published = {uuid.UUID(e["event_id"]) for e in await on_bus(kafka_settings)}
    assert published == set(ids)
    assert all(json.loads(bytes(r["payload"]))["event_id"] == str(r["event_id"]) for r in kept)


async def test_the_relay_adopts_the_bus_epoch_and_a_second_relay_agrees(
    pool: asyncpg.Pool, running: Callable[..., OutboxRelay], kafka_settings: KafkaSettings
) -> None:
    relay = running()
    await journalled(pool, 1)
    async with pool.acquire() as conn:
        stored = await conn.fetchval("SELECT bus_epoch FROM outbox_relay")
    assert stored is not None
    marker = EpochMarker(kafka_settings)
    try:
        assert (await marker.read()).id == stored  # read, not made again
    finally:
        await marker.close()
    assert relay.replayed == 0  # nothing to restore on the bus's first epoch


async def test_a_new_bus_epoch_replays_the_journal_in_order_before_the_outbox(
    pool: asyncpg.Pool, running: Callable[..., OutboxRelay], kafka_settings: KafkaSettings
) -> None:
    first = running()
    before = await journalled(pool, 10)
    await first.stop()
    # The relay last published under another epoch: the broker it sees lost that log.
    async with pool.acquire() as conn:
        await conn.execute("UPDATE outbox_relay SET bus_epoch = 'an-epoch-that-is-gone'")
    after = await write(pool, 10, 5)  # waits in the outbox, behind the replay
    second = running(batch_size=7)  # several keyset pages
    await eventually(lambda: count(pool, "outbox"), until=lambda n: n == 0, what="outbox sent")
    assert second.replayed == 30
    events = await on_bus(kafka_settings)
    ids = [uuid.UUID(e["event_id"]) for e in events]
    assert sorted(ids) == sorted(before * 2 + after)  # the journal twice, the outbox once
    for seqs in seqs_per_key(events).values():
        assert seqs == list(range(10)) + list(range(15))  # the replay, then the outbox
    async with pool.acquire() as conn:
        state = await conn.fetchrow(journal.STATE)
    assert state["replay_after"] is None
    assert state["replay_epoch"] is None
    assert state["bus_epoch"] != "an-epoch-that-is-gone"


async def test_a_replay_left_halfway_carries_on_from_its_progress(
    pool: asyncpg.Pool, running: Callable[..., OutboxRelay], kafka_settings: KafkaSettings
) -> None:
    await write(pool, 0, 4)
    relay_for_epoch = running(epoch=False)
    await eventually(lambda: count(pool, "outbox_journal"), until=lambda n: n == 12)
    await relay_for_epoch.stop()
    async with pool.acquire() as conn:
        sixth = await conn.fetchval("SELECT id FROM outbox_journal ORDER BY id OFFSET 5 LIMIT 1")
        await conn.execute("UPDATE outbox_relay SET replay_after = $1", sixth)
    resumed = running(epoch=False)
    await eventually(lambda: _replaying(pool), until=lambda r: r is None, what="replay done")
    assert resumed.replayed == 6
    per_key = seqs_per_key(await on_bus(kafka_settings))
    assert sorted(len(s) for s in per_key.values()) == [6, 6, 6]


async def test_an_operators_request_replays_what_was_published_since_before_newer_rows(
    pool: asyncpg.Pool, running: Callable[..., OutboxRelay], kafka_settings: KafkaSettings
) -> None:
    relay = running()
    await journalled(pool, 3)
    async with pool.acquire() as conn:
        # The first two transactions were published long ago; the third is recent.
        await conn.execute(
            "UPDATE outbox_journal SET published_at = now() - interval '3 hours'"
            " WHERE id IN (SELECT id FROM outbox_journal ORDER BY id LIMIT 6)"
        )
        since = datetime.now(UTC) - timedelta(hours=1)
        await conn.execute("SET search_path TO svc")
        assert await journal.request_replay(conn, since) == 3
        assert await journal.request_replay(conn, datetime.now(UTC) + timedelta(hours=1)) == 0
    await write(pool, 3, 1)
    await eventually(lambda: _replaying(pool), until=lambda r: r is None, what="replay done")
    await eventually(lambda: count(pool, "outbox"), until=lambda n: n == 0)
    assert relay.replayed == 3
    for seqs in seqs_per_key(await on_bus(kafka_settings)).values():
        assert seqs == [0, 1, 2, 2, 3]  # the recent one again, before the newer row


async def test_the_outbox_command_asks_every_named_schema(
    database_url: str, pool: asyncpg.Pool, running: Callable[..., OutboxRelay]
) -> None:
    relay = running(epoch=False)
    await journalled(pool, 2)
    await relay.stop()  # the request waits in the schema for the next leader
    since = datetime.now(UTC) - timedelta(minutes=5)
    lines = await outbox_command("replay", database_url, ["svc"], since)
    assert lines == [
        f"svc: 6 journal rows published since {since.isoformat()} will be published again"
    ]
    status = await outbox_command("status", database_url, ["svc"], None)
    assert status[0].startswith("svc: 6 rows owed to a replay")
    again = running(epoch=False)
    await eventually(lambda: _requested(pool), until=lambda r: r is None, what="request taken")
    await eventually(lambda: _replaying(pool), until=lambda r: r is None, what="replay done")
    assert again.replayed == 6


async def test_the_sweep_prunes_the_journal_on_its_own_horizon(
    pool: asyncpg.Pool, running: Callable[..., OutboxRelay]
) -> None:
    relay = running(epoch=False)
    await journalled(pool, 2)
    await relay.stop()
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE outbox_journal SET published_at = now() - interval '30 hours'"
            " WHERE id IN (SELECT id FROM outbox_journal ORDER BY id LIMIT 3)"
        )
        deleted = await Retention("svc", 30, journal_hours=24).sweep_once(conn)
    assert deleted == {"inbox": 0, "outbox_journal": 3}
    assert await count(pool, "outbox_journal") == 3


async def _replaying(pool: asyncpg.Pool) -> int | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(journal.STATE)
    return None if row["replay_after"] is None and row["replay_request"] is None else 1


async def _requested(pool: asyncpg.Pool) -> int | None:
    async with pool.acquire() as conn:
        value: int | None = await conn.fetchval("SELECT replay_request FROM outbox_relay")
    return value


def test_the_journal_must_end_before_the_inbox_forgets() -> None:
    from pydantic import ValidationError

    from motcua.shared.settings import ServiceSettings

    assert ServiceSettings(dev_mode=False).journal_hours == 168
    assert ServiceSettings(dev_mode=True).journal_hours == 24
    with pytest.raises(ValidationError, match="reaches past the retention horizon"):
        ServiceSettings(outbox_journal_hours=72, retention_days=2)


def test_a_replay_needs_a_time_with_its_zone(capsys: pytest.CaptureFixture[str]) -> None:
    from motcua.devtools.cli import main

    url = ["--database-url", "postgresql://nowhere/x"]
    with pytest.raises(SystemExit):
        main(["outbox", "replay", "--since", "2026-12-06T03:00", *url])
    assert "has no time zone" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["outbox", "replay", *url])
    assert "replay needs --since" in capsys.readouterr().err
