"""Bus subscribers of the deadlines service: parse, apply the use case, write through the outbox.

Every ``dossier.*`` event goes to one use case that records its fact and recomputes the
clock; the consumer runs it inside the batch transaction with the inbox claim, so the
clock, the flags and their outbox rows commit with the offsets' fate. A citizen's
``feedback.received`` (notify's, on its topic) is kept for the satisfaction reports.
"""

from __future__ import annotations

import asyncpg

from motcua.services.deadlines import usecases
from motcua.services.deadlines.usecases import Deadlines
from motcua.shared.events import Envelope
from motcua.shared.events.catalog import DossierFacts, FeedbackReceived
from motcua.shared.events.topics import DOSSIERS, NOTIFICATIONS
from motcua.shared.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, deadlines: Deadlines) -> None:
    """Attach this service's event handlers to the runtime's consumer."""

    async def on_dossier_event(conn: asyncpg.Connection, event: Envelope[DossierFacts]) -> None:
        await usecases.apply_dossier_event(
            conn, event, calendars=deadlines.calendars, policy=deadlines.policy
        )

    async def on_feedback(conn: asyncpg.Connection, event: Envelope[FeedbackReceived]) -> None:
        await usecases.record_rating(conn, event, calendars=deadlines.calendars)

    for payload in usecases.DOSSIER_EVENTS:
        runtime.consumer.on(payload, on_dossier_event)
    runtime.consumer.on(FeedbackReceived, on_feedback)
    runtime.consume(
        DOSSIERS,
        NOTIFICATIONS,
        description="Keeps each dossier's legal clock from its lifecycle events, and the "
        "citizens' ratings for the satisfaction reports",
    )
