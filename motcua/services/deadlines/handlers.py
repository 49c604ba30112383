"""Bus subscribers of the deadlines service: parse, apply the use case, write through the outbox.

Every ``dossier.*`` event goes to one use case that records its fact and recomputes the
clock; the consumer runs it inside the batch transaction with the inbox claim, so the
clock, the flags and their outbox rows commit with the offsets' fate.
"""

from __future__ import annotations

import asyncpg

from motcua.services.deadlines import usecases
from motcua.services.deadlines.usecases import Deadlines
from motcua.shared.events import Envelope
from motcua.shared.events.catalog import DossierFacts
from motcua.shared.events.topics import DOSSIERS
from motcua.shared.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, deadlines: Deadlines) -> None:
    """Attach this service's event handlers to the runtime's consumer."""

    async def on_dossier_event(conn: asyncpg.Connection, event: Envelope[DossierFacts]) -> None:
        await usecases.apply_dossier_event(
            conn, event, calendars=deadlines.calendars, policy=deadlines.policy
        )

    for payload in usecases.DOSSIER_EVENTS:
        runtime.consumer.on(payload, on_dossier_event)
    runtime.consume(
        DOSSIERS, description="Keeps each dossier's legal clock from its lifecycle events"
    )
