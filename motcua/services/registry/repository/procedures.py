"""The procedure catalog's rows; their SQL is the centers' (``versioned``, ``PROCEDURES``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StoredProcedure:
    code: str
    revision: int
    document: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class ProcedureAuditEntry:
    """One change of a procedure: who (a token's subject and role, or file:<name>), when,
    why, and the whole procedure before (None for a new one) and after."""

    id: int
    code: str
    revision: int
    actor: str
    role: str
    at: datetime
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any]
