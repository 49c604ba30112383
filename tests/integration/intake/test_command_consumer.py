"""The command consumer on the real database and broker: its failure paths (a command
that keeps failing is dead-lettered and answered once; an unavailable database
acknowledges nothing) and the proof of author every command carries (a clerk token,
held to the HTTP path's rules)."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from motcua.devtools.bus import read_all
from motcua.devtools.embedded import free_port
from motcua.services.intake.command_handlers import CommandConsumer
from motcua.shared.auth import Principal, issue_token, verify_token
from motcua.shared.bus.consumer import RetryPolicy
from motcua.shared.events.commands import ALL_COMMANDS, Command
from motcua.shared.events.topics import INTAKE_COMMANDS
from tests.integration.intake.conftest import Running
from tests.integration.intake.support import Intake, command
from tests.support.records import Rec
from tests.support.waiting import eventually


def _secret(intake: Intake) -> str:
    return intake.settings.auth_secret.get_secret_value()


async def _publisher(bootstrap: str) -> Any:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()

    async def publish(topic: str, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
        await producer.send_and_wait(
            topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
        )

    return producer, publish


def _consumer(pool: asyncpg.Pool, publish: Any, calls: list[Any], secret: str) -> CommandConsumer:
    async def apply(
        conn: asyncpg.Connection, cmd: Command[Any], author: Principal, now: datetime
    ) -> None:
        calls.append(cmd.command_id)
        raise RuntimeError("a bug in the use case")

    consumer = CommandConsumer(
        name="intake-commands-test",
        pool=lambda: pool,
        publish=lambda: publish,
        authenticate=lambda token: verify_token(secret, token),
        retry=RetryPolicy(attempts=2, base_delay=0.01, unavailable_pause=0.01),
    )
    for kind in ALL_COMMANDS:
        consumer.on(kind, apply)
    return consumer


async def test_a_command_that_keeps_failing_is_dead_lettered_and_rejected_once(
    intake: Intake, running_intake: Running
) -> None:
    producer, publish = await _publisher(intake.bootstrap)
    calls: list[Any] = []
    consumer = _consumer(running_intake.wiring.runtime.pool, publish, calls, _secret(intake))
    topic = intake.topic(INTAKE_COMMANDS)
    poison = intake.sign(command("dossier.assign", {"assignee": "x"}, dossier_id=uuid.uuid4()))
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
    consumer = _consumer(running_intake.wiring.runtime.pool, None, calls, _secret(intake))
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
    consumer = _consumer(dead_pool, None, [], _secret(intake))
    ok = intake.sign(command("dossier.assign", {"assignee": "x"}, dossier_id=uuid.uuid4()))
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


# ------------------------------------------------------------ proof of author


async def _rejection(intake: Intake, command_id: uuid.UUID) -> dict[str, Any]:
    [found] = await eventually(
        lambda: intake.rejections_of(str(command_id)), what=f"rejection of {command_id}"
    )
    return found


async def test_a_command_without_a_valid_clerk_token_is_rejected_and_changes_nothing(
    intake: Intake,
) -> None:
    ours = uuid.UUID((await intake.receive())["dossier"]["id"])

    def resolve(**fields: Any) -> Command[Any]:
        c = command("dossier.resolve", {"outcome": "approved"}, dossier_id=ours)
        return c.model_copy(update=fields)

    unsigned = resolve()
    forged = resolve(token=issue_token("not-the-secret", center_id="nam-cuong", subject="x"))
    with mock.patch("motcua.shared.auth.time.time", return_value=time.time() - 3600):
        stale = intake.token(subject="clerk-app-1", ttl=60)  # issued an hour ago
    expired = resolve(token=stale)
    stranger = resolve(token=intake.token("other-ward", subject="clerk-app-1"))
    impostor = resolve(token=intake.token(subject="someone-else"))
    key = str(ours)
    for c in (unsigned, forged, expired, stranger, impostor):
        await intake.send(c.to_bytes(), key=key)
    marker = command("dossier.assign", {"assignee": "officer-9"}, dossier_id=ours)
    await intake.send(marker)  # signed by its author: applied, after the others

    await intake.wait_events(ours, 2)
    reasons = {
        name: (await _rejection(intake, c.command_id))["data"]
        for name, c in {
            "unsigned": unsigned,
            "forged": forged,
            "expired": expired,
            "stranger": stranger,
            "impostor": impostor,
        }.items()
    }
    assert "carries no clerk token" in reasons["unsigned"]["reason"]
    assert "invalid token signature" in reasons["forged"]["reason"]
    assert "token expired" in reasons["expired"]["reason"]
    assert "other-ward" in reasons["stranger"]["reason"]
    assert "not 'nam-cuong'" in reasons["stranger"]["reason"]
    assert "issued_by" in reasons["impostor"]["reason"]
    for data in reasons.values():
        assert data["command_type"] == "dossier.resolve"
        assert data["dossier_id"] == str(ours)
    detail = await intake.dossier(str(ours))
    assert [h["event_type"] for h in detail["history"]] == ["dossier.received", "dossier.assigned"]
    assert [e["event_type"] for e in await intake.dossier_events(ours)] == [
        "dossier.received",
        "dossier.assigned",
    ]


async def test_a_strangers_command_cannot_use_up_the_id_of_a_genuine_one(
    intake: Intake,
) -> None:
    dossier = uuid.uuid4()
    genuine = command("dossier.receive", {"procedure_code": "HT-XNTTHN"}, dossier_id=dossier)
    # Sent first with the same id: unsigned (another procedure), then as garbage naming it.
    squatter = genuine.model_copy(update={"data": genuine.data.model_copy(
        update={"procedure_code": "CT-BANSAO"})})  # fmt: skip
    garbage = (
        b'{"command_id": "%s", "command_type": "dossier.teleport"}'
        % str(genuine.command_id).encode()
    )
    await intake.send(squatter.to_bytes(), garbage, key=str(dossier))
    await intake.send(genuine)

    [received] = await intake.wait_events(dossier, 1)
    assert received["causation_id"] == str(genuine.command_id)
    assert received["data"]["procedure_code"] == "HT-XNTTHN"  # the genuine one's effect
    row = await intake.pg.fetchrow(
        "SELECT outcome FROM processed_commands WHERE command_key = $1",
        f"bus:{genuine.command_id}",
    )
    assert row["outcome"] == "applied"
    answers = await eventually(
        lambda: intake.rejections_of(str(genuine.command_id)),
        until=lambda found: len(found) == 2,
        what="both strangers' messages answered",
    )
    assert all("could not" not in a["data"]["reason"] for a in answers)


async def test_a_bus_command_gets_the_http_rule_that_backdating_needs_an_admin(
    intake: Intake,
) -> None:
    past = datetime.now(UTC) - timedelta(days=3)
    by_clerk = command(
        "dossier.receive", {"procedure_code": "HT-XNTTHN"}, dossier_id=uuid.uuid4(), issued_at=past
    )
    by_admin = command(
        "dossier.receive", {"procedure_code": "HT-XNTTHN"}, dossier_id=uuid.uuid4(), issued_at=past
    )
    await intake.send(by_clerk, key="k")
    await intake.send(by_admin, key="k", role="admin")

    [received] = await intake.wait_events(by_admin.dossier_id or uuid.uuid4(), 1)
    assert datetime.fromisoformat(received["occurred_at"]) == past
    rejection = await _rejection(intake, by_clerk.command_id)
    assert rejection["data"]["reason"] == "backdating a change needs an admin token"
    assert await intake.dossier_events(by_clerk.dossier_id or uuid.uuid4()) == []
    # The same rule, word for word, on the HTTP path.
    r = await intake.http.post(
        "/v1/dossiers",
        json={"procedure_code": "HT-XNTTHN", "received_at": past.isoformat()},
        headers=intake.auth(),
    )
    assert r.status_code == 403
    assert r.json()["error"] == rejection["data"]["reason"]
