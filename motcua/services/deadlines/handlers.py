"""Bus subscribers of the deadlines service: parse, apply the use case, write through the outbox.

Every ``dossier.*`` event goes to one use case that records its fact and recomputes the
clock; the consumer runs it inside the batch transaction with the inbox claim, so the
clock, the flags and their outbox rows commit with the offsets' fate. A citizen's
``feedback.received`` (notify's, on its topic) is kept for the satisfaction reports, and
``dossier.document_attached`` for the 766 scorecard's digitisation indicators.
Every event that is part of a case also becomes an entry of its dossier's timeline:
the dossier's and the rating's in the same call, the queue's, the clocks' and the
notifications' by runs of a fetched batch. The queue's ticket events also give each
ticket's wait at the counters (``waits``), for the province's comparison.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from motcua.services.deadlines import usecases
from motcua.services.deadlines.usecases import Deadlines
from motcua.shared.centers import follow
from motcua.shared.events import Envelope, Payload
from motcua.shared.events.catalog import (
    DEADLINE_EVENTS,
    QUEUE_EVENTS,
    CenterConfigured,
    DossierDocumentAttached,
    DossierFacts,
    FeedbackReceived,
    NotificationFailed,
    NotificationSent,
)
from motcua.shared.events.topics import DEADLINES, DOSSIERS, NOTIFICATIONS, QUEUE, REGISTRY
from motcua.shared.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, deadlines: Deadlines) -> None:
    """Attach this service's event handlers to the runtime's consumer."""

    async def on_dossier_event(conn: asyncpg.Connection, event: Envelope[DossierFacts]) -> None:
        await usecases.apply_dossier_event(
            conn, event, calendars=deadlines.calendars, policy=deadlines.policy
        )
        await usecases.record_timeline(conn, [event])

    async def on_feedback(conn: asyncpg.Connection, event: Envelope[FeedbackReceived]) -> None:
        await usecases.record_rating(conn, event, calendars=deadlines.calendars)
        await usecases.record_timeline(conn, [event])

    async def on_document(
        conn: asyncpg.Connection, event: Envelope[DossierDocumentAttached]
    ) -> None:
        await usecases.record_document(conn, event)

    async def on_case_events(conn: asyncpg.Connection, events: Sequence[Envelope[Payload]]) -> None:
        await usecases.record_timeline(conn, events)
        await usecases.record_waits(conn, events)

    for payload in usecases.DOSSIER_EVENTS:
        runtime.consumer.on(payload, on_dossier_event)

    async def on_center_configured(conn: asyncpg.Connection, config: CenterConfigured) -> None:
        # A newer revision from the registry: its name and calendar become the center's,
        # and its open clocks are recomputed on that calendar, in the same transaction.
        await usecases.configure_center(
            conn,
            config,
            calendars=deadlines.calendars,
            policy=deadlines.policy,
            now=deadlines.clock(),
        )

    follow(runtime, deadlines.centers, on_change=on_center_configured)
    runtime.consumer.on(FeedbackReceived, on_feedback)
    runtime.consumer.on(DossierDocumentAttached, on_document)
    others: tuple[type[Payload], ...] = (
        *QUEUE_EVENTS,
        *DEADLINE_EVENTS,
        NotificationSent,
        NotificationFailed,
    )
    for other in others:
        runtime.consumer.on_batch(other, on_case_events)
    runtime.consume(
        DOSSIERS,
        NOTIFICATIONS,
        QUEUE,
        DEADLINES,
        REGISTRY,
        description="Keeps each dossier's legal clock from its lifecycle events on its "
        "center's calendar as the registry configures it, the citizens' ratings for the "
        "satisfaction reports, and each dossier's timeline",
    )
