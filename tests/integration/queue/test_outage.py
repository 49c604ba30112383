"""A database outage: 503 while it lasts, and afterwards no ticket lost or duplicated.

The app reaches PostgreSQL through a TCP proxy that the test cuts (dropping every
connection, refusing new ones) and restores, while a kiosk keeps issuing tickets
and retries each refused one with the same idempotency key.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from motcua.devtools.bus import read_all
from motcua.devtools.tcpproxy import TcpProxy, proxied
from motcua.services.queue.app import create_app
from motcua.shared.auth import issue_token
from motcua.shared.events.registry import parse_event
from motcua.shared.events.topics import QUEUE
from motcua.shared.settings import KafkaSettings
from tests.integration.queue.conftest import queue_settings, write_centers
from tests.support.serving import serve
from tests.support.waiting import eventually

CENTER = "t000"
TICKETS = 40


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    async with proxied(database_url) as pair:
        yield pair


async def test_outage_answers_503_and_loses_or_duplicates_no_ticket(
    proxy: tuple[TcpProxy, str],
    database_url: str,
    kafka_settings: KafkaSettings,
    db: asyncpg.Connection,
    tmp_path: Path,
) -> None:
    tcp, proxied_url = proxy
    centers = tmp_path / "centers.json"
    write_centers(centers, 1)
    settings = queue_settings(proxied_url, kafka_settings, centers)
    token = issue_token(settings.auth_secret.get_secret_value(), center_id=CENTER, subject="c")
    headers = {"Authorization": f"Bearer {token}"}
    issued: dict[str, str] = {}
    refused: Counter[int] = Counter()

    async with (
        serve(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        opened = await client.post(f"/centers/{CENTER}/counters/Q1/open", headers=headers)
        assert opened.status_code == 200

        async def kiosk() -> None:
            for i in range(TICKETS):
                key = f"kiosk-1:{i:04d}"
                while True:
                    r = await client.post(
                        f"/centers/{CENTER}/tickets",
                        json={"line_code": "justice"},
                        headers={"Idempotency-Key": key},
                    )
                    if r.status_code in (200, 201):
                        issued[key] = r.json()["ticket_id"]
                        break
                    assert r.status_code == 503, r.text  # nothing but "retry later"
                    assert r.headers["retry-after"]
                    refused[r.status_code] += 1
                    await asyncio.sleep(0.05)

        task = asyncio.create_task(kiosk())
        await eventually(lambda: _value(len(issued)), until=lambda n: n >= 10, what="10 tickets")
        await tcp.cut()
        await eventually(lambda: _value(refused[503]), until=lambda n: n >= 3, what="503s")
        during = await client.post(f"/centers/{CENTER}/counters/Q1/call-next", headers=headers)
        assert during.status_code == 503
        await tcp.restore()
        await asyncio.wait_for(task, 60)  # a guard against a hang, not a timing assertion

        called = await eventually(
            lambda: client.post(f"/centers/{CENTER}/counters/Q1/call-next", headers=headers),
            until=lambda r: r.status_code == 200,
            what="calling after recovery",
        )
        assert called.json()["number"] == "A001"

        rows = await db.fetch(
            "SELECT number, idempotency_key FROM queue.tickets WHERE center_id = $1", CENTER
        )
        assert sorted(r["number"] for r in rows) == [f"A{i:03d}" for i in range(1, TICKETS + 1)]
        assert sorted(r["idempotency_key"] for r in rows) == sorted(issued)
        assert len(set(issued.values())) == TICKETS

        topic = QUEUE.topic(kafka_settings.topic_prefix)

        async def issued_events() -> dict[str, str]:
            messages = await read_all(kafka_settings.bootstrap_servers, topic)
            events = [parse_event(m.value) for m in messages]
            return {
                str(e.event_id): str(e.data.ticket_id)
                for e in events
                if e.event_type == "ticket.issued"
            }

        # The relay delivers at least once: a batch published just before the cut may be
        # published again, as copies with the same event id that consumers' inboxes drop.
        # Distinct events are what must match the tickets, one each.
        on_bus = await eventually(
            issued_events, until=lambda ids: len(ids) >= TICKETS, what="every ticket.issued"
        )
        assert sorted(on_bus.values()) == sorted(issued.values())


async def _value(n: int) -> int:
    return n
