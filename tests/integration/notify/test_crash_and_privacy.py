"""The notify process killed with SIGKILL mid-batch loses and doubles nothing, counted
at the sink; and no phone number or lookup secret ever shows in its logs or on the bus.

The service runs as its own OS process (``python -m motcua.services.notify``), configured
through the environment the way ``motcua dev`` and the containers configure it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from motcua.devtools.backends import Servers
from motcua.devtools.bus import produce, read_all
from motcua.devtools.embedded import free_port
from motcua.devtools.sinks import HttpSink
from motcua.shared.events.catalog import SealedContact
from motcua.shared.events.topics import all_topics
from tests.integration.notify.harness import (
    CONTACT_KEY,
    database,
    dossier_received,
    e164,
    kafka_for_module,
    random_phone,
    random_secret,
    sealed,
)
from tests.support.process import ServiceProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow
MESSAGES = 150


def notify_process(env: dict[str, str], log: Path) -> ServiceProcess:
    return ServiceProcess("notify", env, log, graceful=True)


@pytest.fixture(scope="module")
async def sink() -> AsyncIterator[HttpSink]:
    # Slow answers keep many sends in flight, so the kill lands mid-batch.
    s = await HttpSink(delay=0.05).start()
    yield s
    await s.stop()


@pytest.fixture(scope="module")
async def world(test_servers: Servers, sink: HttpSink, tmp_path_factory: Any) -> AsyncIterator[Any]:
    async with database(test_servers) as url:
        kafka = await kafka_for_module(test_servers)
        env = os.environ | {
            "DATABASE_URL": url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "MOTCUA_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "MOTCUA_NOTIFY_PORT": str(free_port()),
            "MOTCUA_CONTACT_KEY": CONTACT_KEY,
            "MOTCUA_NOTIFY_CHANNELS": f'{{"sms": "{sink.url("/sms")}"}}',
            "MOTCUA_NOTIFY_QUIET_HOURS_START": "00:00",
            "MOTCUA_NOTIFY_QUIET_HOURS_END": "00:00",
            "MOTCUA_NOTIFY_LEASE_SECONDS": "2",
            "MOTCUA_NOTIFY_RETRY_BASE_SECONDS": "0.1",
            "MOTCUA_NOTIFY_POLL_SECONDS": "0.2",
            "MOTCUA_LOG_FORMAT": "json",
        }
        log = Path(tmp_path_factory.mktemp("notify")) / "notify.log"
        conn = await asyncpg.connect(url)
        try:
            yield env, kafka, log, conn
        finally:
            await conn.close()


@pytest.fixture(scope="module")
def phones() -> list[str]:
    return [random_phone() for _ in range(MESSAGES)]


async def test_sigkill_mid_batch_loses_nothing_and_doubles_nothing(
    world: Any, sink: HttpSink, phones: list[str]
) -> None:
    env, kafka, log, db = world
    first = notify_process(env, log)
    await first.start()
    received = [dossier_received("c-crash", phone=p)[1] for p in phones]
    topic = f"{kafka.topic_prefix}dossier.events"
    await produce(kafka.bootstrap_servers, topic, [e.to_bytes() for e in received])

    async def delivered() -> int:
        return len(sink.delivered)

    await eventually(delivered, until=lambda n: n >= 10, what="some messages delivered")
    await first.kill()  # mid-batch: other sends are in flight at the sink
    at_kill = len(sink.delivered)
    assert at_kill < MESSAGES, "the kill came too late to prove anything"

    second = notify_process(env, log)
    await second.start()
    try:
        await eventually(delivered, until=lambda n: n >= MESSAGES, timeout=90, what="every message")

        async def settled() -> list[asyncpg.Record]:
            return list(
                await db.fetch("SELECT status, count(*) AS n FROM notify.deliveries GROUP BY 1")
            )

        rows = await eventually(
            settled,
            until=lambda r: [(x["status"], x["n"]) for x in r] == [("sent", MESSAGES)],
            what="every delivery recorded as sent",
        )
        assert rows
    finally:
        await second.stop()

    # Each citizen saw exactly one message; repeats of in-flight sends were caught by the key.
    assert len(sink.delivered) == MESSAGES
    assert all(len(sink.to(e164(p))) == 1 for p in phones)
    interrupted = await db.fetchval(
        "SELECT count(*) FROM notify.delivery_attempts WHERE outcome = 'interrupted'"
    )
    assert interrupted > 0, "no send was in flight at the kill"
    duplicates = len(sink.accepted) - len(sink.delivered)
    print(f"at kill {at_kill}; interrupted {interrupted}; repeats deduped at the sink {duplicates}")


async def test_no_phone_number_or_lookup_secret_in_the_logs_or_on_the_bus(
    world: Any, sink: HttpSink, phones: list[str]
) -> None:
    env, kafka, log, _ = world
    # Give the logs a reason to talk about contacts: a broken seal, an invalid
    # number, a gateway hiccup, an opt-out reply; and about messages that carry a
    # lookup secret: one sent after the hiccup, one refused until it is given up
    # (notification.failed, and its event dead-lettered).
    bad_seal = dossier_received("c-crash", phone=random_phone())[1]
    bad_seal = bad_seal.model_copy(
        update={
            "data": bad_seal.data.model_copy(
                update={"contact": SealedContact(kind="phone", sealed="AAAA")}
            )
        }
    )
    invalid_id = uuid.uuid4()
    invalid = dossier_received("c-crash", dossier_id=invalid_id)[1]
    invalid = invalid.model_copy(
        update={
            "data": invalid.data.model_copy(
                update={"contact": sealed("phone", "0123456789", invalid_id)}
            )
        }
    )
    extra, secret = random_phone(), random_secret()
    _, hiccup = dossier_received("c-crash", phone=extra, secret=secret)
    sink.fail_next["/sms"] = 2
    doomed_phone, doomed_secret = random_phone(), random_secret()
    doomed_dossier, doomed = dossier_received("c-crash", phone=doomed_phone, secret=doomed_secret)
    sink.fail_to.add(e164(doomed_phone))
    proc = notify_process(env, log)
    await proc.start()
    try:
        topic = f"{kafka.topic_prefix}dossier.events"
        await produce(kafka.bootstrap_servers, topic, [bad_seal.to_bytes(), invalid.to_bytes()])
        await produce(kafka.bootstrap_servers, topic, [hiccup.to_bytes(), doomed.to_bytes()])
        [message] = await eventually(lambda: _now(sink.to(e164(extra))), what="the hiccup message")
        assert secret in message.body  # the secret did go out, to the citizen alone
        async with httpx.AsyncClient() as client:
            r = await client.post(
                f"http://127.0.0.1:{proc.port}/inbound/sms",
                json={"from": extra, "text": "STOP"},
                headers={"X-Inbound-Secret": "dev-only-inbound-secret-change-me"},
            )
            assert r.json() == {"opted_out": True, "already": False}

        async def sent_events() -> int:
            topic = f"{kafka.topic_prefix}notification.events"
            return len(await read_all(kafka.bootstrap_servers, topic))

        await eventually(
            sent_events, until=lambda n: n >= MESSAGES + 2, what="notification events published"
        )

        async def dead_letters() -> list[Any]:
            found = await read_all(kafka.bootstrap_servers, f"{topic}.dlq")
            return [m for m in found if m.key == str(doomed_dossier.dossier_id).encode()]

        await eventually(dead_letters, what="the given-up message's event dead-lettered")
    finally:
        await proc.stop()
    refused = [r for r in sink.requests if e164(doomed_phone).encode() in r.body]
    assert refused
    assert all(doomed_secret.encode() in r.body for r in refused)

    logs = log.read_text(encoding="utf-8", errors="replace")
    assert "notify.contact_rejected" in logs  # the logs did speak about contacts
    assert "service.started" in logs
    every = [*phones, extra, doomed_phone, "0123456789"]
    forms = {f for p in every for f in (p, e164(p), e164(p)[1:], p[1:])}
    leaked = sorted(f for f in forms if f in logs)
    assert leaked == [], "phone numbers in the logs"

    bus = b""
    for name, _ in all_topics(kafka.topic_prefix):
        for m in await read_all(kafka.bootstrap_servers, name, timeout=2):
            bus += m.value + b"".join(v.encode() for v in m.headers.values())
    assert b"notification.sent" in bus  # the topics were read
    on_bus = sorted(f for f in forms if f.encode() in bus)
    assert on_bus == [], "phone numbers on the bus"
    assert b"notification.failed" in bus
    secrets = [secret, doomed_secret]
    assert [x for x in secrets if x in logs] == [], "lookup secrets in the logs"
    assert [x for x in secrets if x.encode() in bus] == [], "lookup secrets on the bus"


async def _now(value: Any) -> Any:
    return value
