"""The command consumer's failure paths, on the real database and broker: a command
that keeps failing is dead-lettered and answered once; an unavailable database
acknowledges nothing."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from services.intake.command_bus import CommandConsumer
from shared.bus.consumer import RetryPolicy
from shared.embedded import free_port
from shared.events.commands import Command
from shared.events.topics import INTAKE_COMMANDS
from tests.integration.intake.conftest import Running
from tests.integration.intake.support import Intake, command
from tests.support.kafka import read_all
from tests.support.waiting import eventually


@dataclass
class Rec:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


async def _publisher(bootstrap: str) -> Any:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()

    async def publish(topic: str, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
        await producer.send_and_wait(
            topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
        )

    return producer, publish


def _consumer(pool: asyncpg.Pool, publish: Any, calls: list[Any]) -> CommandConsumer:
    async def apply(conn: asyncpg.Connection, cmd: Command[Any], now: datetime) -> None:
        calls.append(cmd.command_id)
        raise RuntimeError("a bug in the use case")

    return CommandConsumer(
        name="intake-commands-test",
        pool=lambda: pool,
        publish=lambda: publish,
        apply=apply,
        retry=RetryPolicy(attempts=2, base_delay=0.01, unavailable_pause=0.01),
    )


async def test_a_command_that_keeps_failing_is_dead_lettered_and_rejected_once(
    intake: Intake, running_intake: Running
) -> None:
    producer, publish = await _publisher(intake.bootstrap)
    calls: list[Any] = []
    consumer = _consumer(running_intake.wiring.runtime.pool, publish, calls)
    topic = intake.topic(INTAKE_COMMANDS)
    poison = command("dossier.assign", {"assignee": "x"}, dossier_id=uuid.uuid4())
    record = Rec(topic, 0, random.randint(10**6, 10**9), b"k", poison.to_bytes())
    try:
        await consumer.process([record])
        await consumer.process([record])  # redelivered: no second effect, no second answer
    finally:
        await producer.stop()

    assert len(calls) == 1 + 2  # the batch try, then two tries alone
    dead = [m for m in await read_all(intake.bootstrap, topic + ".dlq") if m.value == record.value]
    assert len(dead) == 1
    assert "RuntimeError: a bug in the use case" in dead[0].headers["x-error"]
    assert dead[0].headers["x-original-offset"] == str(record.offset)
    row = await intake.pg.fetchrow(
        "SELECT outcome, reason FROM processed_commands WHERE command_key = $1",
        f"bus:{poison.command_id}",
    )
    assert (row["outcome"], row["reason"]) == ("rejected", "could not be applied (RuntimeError)")
    found = await eventually(lambda: intake.rejections_of(str(poison.command_id)), what="answer")
    assert len(found) == 1


async def test_an_unreadable_message_redelivered_is_answered_once(
    intake: Intake, running_intake: Running
) -> None:
    calls: list[Any] = []
    consumer = _consumer(running_intake.wiring.runtime.pool, None, calls)
    topic = intake.topic(INTAKE_COMMANDS)
    record = Rec(topic, 2, random.randint(10**6, 10**9), None, b"\xff\xfe not even text")
    await consumer.process([record])
    await consumer.process([record])
    where = f"{topic}@2:{record.offset}"
    found = await eventually(lambda: intake.rejections_of(where), what="answer")
    assert len(found) == 1
    assert "not JSON" in found[0]["data"]["reason"]
    assert calls == []


async def test_an_unavailable_database_acknowledges_nothing(intake: Intake) -> None:
    dead_pool = await asyncpg.create_pool(
        f"postgresql://nobody@127.0.0.1:{free_port()}/none", min_size=0
    )
    consumer = _consumer(dead_pool, None, [])
    ok = command("dossier.assign", {"assignee": "x"}, dossier_id=uuid.uuid4())
    record = Rec(intake.topic(INTAKE_COMMANDS), 0, 1, None, ok.to_bytes())
    try:
        with pytest.raises(ConnectionRefusedError):
            await consumer.process([record])
    finally:
        await dead_pool.close()
    assert (
        await intake.pg.fetchval(
            "SELECT count(*) FROM processed_commands WHERE command_key = $1", f"bus:{ok.command_id}"
        )
        == 0
    )
