"""HTTP request and response models of the registry, and the documents its files hold.

A center document is the event's configuration (``CenterConfig`` in the shared catalog)
with every unknown field refused: on the bus consumers ignore fields they do not know,
but in a province's file or an admin's request an unknown field is a typo that would
silently fall back to a default. ``docs/schemas/registry/center.schema.json`` is
generated from :class:`CenterDocument` (``motcua docs gen``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from motcua.services.registry.repository import AuditEntry, ProcedureAuditEntry
from motcua.shared.events.catalog import (
    CalendarOverrides,
    CenterConfig,
    CenterCounter,
    CenterLine,
)
from motcua.shared.procedure_documents import ProcedureDocument

_STRICT = ConfigDict(extra="forbid", frozen=True)


class LineDocument(CenterLine):
    model_config = _STRICT


class CounterDocument(CenterCounter):
    model_config = _STRICT


class CalendarDocument(CalendarOverrides):
    model_config = _STRICT


class CenterDocument(CenterConfig):
    """One center, whole: what a registry file holds and what ``PUT`` takes."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Center",
        json_schema_extra={"$id": "https://motcua.example/schemas/registry/center.schema.json"},
    )

    lines: list[LineDocument] = Field(min_length=1, max_length=50)  # type: ignore[assignment]
    counters: list[CounterDocument] = Field(min_length=1, max_length=200)  # type: ignore[assignment]
    calendar: CalendarDocument = Field(default_factory=CalendarDocument)


__all__ = ["ProcedureDocument"]  # the registry's procedure document is the shared one


class ProcedureCatalogDocument(BaseModel):
    """The province's procedure catalog: the ``procedures.json`` file of the registry's
    folder. A procedure the file no longer lists is left as it is (retiring one is an
    explicit act, through the API)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Procedure catalog",
        json_schema_extra={"$id": "https://motcua.example/schemas/registry/procedures.schema.json"},
    )

    description: str = Field(default="", max_length=2000)
    procedures: list[ProcedureDocument] = Field(min_length=1, max_length=5000)


class CenterOut(BaseModel):
    """A center as the registry holds it now."""

    center_id: str
    revision: int = Field(description="Send it back as If-Match to change the center")
    updated_at: datetime
    document: dict[str, Any] = Field(description="The center document (center.schema.json)")


class CenterSummaryOut(BaseModel):
    center_id: str
    name: str
    code: str
    active: bool
    revision: int
    updated_at: datetime


class ChangeOut(BaseModel):
    """What a write did: the revision now current, and whether it made a new one."""

    center_id: str
    revision: int
    changed: bool = Field(description="False when the document equals the current one")


class RetireIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="Kept in the audit")


class AuditPageOut(BaseModel):
    """A page of a center's changes, newest first. Each entry says who (the token's
    subject and role, or file:<name>), when, why, and the document before and after."""

    entries: list[AuditEntry]
    next_before: int | None = Field(
        description="Pass as ?before= for the older entries; null on the last page"
    )


class ProcedureOut(BaseModel):
    """A procedure as the registry holds it now."""

    code: str
    revision: int = Field(description="Send it back as If-Match to change the procedure")
    updated_at: datetime
    document: dict[str, Any] = Field(description="The procedure (procedures.schema.json item)")


class ProcedureSummaryOut(BaseModel):
    code: str
    name: str
    line_code: str
    active: bool
    revision: int
    updated_at: datetime


class ProcedureChangeOut(BaseModel):
    """What a write did: the revision now current, and whether it made a new one."""

    code: str
    revision: int
    changed: bool = Field(description="False when the document equals the current one")


class ProcedureAuditPageOut(BaseModel):
    """A page of a procedure's changes, newest first (who, when, why, before, after)."""

    entries: list[ProcedureAuditEntry]
    next_before: int | None = Field(
        description="Pass as ?before= for the older entries; null on the last page"
    )
