"""A daily cap on the messages one recipient gets, counted in PostgreSQL for every replica."""

from __future__ import annotations

import asyncio
from datetime import date

import asyncpg

from motcua.devtools.sinks import HttpSink
from motcua.services.notify import daily_cap
from tests.integration.notify.harness import (
    Notify,
    e164,
    random_phone,
    sms_notify,
    ticket_called,
    ticket_issued,
)
from tests.support.waiting import eventually

CAP = 3


notify = sms_notify(daily_cap_per_recipient=CAP, turn_soon_ahead=0, turn_soon_minutes=0)


async def test_one_phone_gets_at_most_the_cap_and_the_rest_are_suppressed_with_the_reason(
    notify: Notify, http_sink: HttpSink
) -> None:
    phone, other = random_phone(), random_phone()
    issued = [ticket_issued("c-bomb", "A", f"A{i:03d}", phone=phone) for i in range(6)]
    calm = ticket_issued("c-bomb", "A", "A100", phone=other)
    await notify.publish(*issued, calm)
    calls = [ticket_called(t) for t in [*issued, calm]]
    await notify.publish(*calls)

    async def recorded() -> list[asyncpg.Record]:
        return [r for c in calls for r in await notify.deliveries(c.event_id)]

    # Every call is recorded (each also tells the next ticket its turn is near).
    rows = await eventually(
        recorded,
        until=lambda rows: {r["source_event_id"] for r in rows} >= {c.event_id for c in calls},
        what="every call's deliveries",
    )
    bombed_ref = next(
        r["recipient_ref"] for r in rows if r["subject_id"] == issued[0].data.ticket_id
    )
    mine = [r for r in rows if r["recipient_ref"] == bombed_ref]
    assert len(mine) > CAP
    suppressed = [r for r in mine if r["status"] == "suppressed"]
    assert len(suppressed) == len(mine) - CAP
    assert {r["last_error"] for r in suppressed} == {daily_cap.REASON}

    async def sent() -> int:
        return len(http_sink.to(e164(phone)))

    assert await eventually(sent, until=lambda n: n >= CAP, what="the capped messages") == CAP
    # Another recipient is not held up by the bombed one.
    await eventually(lambda: _len(http_sink, other), until=lambda n: n >= 1, what="other")
    assert len(http_sink.to(e164(phone))) == CAP


async def _len(sink: HttpSink, phone: str) -> int:
    return len(sink.to(e164(phone)))


async def test_replicas_recording_at_once_share_one_count(notify: Notify) -> None:
    """Two connections (two replicas) claim for one recipient at the same time: together
    they never get more than the cap."""
    url = notify.settings.db.url
    day, ref = date(2026, 12, 6), f"r-{random_phone()}"

    async def replica() -> int:
        conn = await asyncpg.connect(url, server_settings={"search_path": "notify"})
        try:
            async with conn.transaction():
                allowed = await daily_cap.claim(conn, day, [ref, ref], CAP)
                return allowed[ref]
        finally:
            await conn.close()

    got = await asyncio.gather(*(replica() for _ in range(4)))
    assert sum(got) == CAP
