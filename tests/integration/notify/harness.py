"""Run the notify service against the real broker and database, with real sinks.
The events to feed it come from ``motcua.devtools.samples``, re-exported here."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI

from motcua.devtools.backends import Servers, fresh_database, fresh_kafka
from motcua.devtools.bus import produce
from motcua.devtools.samples import (
    CONTACT_KEY,
    Dossier,
    deadline_updated,
    dossier_received,
    e164,
    financial_obligation,
    overdue,
    random_phone,
    random_secret,
    resolved,
    returned,
    sealed,
    supplement_requested,
    ticket_called,
    ticket_issued,
    withdrawn,
)
from motcua.devtools.sinks import HttpSink
from motcua.services.notify.app import create_app
from motcua.services.notify.repository.deliveries import NewDelivery
from motcua.services.notify.settings import NotifySettings
from motcua.shared.events import Envelope
from motcua.shared.events.topics import key_of, stream_of
from motcua.shared.settings import DatabaseSettings, KafkaSettings
from tests.support.serving import serve
from tests.support.waiting import eventually

__all__ = [
    "CONTACT_KEY",
    "Dossier",
    "Notify",
    "database",
    "deadline_updated",
    "dossier_received",
    "e164",
    "financial_obligation",
    "kafka_for_module",
    "new_delivery",
    "notify_settings",
    "overdue",
    "random_phone",
    "random_secret",
    "resolved",
    "returned",
    "running_notify",
    "sealed",
    "sms_notify",
    "supplement_requested",
    "ticket_called",
    "ticket_issued",
    "withdrawn",
]


# ------------------------------------------------------------------ harness


@dataclass
class Notify:
    """A running notify service and the means to feed and inspect it."""

    url: str
    app: FastAPI
    settings: NotifySettings
    db: asyncpg.Connection

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka.bootstrap_servers

    @property
    def prefix(self) -> str:
        return self.settings.kafka.topic_prefix

    async def publish(self, *events: Envelope[Any]) -> None:
        for e in events:
            topic = stream_of(e.event_type).topic(self.prefix)
            await produce(self.bootstrap, topic, [e.to_bytes()], key=key_of(e).encode())

    async def receive_for_new_phone(
        self, center: str, **options: Any
    ) -> tuple[str, Dossier, Envelope[Any]]:
        """Publish a dossier received at ``center`` for a phone number no other test uses;
        the phone, the dossier and its event."""
        phone = random_phone()
        dossier, received = dossier_received(center, phone=phone, **options)
        await self.publish(received)
        return phone, dossier, received

    async def deliveries(self, source_event_id: uuid.UUID) -> list[asyncpg.Record]:
        return list(
            await self.db.fetch(
                """SELECT * FROM notify.deliveries WHERE source_event_id = $1
                   ORDER BY created_at""",
                source_event_id,
            )
        )

    async def sent(self, source_event_id: uuid.UUID) -> list[asyncpg.Record]:
        """The deliveries of an event, once the first has been sent."""
        return await eventually(
            lambda: self.deliveries(source_event_id),
            until=lambda d: d[0]["status"] == "sent",
            what="the delivery sent",
        )

    async def attempts(self, delivery_id: uuid.UUID) -> list[asyncpg.Record]:
        return list(
            await self.db.fetch(
                "SELECT * FROM notify.delivery_attempts WHERE delivery_id = $1 ORDER BY id",
                delivery_id,
            )
        )

    async def consumed(self, event_id: uuid.UUID) -> bool:
        return bool(
            await self.db.fetchval(
                "SELECT EXISTS (SELECT 1 FROM notify.inbox WHERE event_id = $1)", event_id
            )
        )


# The notify tests use these names. Their consumers join with the quick session timeouts
# the other services' harnesses use: the broker holds a group's first join for about half
# the session, which each running notify would otherwise pay at start-up. (The crash test
# runs notify as a process configured by environment, so it keeps the defaults anyway.)
database = fresh_database


async def kafka_for_module(servers: Servers) -> KafkaSettings:
    return await fresh_kafka(servers)


def notify_settings(database_url: str, kafka: KafkaSettings, **overrides: Any) -> NotifySettings:
    base: dict[str, Any] = {
        "contact_key": CONTACT_KEY,
        "quiet_hours_start": "00:00",
        "quiet_hours_end": "00:00",  # none unless a test asks
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.2,
        "max_attempts": 4,
        "poll_seconds": 0.2,
        "lease_seconds": 5,
    }
    return NotifySettings(
        db=DatabaseSettings(url=database_url, pool_min=1, pool_max=10),
        kafka=kafka,
        log_format="console",
        **(base | overrides),
    )


@contextlib.asynccontextmanager
async def running_notify(servers: Servers, **overrides: Any) -> AsyncIterator[Notify]:
    async with database(servers) as url:
        kafka = await kafka_for_module(servers)
        settings = notify_settings(url, kafka, **overrides)
        app = create_app(settings)
        async with serve(app) as base_url:
            db = await asyncpg.connect(url)
            try:
                yield Notify(base_url, app, settings, db)
            finally:
                await db.close()


def sms_notify(**overrides: Any) -> Any:
    """A module fixture: a running notify (with ``overrides`` to its settings) whose SMS
    go to the module's ``http_sink``."""

    @pytest.fixture(scope="module")
    async def notify(test_servers: Servers, http_sink: HttpSink) -> AsyncIterator[Notify]:
        channels = {"sms": http_sink.url("/sms")}
        async with running_notify(test_servers, channels=channels, **overrides) as n:
            yield n

    return notify


def new_delivery(
    source_event_id: uuid.UUID, ref: str, status: str = "pending", **overrides: Any
) -> NewDelivery:
    """A message to record as the triggers record one: an SMS of a receipt, due now."""
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "source_event_id": source_event_id,
        "center_id": "c-1",
        "kind": "dossier_received",
        "channel": "sms",
        "recipient_ref": ref,
        "subject_kind": "dossier",
        "subject_id": uuid.uuid4(),
        "contact_kind": "phone",
        "language": "vi",
        "title": "Đã tiếp nhận",
        "body": "Hồ sơ HS-00000001 đã được tiếp nhận.",
        "segments": 1,
        "context": {"dossier_code": "HS-00000001", "nested": {"a": [1, 2]}},
        "status": status,
        "due_at": datetime.now(UTC) - timedelta(seconds=1),
    }
    return NewDelivery(**(fields | overrides))
