"""Run the notify service against the real broker and database, with real sinks,
and build the events its producers would publish."""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from fastapi import FastAPI

from motcua.services.notify.app import create_app
from motcua.services.notify.settings import NotifySettings
from motcua.shared.crypto import seal
from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import (
    DeadlineOverdue,
    DossierReceived,
    DossierResolved,
    DossierReturned,
    DossierSupplementRequested,
    SealedContact,
    TicketCalled,
    TicketIssued,
    TimeLimitSnapshot,
)
from motcua.shared.events.topics import key_of, stream_of
from motcua.shared.settings import DatabaseSettings, KafkaSettings
from tests.conftest import fresh_database, fresh_kafka
from tests.support.backends import Servers
from tests.support.kafka import produce
from tests.support.serving import serve

CONTACT_KEY = "test-contact-key"


def random_phone() -> str:
    """A valid Vietnamese mobile number, national format (090xxxxxxx)."""
    return "090" + "".join(random.choices("0123456789", k=7))


def e164(phone: str) -> str:
    return "+84" + phone[1:]


def random_secret() -> str:
    """A lookup secret shaped like intake's (``K7Q2M-9XD4T``)."""
    alphabet = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
    return "".join(random.choices(alphabet, k=5)) + "-" + "".join(random.choices(alphabet, k=5))


def sealed(kind: str, address: str, context: uuid.UUID, language: str = "vi") -> SealedContact:
    return SealedContact(
        kind=kind,  # type: ignore[arg-type]
        sealed=seal(CONTACT_KEY, address, str(context)),
        language=language,  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------- events


def ticket_issued(
    center: str,
    line: str,
    number: str,
    *,
    phone: str | None = None,
    language: str = "vi",
    priority: str | None = None,
    at: datetime | None = None,
) -> Envelope[Any]:
    ticket_id = uuid.uuid4()
    contact = sealed("phone", phone, ticket_id, language) if phone else None
    return new_event(
        TicketIssued(
            ticket_id=ticket_id,
            number=number,
            line_code=line,
            lookup_code=number.lower(),
            priority=priority is not None,
            issued_at=at or datetime.now(UTC),
            contact=contact,
        ),
        center_id=center,
        producer="queue",
    )


def ticket_called(issued: Envelope[Any], counter: str = "3") -> Envelope[Any]:
    d = issued.data
    return new_event(
        TicketCalled(
            ticket_id=d.ticket_id,
            number=d.number,
            line_code=d.line_code,
            lookup_code=d.lookup_code,
            counter_id=counter,
        ),
        center_id=issued.center_id,
        producer="queue",
    )


@dataclass(frozen=True)
class Dossier:
    center: str
    dossier_id: uuid.UUID
    code: str


def dossier_received(
    center: str,
    *,
    phone: str | None = None,
    email: str | None = None,
    language: str = "vi",
    dossier_id: uuid.UUID | None = None,
    secret: str | None = None,
) -> tuple[Dossier, Envelope[Any]]:
    """``secret``: the lookup secret, sealed for notify as intake seals it."""
    dossier = Dossier(center, dossier_id or uuid.uuid4(), f"HS-{random.randint(0, 10**8):08d}")
    contact = None
    if phone:
        contact = sealed("phone", phone, dossier.dossier_id, language)
    elif email:
        contact = sealed("email", email, dossier.dossier_id, language)
    now = datetime.now(UTC)
    event = new_event(
        DossierReceived(
            dossier_id=dossier.dossier_id,
            dossier_code=dossier.code,
            procedure_code="BIRTH",
            status=2,
            received_at=now,
            channel="counter",
            time_limit=TimeLimitSnapshot(amount=1, unit="working_days"),
            appointment_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
            contact=contact,
            sealed_secret=seal(CONTACT_KEY, secret, str(dossier.dossier_id)) if secret else None,
        ),
        center_id=center,
        producer="intake",
    )
    return dossier, event


def supplement_requested(d: Dossier) -> Envelope[Any]:
    return new_event(
        DossierSupplementRequested(
            dossier_id=d.dossier_id,
            dossier_code=d.code,
            procedure_code="BIRTH",
            status=5,
            reason="Bản sao chưa chứng thực",
            missing_documents=["Giấy chứng sinh", "CCCD của mẹ"],
        ),
        center_id=d.center,
        producer="intake",
    )


def resolved(d: Dossier) -> Envelope[Any]:
    return new_event(
        DossierResolved(
            dossier_id=d.dossier_id,
            dossier_code=d.code,
            procedure_code="BIRTH",
            status=9,
            outcome="approved",
        ),
        center_id=d.center,
        producer="intake",
    )


def returned(d: Dossier) -> Envelope[Any]:
    return new_event(
        DossierReturned(
            dossier_id=d.dossier_id, dossier_code=d.code, procedure_code="BIRTH", status=10
        ),
        center_id=d.center,
        producer="intake",
    )


def overdue(d: Dossier) -> Envelope[Any]:
    due = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    return new_event(
        DeadlineOverdue(
            dossier_id=d.dossier_id,
            dossier_code=d.code,
            procedure_code="BIRTH",
            due_at=due,
            new_appointment_at=due + timedelta(days=5),
            apology_letter_id=uuid.uuid4(),
        ),
        center_id=d.center,
        producer="deadlines",
    )


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

    async def deliveries(self, source_event_id: uuid.UUID) -> list[asyncpg.Record]:
        return list(
            await self.db.fetch(
                """SELECT * FROM notify.deliveries WHERE source_event_id = $1
                   ORDER BY created_at""",
                source_event_id,
            )
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


# The notify tests and benchmark use these names; notify's consumers keep the default
# session timeouts.
database = fresh_database


async def kafka_for_module(servers: Servers) -> KafkaSettings:
    return await fresh_kafka(servers, quick_join=False)


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
