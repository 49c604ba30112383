"""Personal data notify keeps, and how long.

Contact addresses (``contacts``) and message bodies (``deliveries.body``, which may
show a lookup secret) are sealed at rest with the contact keyring (see
``repository`` and ``delivery_repository``). They are kept while they may still be
needed, then erased by the retention sweep (Law 91/2025 on personal data: kept no
longer than needed), ``purge_after_days`` after:

* a dossier's closing (``dossier.resolved``, ``.returned``, ``.withdrawn`` or
  ``.stopped``, whichever came first), for the contacts given with it and the
  messages about it;
* a ticket's issue, for the kiosk's contact and the ticket's messages: a ticket
  lives a day.

A purge erases values, not records: a delivery keeps its kind, channel, status
and attempts (the audit trail and the statistics), with an empty body and
``purged_at`` set; a contact row goes (its recipient reference, and so any opt-out,
stays where it was used).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import asyncpg

from services.notify import repository as repo
from shared.bus.retention import repeat_batches
from shared.events import Envelope
from shared.runtime import ServiceRuntime

# The subjects whose time is up: dossiers closed, and tickets issued, before the horizon.
_EXPIRED = """
    (subject_kind = 'dossier' AND subject_id IN (
         SELECT dossier_id FROM dossiers WHERE closed_at < now() - $1::interval))
    OR (subject_kind = 'ticket' AND created_at < now() - $1::interval)
"""

_ERASE_CONTACTS = f"""
    DELETE FROM contacts WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM contacts WHERE {_EXPIRED} LIMIT $2))
"""

# Not while a delivery is pending or being sent: the worker still needs its body.
_ERASE_BODIES = f"""
    UPDATE deliveries SET body = '', body_key_id = NULL, purged_at = now()
    WHERE id = ANY (ARRAY(
        SELECT id FROM deliveries
        WHERE purged_at IS NULL AND status NOT IN ('pending', 'sending') AND ({_EXPIRED})
        LIMIT $2))
"""


async def erase_contacts(conn: asyncpg.Connection, horizon: timedelta, batch: int) -> int:
    return await repeat_batches(conn, _ERASE_CONTACTS, horizon, batch)


async def erase_bodies(conn: asyncpg.Connection, horizon: timedelta, batch: int) -> int:
    return await repeat_batches(conn, _ERASE_BODIES, horizon, batch)


def register(runtime: ServiceRuntime) -> None:
    runtime.retention.add_purge("contacts", erase_contacts)
    runtime.retention.add_purge("message_bodies", erase_bodies)


async def dossiers_closed(conn: asyncpg.Connection, events: Sequence[Envelope[Any]]) -> None:
    """Start the purge clock of the dossiers these events close (the first closing
    stands)."""
    await repo.close_dossiers(conn, [(e.data.dossier_id, e.occurred_at) for e in events])
