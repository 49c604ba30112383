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
  lives a day;
* an appointment's booking plus 90 days (the farthest a booking may open ahead),
  for the contact given when booking.

At start-up, what is not sealed under the current key (stored in clear before
sealing existed, or sealed under a key since retired to the old keys) is sealed
again under it, a batch per statement: after a rotation, the old key can go once
every replica has started (see docs/security/keys-and-data.md).

A purge erases values, not records: a delivery keeps its kind, channel, status
and attempts (the audit trail and the statistics), with an empty body and
``purged_at`` set; a contact row goes (its recipient reference, and so any opt-out,
stays where it was used).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import asyncpg

from motcua.services.notify.repository import citizens as repo
from motcua.services.notify.repository.deliveries import open_body, seal_body
from motcua.shared.bus.retention import repeat_batches
from motcua.shared.crypto import Keyring, SealError
from motcua.shared.events import Envelope
from motcua.shared.logging import get_logger
from motcua.shared.runtime import ServiceRuntime

log = get_logger(__name__)

# The subjects whose time is up: dossiers closed, and tickets issued, before the horizon.
_EXPIRED = """
    (subject_kind = 'dossier' AND subject_id IN (
         SELECT dossier_id FROM dossiers WHERE closed_at < now() - $1::interval))
    OR (subject_kind = 'ticket' AND created_at < now() - $1::interval)
    OR (subject_kind = 'appointment' AND created_at < now() - $1::interval - interval '90 days')
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


def register(runtime: ServiceRuntime, keys: Keyring) -> None:
    runtime.retention.add_purge("contacts", erase_contacts)
    runtime.retention.add_purge("message_bodies", erase_bodies)

    async def reseal_at_start(rt: ServiceRuntime) -> None:
        async with rt.pool.acquire() as conn:
            contacts, bodies = await reseal(conn, keys)
        if contacts or bodies:
            log.info("notify.resealed", contacts=contacts, bodies=bodies, key_id=keys.current_id)

    runtime.on_startup.append(reseal_at_start)


async def reseal(conn: asyncpg.Connection, keys: Keyring, batch: int = 500) -> tuple[int, int]:
    """Seal under the current key every address and body that is not; how many of each.

    Walks each table in key order, so a value that no key of the ring opens (its key
    retired too early) is logged and passed, not tried for ever. A compare-and-set per
    row leaves one that another replica resealed first."""
    return await _reseal_contacts(conn, keys, batch), await _reseal_bodies(conn, keys, batch)


async def _reseal_contacts(conn: asyncpg.Connection, keys: Keyring, batch: int) -> int:
    done, after = 0, (uuid.UUID(int=0), "", "")
    while True:
        rows = await conn.fetch(
            """
            SELECT subject_id, subject_kind, kind, address, address_key_id FROM contacts
            WHERE address_key_id IS DISTINCT FROM $1
              AND (subject_id, subject_kind, kind) > ($2, $3, $4)
            ORDER BY subject_id, subject_kind, kind LIMIT $5
            """,
            keys.current_id,
            *after,
            batch,
        )
        updates = []
        for r in rows:
            subject = (r["subject_kind"], r["subject_id"], r["kind"])
            try:
                address = repo.open_address(keys, *subject, r["address_key_id"], r["address"])
            except SealError as exc:
                log.warning("notify.reseal_failed", table="contacts", reason=str(exc))
                continue
            key_id, sealed = repo.seal_address(keys, *subject, address)
            updates.append((*subject, sealed, key_id, r["address"]))
        await conn.executemany(
            """
            UPDATE contacts SET address = $4, address_key_id = $5
            WHERE subject_kind = $1 AND subject_id = $2 AND kind = $3 AND address = $6
            """,
            updates,
        )
        done += len(updates)
        if len(rows) < batch:
            return done
        after = (rows[-1]["subject_id"], rows[-1]["subject_kind"], rows[-1]["kind"])


async def _reseal_bodies(conn: asyncpg.Connection, keys: Keyring, batch: int) -> int:
    done, after = 0, uuid.UUID(int=0)
    while True:
        rows = await conn.fetch(
            """
            SELECT id, body, body_key_id FROM deliveries
            WHERE body_key_id IS DISTINCT FROM $1 AND purged_at IS NULL AND id > $2
            ORDER BY id LIMIT $3
            """,
            keys.current_id,
            after,
            batch,
        )
        updates = []
        for r in rows:
            try:
                body = open_body(keys, r["id"], r["body_key_id"], r["body"])
            except SealError as exc:
                log.warning("notify.reseal_failed", table="deliveries", reason=str(exc))
                continue
            key_id, sealed = seal_body(keys, r["id"], body)
            updates.append((r["id"], sealed, key_id, r["body"]))
        await conn.executemany(
            "UPDATE deliveries SET body = $2, body_key_id = $3 WHERE id = $1 AND body = $4",
            updates,
        )
        done += len(updates)
        if len(rows) < batch:
            return done
        after = rows[-1]["id"]


async def dossiers_closed(conn: asyncpg.Connection, events: Sequence[Envelope[Any]]) -> None:
    """Start the purge clock of the dossiers these events close (the first closing
    stands)."""
    await repo.close_dossiers(conn, [(e.data.dossier_id, e.occurred_at) for e in events])
