"""Read-only SQL of the delivery log: what the staff API and the dev inbox show.

A message may show a value notify keeps nowhere else: the lookup secret of a
received dossier, which lets anyone look the dossier up. Staff read the log to
follow deliveries, not to learn that secret, so what they are shown has each such
value masked. The values are opened from the source event exactly as the message
was composed (``private_context``) and masked where they stand in the text; a
message whose values can no longer be opened (the contact key has changed since)
is withheld whole rather than shown with a secret nobody can find in it.

The dev inbox stands in for the citizen's phone: a message it "delivered" shows
in full there, as the citizen would read it. Messages that went out on a real
channel are masked there too, since the inbox is no one's phone.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from motcua.services.notify.domain import Channel, Kind
from motcua.services.notify.repository.citizens import open_address
from motcua.services.notify.repository.deliveries import open_body
from motcua.services.notify.usecases import PRIVATE_KINDS, private_context
from motcua.shared.crypto import Keyring
from motcua.shared.events.registry import MalformedEvent, UnknownEventType, parse_event

MASK = "••••"

_PRIVATE_KINDS = sorted(k.value for k in PRIVATE_KINDS)
_MASKED_FIELDS = ("title", "body", "last_error")

_PUBLIC_COLUMNS = """
    d.id, d.source_event_id, d.center_id, d.kind, d.channel, d.recipient_ref, d.language,
    d.title, d.body, d.segments, d.status, d.attempts, d.due_at, d.last_error, d.created_at,
    d.finished_at, d.body_key_id, s.payload AS source_payload
"""
# The source event is read only for messages that may show a private value.
_SOURCE_OF_PRIVATE = """
    LEFT JOIN source_events s ON s.event_id = d.source_event_id AND d.kind = ANY($1::text[])
"""


def private_values(keys: Keyring, kind: Kind, payload: bytes | None) -> list[str] | None:
    """The values a message of this kind and source event shows but notify does not keep.

    None when the message may show one that cannot be opened (any more): the caller
    must then withhold the text instead of masking it.
    """
    if kind not in PRIVATE_KINDS:
        return []
    if payload is None:
        return None
    try:
        event = parse_event(payload)
    except (MalformedEvent, UnknownEventType):
        return None
    values = [v for v in private_context(keys, kind, event).values() if v]
    if not values and getattr(event.data, "sealed_secret", None):
        return None  # sealed under a key this process does not hold
    return values


def _mask(text: str | None, values: list[str] | None) -> str | None:
    if text is None or values is None:
        return None if text is None else MASK
    for value in values:
        text = text.replace(value, MASK)
    return text


def _masked(
    row: asyncpg.Record, keys: Keyring, rest: Keyring, *, in_full: bool = False
) -> dict[str, Any]:
    found = dict(row)
    payload = found.pop("source_payload")
    # Sealed at rest; a purged body is empty and stays so.
    found["body"] = open_body(rest, found["id"], found.pop("body_key_id"), found["body"])
    if in_full:
        return found
    values = private_values(keys, Kind(found["kind"]), payload and bytes(payload))
    for name in _MASKED_FIELDS:
        if name in found:
            found[name] = _mask(found[name], values)
    return found


async def list_deliveries(
    conn: asyncpg.Connection,
    center_id: str,
    *,
    keys: Keyring,
    rest: Keyring,
    source_event_id: uuid.UUID | None = None,
    status: str | None = None,
    kind: str | None = None,
    dossier_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The delivery log of a center, newest first, private values masked. Never
    includes an address. ``dossier_id``: only the messages about that dossier."""
    rows = await conn.fetch(
        f"""
        SELECT {_PUBLIC_COLUMNS} FROM deliveries d {_SOURCE_OF_PRIVATE}
        WHERE d.center_id = $2
          AND ($3::uuid IS NULL OR d.source_event_id = $3)
          AND ($4::text IS NULL OR d.status = $4)
          AND ($5::text IS NULL OR d.kind = $5)
          AND ($7::uuid IS NULL OR (d.subject_kind = 'dossier' AND d.subject_id = $7))
        ORDER BY d.created_at DESC, d.id
        LIMIT $6
        """,
        _PRIVATE_KINDS,
        center_id,
        source_event_id,
        status,
        kind,
        limit,
        dossier_id,
    )
    return [_masked(r, keys, rest) for r in rows]


async def get_delivery(
    conn: asyncpg.Connection, delivery_id: uuid.UUID, *, keys: Keyring, rest: Keyring
) -> dict[str, Any] | None:
    """One delivery with every attempt (``log``), private values masked."""
    row = await conn.fetchrow(
        f"SELECT {_PUBLIC_COLUMNS} FROM deliveries d {_SOURCE_OF_PRIVATE} WHERE d.id = $2",
        _PRIVATE_KINDS,
        delivery_id,
    )
    if row is None:
        return None
    found = _masked(row, keys, rest)
    found["log"] = await _attempts_of(conn, delivery_id)
    return found


async def _attempts_of(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """
        SELECT attempt, channel, outcome, error, segments, started_at, finished_at
        FROM delivery_attempts WHERE delivery_id = $1 ORDER BY id
        """,
        delivery_id,
    )
    return [dict(r) for r in rows]


async def inbox(
    conn: asyncpg.Connection, limit: int, *, keys: Keyring, rest: Keyring
) -> list[dict[str, Any]]:
    """Every rendered message, newest first, with its recipient's address (dev inbox only).

    Messages the dev inbox delivered show in full; others have private values masked.
    """
    rows = await conn.fetch(
        f"""
        SELECT d.id, d.center_id, d.kind, d.channel, d.language, d.title, d.body,
               d.segments, d.status, d.attempts, d.created_at, d.finished_at, c.address,
               d.body_key_id, c.address_key_id, d.subject_kind, d.subject_id, d.contact_kind,
               s.payload AS source_payload
        FROM deliveries d
        LEFT JOIN contacts c ON c.subject_kind = d.subject_kind AND c.subject_id = d.subject_id
                            AND c.kind = d.contact_kind
        {_SOURCE_OF_PRIVATE} AND d.channel <> 'dev_inbox'
        ORDER BY d.created_at DESC, d.id
        LIMIT $2
        """,
        _PRIVATE_KINDS,
        limit,
    )
    # The dev inbox's own messages stand in for the citizen's phone: shown in full.
    found = []
    for r in rows:
        row = _masked(r, keys, rest, in_full=r["channel"] == Channel.DEV_INBOX)
        subject = (row.pop("subject_kind"), row.pop("subject_id"), row.pop("contact_kind"))
        key_id = row.pop("address_key_id")
        if row["address"] is not None:
            row["address"] = open_address(rest, *subject, key_id, row["address"])
        found.append(row)
    return found
