"""Idempotency keys of HTTP writes (clerk ``Idempotency-Key``, online submissions).

A key is claimed in ``processed_commands`` inside the write's own transaction, so
the effect and the claim commit together; a retry with the same key finds the
claim and is answered with the dossier the first request produced. A concurrent
retry waits on the first transaction's claim, then sees it. Bus commands use the
same table, keyed by command id (see ``command_bus``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg

from motcua.services.intake.errors import Conflict
from motcua.services.intake.repository import dossiers
from motcua.shared.events.commands import ReceiveDossier


def request_hash(payload: Mapping[str, Any]) -> bytes:
    """A fingerprint of a request body, to spot a key reused for another request."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).digest()


async def replay_of(
    conn: asyncpg.Connection,
    key: str,
    *,
    command_type: str,
    center_id: str,
    dossier_id: uuid.UUID | None,
    fingerprint: bytes | None,
) -> uuid.UUID | None:
    """Claim ``key``. ``None``: first use, go ahead. Otherwise the dossier the first
    request produced (answer with it again, change nothing); a key reused for a
    different request is a ``Conflict``."""
    if await dossiers.claim_command(
        conn,
        key,
        command_type=command_type,
        center_id=center_id,
        dossier_id=dossier_id,
        request_hash=fingerprint,
    ):
        return None
    prior = await dossiers.get_command(conn, key)
    if (
        prior is None
        or prior.dossier_id is None
        or prior.command_type != command_type
        or prior.center_id != center_id
        or (fingerprint is not None and prior.request_hash != fingerprint)
        or (command_type != ReceiveDossier.COMMAND_TYPE and prior.dossier_id != dossier_id)
    ):
        raise Conflict("this Idempotency-Key was used for a different request")
    return prior.dossier_id
