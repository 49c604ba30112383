"""Bus subscribers of the deadlines service: parse, apply the use case, write through the outbox.

Every ``dossier.*`` event goes to one use case that records its fact and recomputes the
clock; the consumer runs it inside the batch transaction with the inbox claim, so the
clock, the flags and their outbox rows commit with the offsets' fate.
"""

from __future__ import annotations

import asyncpg

from motcua.services.deadlines import usecases
from motcua.services.deadlines.usecases import Deadlines
from motcua.shared.centers import follow
from motcua.shared.events import Envelope
from motcua.shared.events.catalog import CenterConfigured, DossierFacts
from motcua.shared.events.topics import DOSSIERS, REGISTRY
from motcua.shared.runtime import ServiceRuntime


def register(runtime: ServiceRuntime, deadlines: Deadlines) -> None:
    """Attach this service's event handlers to the runtime's consumer."""

    async def on_dossier_event(conn: asyncpg.Connection, event: Envelope[DossierFacts]) -> None:
        await usecases.apply_dossier_event(
            conn, event, calendars=deadlines.calendars, policy=deadlines.policy
        )

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
    runtime.consume(
        DOSSIERS,
        REGISTRY,
        description="Keeps each dossier's legal clock from its lifecycle events, on its "
        "center's calendar as the registry configures it",
    )
