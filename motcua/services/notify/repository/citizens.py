"""Explicit SQL of the notify service on an asyncpg connection.

Citizen-side state: contacts, opt-outs, dossiers, feedback and the waiting line.
The deliveries and their log are in ``motcua.services.notify.repository.deliveries``. asyncpg
errors are translated to ``motcua.services.notify.errors`` here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from motcua.services.notify.contacts import Contact
from motcua.services.notify.domain import SoonState, WaitingTicket
from motcua.services.notify.errors import Conflict, NotFound
from motcua.shared.crypto import Keyring

# ------------------------------------------------------------------- contacts
# An address is sealed at rest (AES-GCM under the contact ring, purpose at-rest) and
# bound to its row: subject and kind. ``address_key_id`` names the key; NULL marks an
# address stored in clear before sealing, read as it is until the purge removes it.


def _address_context(subject_kind: str, subject_id: uuid.UUID, kind: str) -> str:
    return f"contact:{subject_kind}:{subject_id}:{kind}"


def seal_address(
    keys: Keyring, subject_kind: str, subject_id: uuid.UUID, kind: str, address: str
) -> tuple[str, str]:
    """(key id, sealed address) as the contacts table keeps them."""
    key_id, sealed = keys.seal(address, _address_context(subject_kind, subject_id, kind))
    return key_id, sealed


def open_address(
    keys: Keyring,
    subject_kind: str,
    subject_id: uuid.UUID,
    kind: str,
    key_id: str | None,
    stored: str,
) -> str:
    return keys.open_column(key_id, stored, _address_context(subject_kind, subject_id, kind))


async def save_contact(
    conn: asyncpg.Connection,
    subject_kind: str,
    subject_id: uuid.UUID,
    center_id: str,
    contact: Contact,
    keys: Keyring,
) -> None:
    """Remember a consented contact, sealed; a later one of the same kind replaces it."""
    key_id, sealed = seal_address(keys, subject_kind, subject_id, contact.kind, contact.address)
    await conn.execute(
        """
        INSERT INTO contacts
            (subject_kind, subject_id, kind, address, recipient_ref, language, center_id,
             address_key_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (subject_kind, subject_id, kind) DO UPDATE
            SET address = EXCLUDED.address,
                address_key_id = EXCLUDED.address_key_id,
                recipient_ref = EXCLUDED.recipient_ref,
                language = EXCLUDED.language
        """,
        subject_kind,
        subject_id,
        contact.kind,
        sealed,
        contact.ref,
        contact.language,
        center_id,
        key_id,
    )


async def contacts_of_subjects(
    conn: asyncpg.Connection, subjects: Iterable[tuple[str, uuid.UUID]], keys: Keyring
) -> dict[tuple[str, uuid.UUID], list[tuple[Contact, bool]]]:
    """Each subject's contacts, phone first, each with whether it has opted out."""
    wanted = list(subjects)
    rows = await conn.fetch(
        """
        SELECT c.subject_kind, c.subject_id, c.kind, c.address, c.address_key_id,
               c.recipient_ref, c.language,
               EXISTS (SELECT 1 FROM opt_outs o WHERE o.recipient_ref = c.recipient_ref)
                   AS opted_out
        FROM contacts c
        JOIN unnest($1::text[], $2::uuid[]) AS s(subject_kind, subject_id)
          ON c.subject_kind = s.subject_kind AND c.subject_id = s.subject_id
        ORDER BY c.kind DESC  -- 'phone' > 'email'
        """,
        [k for k, _ in wanted],
        [i for _, i in wanted],
    )
    found: dict[tuple[str, uuid.UUID], list[tuple[Contact, bool]]] = {}
    for r in rows:
        address = open_address(
            keys, r["subject_kind"], r["subject_id"], r["kind"], r["address_key_id"], r["address"]
        )
        contact = Contact(r["kind"], address, r["recipient_ref"], r["language"])
        found.setdefault((r["subject_kind"], r["subject_id"]), []).append((contact, r["opted_out"]))
    return found


# -------------------------------------------------------------------- opt-outs


async def add_opt_out(conn: asyncpg.Connection, ref: str, source: str) -> bool:
    """Record an opt-out; False if it was already there."""
    inserted = await conn.fetchval(
        """
        INSERT INTO opt_outs (recipient_ref, source) VALUES ($1, $2)
        ON CONFLICT (recipient_ref) DO NOTHING
        RETURNING true
        """,
        ref,
        source,
    )
    return bool(inserted)


# ------------------------------------------------------------ dossiers, feedback


@dataclass(frozen=True)
class Dossier:
    dossier_id: uuid.UUID
    center_id: str
    dossier_code: str


@dataclass(frozen=True)
class ReceivedDossier:
    dossier_id: uuid.UUID
    center_id: str
    dossier_code: str
    received_at: datetime
    contact: Contact | None


async def save_dossiers(
    conn: asyncpg.Connection, received: Sequence[ReceivedDossier], keys: Keyring
) -> None:
    """Remember received dossiers and the contacts given with them, in one statement
    (one array per column) whatever their number. As if saved one after another: a
    dossier's first receipt is kept, and of each kind of contact the last one given."""
    if not received:
        return
    # One row may not be upserted twice by one statement: the last contact stands.
    given = {(d.dossier_id, d.contact.kind): (d, d.contact) for d in received if d.contact}
    contacts = list(given.values())
    sealed = [seal_address(keys, "dossier", d.dossier_id, c.kind, c.address) for d, c in contacts]
    await conn.execute(
        """
        WITH dossier AS (
            INSERT INTO dossiers (dossier_id, center_id, dossier_code, received_at)
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
            ON CONFLICT (dossier_id) DO NOTHING
        )
        INSERT INTO contacts
            (subject_kind, subject_id, kind, address, recipient_ref, language, center_id,
             address_key_id)
        SELECT 'dossier', c.* FROM unnest(
            $5::uuid[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
            $11::text[]
        ) AS c
        ON CONFLICT (subject_kind, subject_id, kind) DO UPDATE
            SET address = EXCLUDED.address,
                address_key_id = EXCLUDED.address_key_id,
                recipient_ref = EXCLUDED.recipient_ref,
                language = EXCLUDED.language
        """,
        [d.dossier_id for d in received],
        [d.center_id for d in received],
        [d.dossier_code for d in received],
        [d.received_at for d in received],
        [d.dossier_id for d, _ in contacts],
        [c.kind for _, c in contacts],
        [s for _, s in sealed],
        [c.ref for _, c in contacts],
        [c.language for _, c in contacts],
        [d.center_id for d, _ in contacts],
        [k for k, _ in sealed],
    )


async def close_dossiers(
    conn: asyncpg.Connection, closed: Sequence[tuple[uuid.UUID, datetime]]
) -> None:
    """Record when dossiers closed; one closed already keeps its first closing."""
    await conn.execute(
        """
        UPDATE dossiers d SET closed_at = c.at
        FROM (SELECT id, min(at) AS at FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at)
              GROUP BY id) AS c
        WHERE d.dossier_id = c.id AND (d.closed_at IS NULL OR d.closed_at > c.at)
        """,
        [i for i, _ in closed],
        [at for _, at in closed],
    )


async def get_dossier(conn: asyncpg.Connection, dossier_id: uuid.UUID) -> Dossier:
    row = await conn.fetchrow(
        "SELECT dossier_id, center_id, dossier_code FROM dossiers WHERE dossier_id = $1",
        dossier_id,
    )
    if row is None:
        raise NotFound(f"unknown dossier {dossier_id}")
    return Dossier(row["dossier_id"], row["center_id"], row["dossier_code"])


async def add_feedback(
    conn: asyncpg.Connection, dossier_id: uuid.UUID, rating: int, comment: str | None
) -> datetime:
    """Store the one rating a dossier may get; ``Conflict`` for a second one."""
    try:
        received_at: datetime = await conn.fetchval(
            """
            INSERT INTO feedback (dossier_id, rating, comment) VALUES ($1, $2, $3)
            RETURNING received_at
            """,
            dossier_id,
            rating,
            comment,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict("this dossier has already been rated") from None
    except asyncpg.ForeignKeyViolationError:
        raise NotFound(f"unknown dossier {dossier_id}") from None
    return received_at


# --------------------------------------------------------------- waiting line


@dataclass(frozen=True)
class Place:
    center_id: str
    line_code: str


async def waiting_in_line(
    conn: asyncpg.Connection, center_id: str, line_code: str
) -> list[WaitingTicket]:
    rows = await conn.fetch(
        """
        SELECT ticket_id, number, priority, entered_at, soon_state FROM waiting_tickets
        WHERE center_id = $1 AND line_code = $2
        """,
        center_id,
        line_code,
    )
    return [
        WaitingTicket(
            str(r["ticket_id"]),
            r["number"],
            r["priority"],
            r["entered_at"],
            SoonState(r["soon_state"]),
        )
        for r in rows
    ]


async def enter_line(
    conn: asyncpg.Connection,
    ticket_id: uuid.UUID,
    place: Place,
    number: str,
    priority: bool,
    entered_at: datetime,
    state: SoonState,
) -> None:
    """Put a ticket in a line (again): a transfer or requeue starts a new wait."""
    await conn.execute(
        """
        INSERT INTO waiting_tickets
            (ticket_id, center_id, line_code, number, priority, entered_at, soon_state)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (ticket_id) DO UPDATE
            SET center_id = EXCLUDED.center_id, line_code = EXCLUDED.line_code,
                number = EXCLUDED.number, priority = EXCLUDED.priority,
                entered_at = EXCLUDED.entered_at, soon_state = EXCLUDED.soon_state
        """,
        ticket_id,
        place.center_id,
        place.line_code,
        number,
        priority,
        entered_at,
        state.value,
    )


async def leave_line(conn: asyncpg.Connection, ticket_id: uuid.UUID) -> Place | None:
    """Take a ticket out of its line; the line it left, or None if it was not waiting."""
    row = await conn.fetchrow(
        "DELETE FROM waiting_tickets WHERE ticket_id = $1 RETURNING center_id, line_code",
        ticket_id,
    )
    return Place(row["center_id"], row["line_code"]) if row else None


async def mark_soon(conn: asyncpg.Connection, ticket_ids: Iterable[str], state: SoonState) -> None:
    await conn.execute(
        "UPDATE waiting_tickets SET soon_state = $2 WHERE ticket_id = ANY($1::uuid[])",
        [uuid.UUID(t) for t in ticket_ids],
        state.value,
    )


async def service_seconds(
    conn: asyncpg.Connection, place: Place, default: float
) -> tuple[float, int]:
    """A line's measured service time per ticket and how many open counters serve it."""
    row = await conn.fetchrow(
        """
        SELECT (SELECT service_seconds FROM line_stats
                WHERE center_id = $1 AND line_code = $2) AS seconds,
               (SELECT count(*) FROM open_counters
                WHERE center_id = $1 AND $2 = ANY(line_codes)) AS counters
        """,
        place.center_id,
        place.line_code,
    )
    seconds = row["seconds"] if row["seconds"] is not None else default
    return float(seconds), int(row["counters"])


async def save_service_seconds(conn: asyncpg.Connection, place: Place, seconds: float) -> None:
    await conn.execute(
        """
        INSERT INTO line_stats (center_id, line_code, service_seconds) VALUES ($1, $2, $3)
        ON CONFLICT (center_id, line_code) DO UPDATE SET service_seconds = EXCLUDED.service_seconds
        """,
        place.center_id,
        place.line_code,
        seconds,
    )


async def open_counter(
    conn: asyncpg.Connection, center_id: str, counter_id: str, line_codes: list[str]
) -> None:
    await conn.execute(
        """
        INSERT INTO open_counters (center_id, counter_id, line_codes) VALUES ($1, $2, $3)
        ON CONFLICT (center_id, counter_id) DO UPDATE SET line_codes = EXCLUDED.line_codes
        """,
        center_id,
        counter_id,
        line_codes,
    )


async def close_counter(conn: asyncpg.Connection, center_id: str, counter_id: str) -> None:
    await conn.execute(
        "DELETE FROM open_counters WHERE center_id = $1 AND counter_id = $2",
        center_id,
        counter_id,
    )
