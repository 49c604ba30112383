"""Reference data: the procedure catalog and the national status list, loaded from files.

The catalog lives in ``motcua/services/intake/data``; the status list is the one
table of ``motcua.shared.reference`` that deadlines reads too, and a procedure's
service line is one of the shared lines. A deployment may point the settings at
its own files (a province's catalog with its land procedures). A file is validated
in full when loaded, so a bad edit stops the service at start with a message that
names the field, never halfway through a receipt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from motcua.services.intake.domain import StatusInfo, StatusList, Step
from motcua.shared.calendar import TimeLimit
from motcua.shared.events.catalog import ProcedureConfig, TimeLimitSnapshot
from motcua.shared.procedure_documents import Fee as Fee
from motcua.shared.procedure_documents import ProcedureDocument, TimeLimitDocument
from motcua.shared.procedure_documents import Text as Text
from motcua.shared.reference.documents import Label, ReferenceDataError
from motcua.shared.reference.lines import service_lines
from motcua.shared.reference.statuses import portal_statuses

DATA = Path(__file__).parent / "data"
PROCEDURES_FILE = DATA / "procedures.json"


class CatalogError(ValueError):
    """A reference data file is missing or invalid."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# The procedure's shape is the registry's contract (``motcua.shared.events.catalog``) made
# strict for files (``motcua.shared.procedure_documents``), so that the packaged file, the
# registry's files and the ``procedure.configured`` event are one definition. Intake adds
# only its own reading of the time limit.
class TimeLimitSpec(TimeLimitDocument):
    def limit(self) -> TimeLimit:
        return TimeLimit(self.amount, self.unit, self.rollover)

    def snapshot(self) -> TimeLimitSnapshot:
        return TimeLimitSnapshot(amount=self.amount, unit=self.unit.value, rollover=self.rollover)


class Procedure(ProcedureDocument):
    """One administrative procedure as the center offers it."""

    time_limit: TimeLimitSpec


def as_procedure(config: ProcedureConfig) -> Procedure:
    """A procedure from the registry, as intake's catalog holds one. The event tolerates
    fields a newer registry may add; intake keeps the ones it knows."""
    return Procedure.model_validate(config.model_dump(include=_FIELDS))


_FIELDS = set(ProcedureConfig.model_fields)


class Catalog(_Model):
    """Every procedure the center offers, by code.

    A procedure's line is one of the shared service lines, or one the file declares
    in ``service_lines`` (a province's line of its own)."""

    description: str = ""
    service_lines: dict[str, Text] = Field(default_factory=dict)
    procedures: list[Procedure] = Field(min_length=1)

    @field_validator("procedures")
    @classmethod
    def _unique(cls, value: list[Procedure]) -> list[Procedure]:
        codes = [p.code for p in value]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"duplicate procedure codes: {dupes}")
        return value

    def get(self, code: str) -> Procedure | None:
        return self._by_code().get(code)

    def _by_code(self) -> dict[str, Procedure]:
        # Memoised beside the fields (the model is frozen), keyed on the list itself so
        # that a copy with other procedures never reuses a stale index.
        cached: tuple[list[Procedure], dict[str, Procedure]] | None = self.__dict__.get("_index")
        if cached is None or cached[0] is not self.procedures:
            cached = (self.procedures, {p.code: p for p in self.procedures})
            self.__dict__["_index"] = cached
        return cached[1]


class StatusBook:
    """The status list plus the citizen-facing labels of each dossier event."""

    def __init__(self, statuses: StatusList, event_labels: Mapping[str, Label]) -> None:
        self.statuses = statuses
        self.event_labels = event_labels


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogError(f"{path}: {exc}") from None


def load_catalog(path: Path | None = None) -> Catalog:
    path = path or PROCEDURES_FILE
    try:
        catalog = Catalog.model_validate(_read(path))
    except ValidationError as exc:
        raise CatalogError(f"{path}: {_describe(exc)}") from None
    known = set(service_lines().codes()) | set(catalog.service_lines)
    unknown = sorted({p.line_code for p in catalog.procedures} - known)
    if unknown:
        raise CatalogError(f"{path}: procedures use undeclared service lines {unknown}")
    return catalog


def load_statuses(path: Path | None = None) -> StatusBook:
    """The shared status table, or a deployment's own file shaped like it, checked
    against the steps the lifecycle rules name."""
    try:
        table = portal_statuses(path)
    except ReferenceDataError as exc:
        raise CatalogError(str(exc)) from None
    try:
        if len(table.statuses) != len(Step):
            raise ValueError(f"the list has {len(table.statuses)} steps, not {len(Step)}")
        statuses = StatusList(
            StatusInfo(
                code=s.code,
                key=Step(s.key),
                name_vi=s.name.vi,
                name_en=s.name.en,
                clock=s.clock,
                portal=s.portal,
            )
            for s in table.statuses
        )
    except ValueError as exc:
        raise CatalogError(f"{path or 'the status list'}: {exc}") from None
    return StatusBook(statuses, table.event_labels)


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:5]
    )
