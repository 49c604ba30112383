"""The delivery outbox's SQL against a real PostgreSQL: whole batches in one statement
keep every per-message guarantee (once per event, kind, channel and recipient; one
wake-up per transaction; a lost send logged as interrupted together with its claim;
one log line per attempt). So does the record of the receipts messages go out for."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from motcua.devtools.backends import Servers
from motcua.devtools.bus import read_all
from motcua.services.notify.contacts import Contact
from motcua.services.notify.repository import citizens as repo
from motcua.services.notify.repository import deliveries
from motcua.services.notify.repository.deliveries import Attempt, NewDelivery, Outcome, SourceEvent
from motcua.shared.crypto import AT_REST, Keyring
from motcua.shared.events.topics import DOSSIERS
from tests.integration.notify.harness import new_delivery, running_notify
from tests.support.waiting import eventually

KEYS = Keyring("k1", {"k1": "notify-test-contact-key"}, AT_REST)

NOTE = "its sender stopped mid-send"
LEASE = 60.0


@pytest.fixture
async def conn(notify_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with notify_pool.acquire() as c:
        yield c


def source() -> SourceEvent:
    return SourceEvent(uuid.uuid4(), "p.dossier.events", "k", b'{"e": 1}', uuid.uuid4())


def delivery(event: SourceEvent, ref: str, status: str = "pending") -> NewDelivery:
    return new_delivery(
        event.event_id,
        ref,
        status,
        fallback=[{"channel": "email", "contact_kind": "email", "recipient_ref": "r_e"}],
        last_error="opted out" if status == "suppressed" else None,
    )


async def test_a_batch_records_each_message_once_and_wakes_the_worker_once(
    conn: asyncpg.Connection, database_url: str
) -> None:
    woken: list[str] = []
    listener = await asyncpg.connect(database_url)
    await listener.add_listener("notify_deliveries", lambda *a: woken.append(a[2]))
    try:
        shared, other = source(), source()
        first = delivery(shared, "r_1")
        batch = [
            (first, shared),
            (delivery(shared, "r_2"), shared),  # one event, two recipients
            (replace(first, id=uuid.uuid4()), shared),  # the same message again
            (delivery(other, "r_3", "suppressed"), other),
        ]
        async with conn.transaction():
            assert await deliveries.record_deliveries(conn, batch, KEYS) == 3
        async with conn.transaction():  # the event consumed again: nothing new
            assert await deliveries.record_deliveries(conn, batch, KEYS) == 0
        async with conn.transaction():  # a later message, whose wake-up comes after
            assert await deliveries.record_deliveries(conn, [(delivery(other, "r_4"), other)], KEYS)
        # Notifications arrive in commit order: the repeat woke nobody.
        await eventually(lambda: _now(woken), until=lambda w: len(w) >= 2, what="wake-ups")
        assert len(woken) == 2
    finally:
        await listener.close()

    rows = await conn.fetch(
        "SELECT recipient_ref, status, context, fallback, finished_at FROM deliveries "
        "ORDER BY recipient_ref"
    )
    assert [(r["recipient_ref"], r["status"]) for r in rows] == [
        ("r_1", "pending"),
        ("r_2", "pending"),
        ("r_3", "suppressed"),
        ("r_4", "pending"),
    ]
    assert rows[0]["context"] == first.context  # JSON as given, not a string
    assert rows[0]["fallback"] == first.fallback
    assert [r["finished_at"] is None for r in rows] == [True, True, False, True]
    assert await conn.fetchval("SELECT count(*) FROM source_events") == 2


async def test_a_batch_of_receipts_is_saved_as_one_after_another(
    conn: asyncpg.Connection,
) -> None:
    """The first receipt of a dossier stands; of each kind of contact, the last given.
    Receipts without a contact are remembered too."""
    at = datetime(2026, 3, 2, 2, tzinfo=UTC)
    one, two, bare = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def receipt(dossier: uuid.UUID, code: str, contact: Contact | None) -> repo.ReceivedDossier:
        return repo.ReceivedDossier(dossier, "c-1", code, at, contact)

    phone = Contact("phone", "+84901234567", "r_p1", "vi")
    batch = [
        receipt(one, "HS-1", phone),
        receipt(two, "HS-2", Contact("email", "a@b.vn", "r_e2", "en")),
        receipt(one, "HS-1-again", replace(phone, address="+84907654321", ref="r_p2")),
        receipt(one, "HS-1-third", Contact("email", "c@d.vn", "r_e1", "en")),
        receipt(bare, "HS-3", None),
    ]
    async with conn.transaction():
        await repo.save_dossiers(conn, batch, KEYS)
    async with conn.transaction():  # the batch again (another replica, say): no change
        await repo.save_dossiers(conn, batch, KEYS)
    dossiers = await conn.fetch("SELECT dossier_id, dossier_code FROM dossiers")
    assert {r["dossier_id"]: r["dossier_code"] for r in dossiers} == {
        one: "HS-1",
        two: "HS-2",
        bare: "HS-3",
    }
    rows = await conn.fetch(
        "SELECT subject_kind, subject_id, kind, address, recipient_ref, language, center_id,"
        " address_key_id FROM contacts"
    )
    # Sealed at rest: the table holds no address in clear, only the key's id beside it.
    assert all(r["address_key_id"] == "k1" for r in rows)
    assert not {r["address"] for r in rows} & {"+84907654321", "c@d.vn", "a@b.vn"}
    opened = [
        (
            *tuple(r)[:3],
            repo.open_address(KEYS, *tuple(r)[:3], r["address_key_id"], r["address"]),
            *tuple(r)[4:7],
        )
        for r in rows
    ]
    assert {(r[1], r[2]): r for r in opened} == {
        (one, "phone"): ("dossier", one, "phone", "+84907654321", "r_p2", "vi", "c-1"),
        (one, "email"): ("dossier", one, "email", "c@d.vn", "r_e1", "en", "c-1"),
        (two, "email"): ("dossier", two, "email", "a@b.vn", "r_e2", "en", "c-1"),
    }


async def test_a_claim_logs_the_sends_a_lease_outlived_in_the_same_statement(
    conn: asyncpg.Connection,
) -> None:
    event = source()
    batch = [delivery(event, f"r_{i}") for i in range(3)]
    await conn.execute(
        "INSERT INTO contacts (subject_kind, subject_id, kind, address, recipient_ref, "
        "language, center_id) VALUES ('dossier', $1, 'phone', '+84901234567', $2, 'vi', 'c-1')",
        batch[0].subject_id,
        batch[0].recipient_ref,
    )
    await conn.execute("INSERT INTO opt_outs (recipient_ref, source) VALUES ('r_2', 'link')")
    async with conn.transaction():
        await deliveries.record_deliveries(conn, [(d, event) for d in batch], KEYS)

    now = datetime.now(UTC)
    claimed = await deliveries.claim_due(conn, now, 10, LEASE, NOTE, KEYS)
    by_ref = {c.recipient_ref: c for c in claimed}
    assert sorted(by_ref) == ["r_0", "r_1", "r_2"]
    assert not any(c.interrupted for c in claimed)
    assert (by_ref["r_0"].address, by_ref["r_1"].address) == ("+84901234567", None)
    assert [by_ref[r].opted_out for r in ("r_0", "r_1", "r_2")] == [False, False, True]
    assert by_ref["r_0"].correlation_id == event.correlation_id
    assert by_ref["r_0"].context == batch[0].context
    assert by_ref["r_0"].fallback == batch[0].fallback
    assert await deliveries.claim_due(conn, now, 10, LEASE, NOTE, KEYS) == []  # leased
    assert await conn.fetchval("SELECT count(*) FROM delivery_attempts") == 0

    # The sender vanished: once the lease runs out the messages are claimed again,
    # each lost attempt counted and logged.
    later = now + timedelta(seconds=LEASE + 1)
    again = await deliveries.claim_due(conn, later, 10, LEASE, NOTE, KEYS)
    assert sorted((c.recipient_ref, c.interrupted, c.attempts) for c in again) == [
        ("r_0", True, 1),
        ("r_1", True, 1),
        ("r_2", True, 1),
    ]
    logged = await conn.fetch(
        "SELECT attempt, channel, outcome, error, started_at FROM delivery_attempts"
    )
    assert sorted(tuple(r) for r in logged) == [(1, "sms", "interrupted", NOTE, later)] * 3


async def test_finishing_a_round_updates_every_delivery_and_logs_every_attempt(
    conn: asyncpg.Connection,
) -> None:
    event = source()
    batch = [delivery(event, f"r_{i}") for i in range(3)]
    async with conn.transaction():
        await deliveries.record_deliveries(conn, [(d, event) for d in batch], KEYS)
    now = datetime.now(UTC)
    await deliveries.claim_due(conn, now, 10, LEASE, NOTE, KEYS)
    retry_at = now + timedelta(seconds=30)
    sent, retried, held = (d.id for d in batch)
    async with conn.transaction():
        await deliveries.finish(
            conn,
            [
                Outcome(sent, "sent", 1),
                Outcome(retried, "pending", 1, retry_at, "500"),
                Outcome(held, "pending", 0, retry_at),
            ],
            [
                Attempt(sent, 1, "sms", "sent", now, now, None, 1),
                Attempt(retried, 1, "sms", "failed", now, now, "500", 1),
                Attempt(held, 0, "sms", "deferred", now, now, "quiet hours"),
            ],
        )
        await deliveries.finish(conn, [], [])  # an empty round writes nothing
    rows = {
        r["id"]: r
        for r in await conn.fetch(
            "SELECT id, status, attempts, due_at, last_error, lease_until, finished_at "
            "FROM deliveries"
        )
    }
    assert (rows[sent]["status"], rows[sent]["attempts"]) == ("sent", 1)
    assert rows[sent]["finished_at"] is not None
    assert (rows[retried]["status"], rows[retried]["due_at"]) == ("pending", retry_at)
    assert rows[retried]["last_error"] == "500"
    assert (rows[held]["attempts"], rows[held]["last_error"]) == (0, None)
    assert all(r["lease_until"] is None for r in rows.values())
    logged = await conn.fetch(
        "SELECT delivery_id, outcome, error, segments FROM delivery_attempts ORDER BY id"
    )
    assert [tuple(r) for r in logged] == [
        (sent, "sent", None, 1),
        (retried, "failed", "500", 1),
        (held, "deferred", "quiet hours", None),
    ]


async def _now(values: list[str]) -> list[str]:
    return values


async def test_dead_letters_a_stopped_worker_left_queued_are_published(
    test_servers: Servers,
) -> None:
    """Letters are published right after the round that queued them; one left behind
    (by a replica stopped before it published) is found all the same."""
    async with running_notify(test_servers) as notify:
        dlq = DOSSIERS.dlq(notify.prefix)
        left = uuid.uuid4().hex
        await notify.db.execute(
            "INSERT INTO notify.dead_letters (topic, key, payload, headers) "
            "VALUES ($1, 'k', $2, $3::jsonb)",
            dlq,
            f'{{"left": "{left}"}}'.encode(),
            json.dumps({"x-consumer": "notify"}),
        )

        async def published() -> list[Any]:
            found = await read_all(notify.bootstrap, dlq)
            return [m for m in found if left.encode() in m.value]

        [letter] = await eventually(published, what="the dead letter left behind")
        assert letter.headers["x-consumer"] == "notify"

        async def queued() -> int:
            n: int = await notify.db.fetchval("SELECT count(*) FROM notify.dead_letters")
            return n

        await eventually(queued, until=lambda n: n == 0, what="the letter forgotten")
