"""The appointment follows the legal clock.

deadlines is the authority on a dossier's legal clock: it pauses it while the citizen
owes documents or a fee, and moves its due date on an extension. The date the citizen
holds, on the receipt and the lookup page, is intake's. So intake follows the clock's
``deadline.set`` and ``deadline.updated`` events (from the deadline stream, which
deadlines alone may write) and moves the dossier's appointment with them.

Idempotent (the consumer's inbox, and the history row keyed by the clock event's id)
and safe out of order: a clock event older than the one the date was last set from
changes nothing, so a late delivery never moves the date back.
"""

from __future__ import annotations

import asyncpg

from motcua.services.intake.domain import APPOINTMENT_CHANGED
from motcua.services.intake.repository import dossiers
from motcua.services.intake.repository.dossiers import HistoryEntry
from motcua.shared.events.catalog import DeadlineFacts, DeadlineUpdated
from motcua.shared.events.envelope import Envelope
from motcua.shared.logging import get_logger

log = get_logger(__name__)


async def follow_clock(conn: asyncpg.Connection, event: Envelope[DeadlineFacts]) -> None:
    """Move the dossier's appointment to the clock's due date, and record the change in
    its history (what the lookup shows the citizen as a new date)."""
    data = event.data
    record = await dossiers.lock_dossier(conn, data.dossier_id)
    if record is None or record.center_id != event.center_id:
        # A clock for a dossier intake does not hold: nothing to follow.
        log.warning("clock.unknown_dossier", dossier_id=str(data.dossier_id))
        return
    version = await dossiers.follow_appointment(conn, record.id, data.due_at, event.occurred_at)
    if version is None:
        return
    reason = data.reason if isinstance(data, DeadlineUpdated) else "set"
    await dossiers.add_history(
        conn,
        HistoryEntry(
            dossier_id=record.id,
            seq=version,
            event_id=event.event_id,
            event_type=APPOINTMENT_CHANGED,
            from_status=record.status,
            status=record.status,
            occurred_at=event.occurred_at,
            actor=event.producer,
            via="bus",
            details={
                "appointment_at": data.due_at.isoformat(),
                "previous_appointment_at": record.appointment_at.isoformat(),
                "reason": reason,
            },
        ),
    )
    log.info("dossier.appointment_followed", dossier_id=str(record.id), reason=reason)
