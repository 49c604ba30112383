"""Messages about a dossier consumed before its ``dossier.received``, on the real broker
and database: held until the receipt brings the contact, then sent once each.

Deadline events travel on another topic than the receipt, so nothing orders the two;
the other dossier events share its partition but are held the same way. Messages go
to the dev inbox (no channel is configured), each test to a center of its own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from motcua.devtools.backends import Servers
from motcua.services.notify import triggers
from motcua.services.notify.usecases import Notifier
from motcua.shared.events import Envelope
from tests.integration.notify.harness import (
    Notify,
    dossier_received,
    overdue,
    random_phone,
    resolved,
    returned,
    running_notify,
    supplement_requested,
)
from tests.support.waiting import eventually

LATER = ("supplement_requested", "result_ready", "dossier_returned", "deadline_apology")


@pytest.fixture(scope="module")
async def notify(test_servers: Servers) -> AsyncIterator[Notify]:
    async with running_notify(test_servers, dev_inbox=True) as n:
        yield n


def center() -> str:
    return f"o-{uuid.uuid4().hex[:8]}"


async def inbox(n: Notify, center_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=n.url) as client:
        found = (await client.get("/dev/inbox.json", params={"limit": 1000})).json()
    return [m for m in found if m["center_id"] == center_id]


async def sent(n: Notify, center_id: str, count: int) -> list[str]:
    """Wait until the center's inbox has ``count`` messages sent; fail if it has more."""
    got = await eventually(
        lambda: inbox(n, center_id),
        until=lambda m: sum(x["status"] == "sent" for x in m) >= count,
        what=f"{count} messages sent",
    )
    kinds = sorted(m["kind"] for m in got if m["status"] == "sent")
    assert len(kinds) == count, kinds
    return kinds


async def held(n: Notify, dossier_id: uuid.UUID) -> list[str]:
    rows = await n.db.fetch(
        "SELECT kind FROM notify.held_messages WHERE dossier_id = $1 ORDER BY kind", dossier_id
    )
    return [r["kind"] for r in rows]


async def consumed(n: Notify, *events: Envelope[Any]) -> None:
    for e in events:
        await eventually(lambda e=e: n.consumed(e.event_id), what=f"{e.event_type} consumed")


def later_events(dossier: Any) -> list[Envelope[Any]]:
    """Every message after the receipt, newest first: the receipt's order reversed."""
    return [overdue(dossier), returned(dossier), resolved(dossier), supplement_requested(dossier)]


# -------------------------------------------------------------- out of order


async def test_every_message_consumed_before_the_receipt_is_sent_once_it_comes(
    notify: Notify,
) -> None:
    c = center()
    dossier, receipt = dossier_received(c, phone=random_phone())
    early = later_events(dossier)
    await notify.publish(*early)
    await notify.publish(early[0], early[-1])  # the broker delivers again
    await consumed(notify, *early)
    assert await held(notify, dossier.dossier_id) == sorted(LATER)
    assert await inbox(notify, c) == []

    await notify.publish(receipt)
    assert await sent(notify, c, 5) == sorted([*LATER, "dossier_received"])
    assert await held(notify, dossier.dossier_id) == []
    per_kind = await notify.db.fetch(
        "SELECT kind, count(*) AS n FROM notify.deliveries WHERE subject_id = $1 GROUP BY kind",
        dossier.dossier_id,
    )
    assert {r["kind"]: r["n"] for r in per_kind} == dict.fromkeys([*LATER, "dossier_received"], 1)


@pytest.mark.parametrize("make", [overdue, supplement_requested, resolved, returned])
async def test_each_trigger_alone_before_its_receipt_sends_one_message(
    notify: Notify, make: Any
) -> None:
    c = center()
    dossier, receipt = dossier_received(c, email=f"cd.{uuid.uuid4().hex[:6]}@example.vn")
    early = make(dossier)
    await notify.publish(early)
    await consumed(notify, early)
    await notify.publish(receipt, early)  # a copy of the early one after the receipt, too
    assert len(await sent(notify, c, 2)) == 2
    assert len(await notify.deliveries(early.event_id)) == 1


async def test_the_receipt_first_still_sends_at_once_and_holds_nothing(notify: Notify) -> None:
    c = center()
    dossier, receipt = dossier_received(c, phone=random_phone())
    await notify.publish(receipt)
    await consumed(notify, receipt)
    flag = overdue(dossier)
    await notify.publish(flag)
    assert await sent(notify, c, 2) == ["deadline_apology", "dossier_received"]
    assert await held(notify, dossier.dossier_id) == []


# ------------------------------------------------------- consent and opt-out


async def test_no_consent_means_no_message_and_nothing_left_held(notify: Notify) -> None:
    c = center()
    dossier, receipt = dossier_received(c)  # no contact given
    early = later_events(dossier)
    await notify.publish(*early, receipt)
    await consumed(notify, *early, receipt)
    assert await held(notify, dossier.dossier_id) == []
    assert (
        await notify.db.fetchval(
            "SELECT count(*) FROM notify.deliveries WHERE subject_id = $1", dossier.dossier_id
        )
        == 0
    )


async def test_a_citizen_who_opted_out_gets_none_of_the_released_messages(
    notify: Notify,
) -> None:
    phone = random_phone()
    secret = notify.settings.inbound_secret.get_secret_value()
    async with httpx.AsyncClient(base_url=notify.url) as client:
        stop = await client.post(
            "/inbound/sms",
            json={"from": phone, "text": "TU CHOI"},
            headers={"X-Inbound-Secret": secret},
        )
        assert stop.json()["opted_out"] is True
    c = center()
    dossier, receipt = dossier_received(c, phone=phone)
    early = later_events(dossier)
    await notify.publish(*early, receipt)
    await consumed(notify, *early, receipt)
    found = await eventually(
        lambda: inbox(notify, c), until=lambda m: len(m) == 5, what="5 messages on record"
    )
    assert {m["status"] for m in found} == {"suppressed"}
    assert await held(notify, dossier.dossier_id) == []


# ------------------------------------------------------------------- expiry


async def test_a_message_whose_receipt_never_comes_expires(notify: Notify) -> None:
    c = center()
    dossier, receipt = dossier_received(c, phone=random_phone())
    flag = overdue(dossier)
    await notify.publish(flag)
    await consumed(notify, flag)
    notifier: Notifier = notify.app.state.notifier
    pool = notify.app.state.runtime.pool
    hours = notify.settings.receipt_wait_hours
    async with pool.acquire() as conn:
        almost = replace(notifier, clock=lambda: datetime.now(UTC) + timedelta(hours=hours - 1))
        await almost.expire_held(conn)
        assert await held(notify, dossier.dossier_id) == ["deadline_apology"]
        after = replace(notifier, clock=lambda: datetime.now(UTC) + timedelta(hours=hours + 1))
        assert await after.expire_held(conn) >= 1
    assert await held(notify, dossier.dossier_id) == []

    await notify.publish(receipt)  # too late for the apology: the receipt alone
    assert await sent(notify, c, 1) == ["dossier_received"]


# ----------------------------------------------- a receipt recorded meanwhile


async def _apply(
    pool: asyncpg.Pool,
    notifier: Notifier,
    step: tuple[triggers.BatchTrigger, Sequence[Envelope[Any]]],
    applied: asyncio.Event,
    go: asyncio.Event,
) -> None:
    """Apply events in one transaction as the consumer does; commit once ``go`` is set."""
    trigger, events = step
    async with pool.acquire() as conn, conn.transaction():
        await trigger(notifier, conn, events)
        applied.set()
        await go.wait()


async def _waiting_for_a_lock(n: Notify) -> bool:
    return bool(
        await n.db.fetchval(
            """
            SELECT EXISTS (
                SELECT 1 FROM pg_locks
                WHERE locktype = 'advisory' AND NOT granted
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            )
            """
        )
    )


@pytest.mark.parametrize("first", ["flag", "receipt"])
async def test_a_flag_and_its_receipt_applied_at_once_send_both(notify: Notify, first: str) -> None:
    """Two replicas apply the flag and the receipt in overlapping transactions: whichever
    commits first, the other sees it, and the apology is neither lost nor left held."""
    notifier: Notifier = notify.app.state.notifier
    pool = notify.app.state.runtime.pool
    dossier, receipt = dossier_received(center(), phone=random_phone())
    steps: dict[str, tuple[triggers.BatchTrigger, Sequence[Envelope[Any]]]] = {
        "flag": (triggers.deadline_overdue, [overdue(dossier)]),
        "receipt": (triggers.dossiers_received, [receipt]),
    }
    second = "receipt" if first == "flag" else "flag"
    applied, go = asyncio.Event(), asyncio.Event()
    one = asyncio.create_task(_apply(pool, notifier, steps[first], applied, go))
    await eventually(lambda: _done(applied, one), what=f"the {first} applied, not committed")
    ready = asyncio.Event()
    ready.set()
    two = asyncio.create_task(_apply(pool, notifier, steps[second], asyncio.Event(), ready))
    await eventually(lambda: _waiting_for_a_lock(notify), what=f"the {second} waiting for it")
    go.set()
    await asyncio.gather(one, two)
    assert await held(notify, dossier.dossier_id) == []
    kinds = await notify.db.fetch(
        "SELECT kind FROM notify.deliveries WHERE subject_id = $1 ORDER BY kind",
        dossier.dossier_id,
    )
    assert [r["kind"] for r in kinds] == ["deadline_apology", "dossier_received"]


async def _done(applied: asyncio.Event, task: asyncio.Task[None]) -> bool:
    if task.done():
        task.result()  # raises what failed it
    return applied.is_set()
