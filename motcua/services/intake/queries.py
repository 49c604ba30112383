"""The queries of intake: what clerks and citizens read (no change, no event).

Each method runs on the caller's connection; the clerk's center is checked here,
and a citizen's lookup does the same work for a wrong secret as for an unknown code.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from motcua.services.intake import domain
from motcua.services.intake.errors import NotFound, WrongCenter
from motcua.services.intake.repository import dossiers
from motcua.services.intake.repository.dossiers import DossierRecord, HistoryEntry, ServedTicket
from motcua.shared import crypto


@dataclass(frozen=True)
class Receipt:
    """A received dossier and its lookup secret, as printed on the receipt."""

    dossier: DossierRecord
    secret: str
    history: list[HistoryEntry]
    replayed: bool = False


@dataclass(frozen=True)
class Details:
    """A dossier as its center's clerks see it."""

    dossier: DossierRecord
    history: list[HistoryEntry]
    ticket: ServedTicket | None


async def dossier_of_center(
    conn: asyncpg.Connection, dossier_id: uuid.UUID, center_id: str
) -> DossierRecord:
    """The dossier, if it is ``center_id``'s: 404 when there is none, 403 when it is
    another center's."""
    record = await dossiers.get_dossier(conn, dossier_id)
    if record is None:
        raise NotFound("no such dossier")
    if record.center_id != center_id:
        raise WrongCenter(f"the dossier belongs to another center than {center_id!r}")
    return record


@dataclass(frozen=True)
class Queries:
    """Every intake query."""

    contact_keys: crypto.Keyring
    pepper: bytes

    async def details(
        self, conn: asyncpg.Connection, dossier_id: uuid.UUID, center_id: str
    ) -> Details:
        """A dossier as its center's clerks see it: record, history, served ticket."""
        record = await dossier_of_center(conn, dossier_id, center_id)
        ticket = await dossiers.served_ticket(conn, record.ticket_id) if record.ticket_id else None
        return Details(record, await dossiers.history(conn, record.id), ticket)

    async def list_dossiers(
        self, conn: asyncpg.Connection, center_id: str, *, status: int | None, limit: int
    ) -> list[DossierRecord]:
        return await dossiers.list_dossiers(conn, center_id, status=status, limit=limit)

    async def lookup(
        self, conn: asyncpg.Connection, code: str, secret: str
    ) -> tuple[DossierRecord, list[HistoryEntry]] | None:
        """The dossier behind a code and secret, or ``None`` for a wrong secret and an
        unknown code alike (the same work is done for both)."""
        record = await dossiers.find_by_code(conn, domain.normalise_code(code))
        if not domain.secret_matches(secret, record.secret_hash if record else None, self.pepper):
            return None
        assert record is not None
        return record, await dossiers.history(conn, record.id)

    async def receipt_again(self, conn: asyncpg.Connection, dossier_id: uuid.UUID) -> Receipt:
        """The receipt of an existing dossier, secret included (for replays and reprints)."""
        record = await dossiers.get_dossier(conn, dossier_id)
        if record is None:
            raise NotFound("no such dossier")
        secret = self.contact_keys.open_text(record.secret_sealed, str(record.id))
        return Receipt(record, secret, await dossiers.history(conn, record.id), replayed=True)
