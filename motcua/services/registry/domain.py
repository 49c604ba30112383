"""The registry's rules, pure: what makes a center document consistent, and when a
document is a change worth a new revision.

The shape of a document (types, lengths, patterns, no unknown field) is the pydantic
model's (``schemas.CenterDocument``); the rules that span fields are here: a counter
serves only lines the center opens, codes and ticket letters do not repeat, a line
outside the shared list is named, the time zone and the calendar overrides are real.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from motcua.services.registry.errors import Invalid, RevisionRequired, StaleRevision
from motcua.shared.calendar import CalendarError
from motcua.shared.center_calendar import build
from motcua.shared.events.catalog import (
    CenterConfig,
    CenterConfigured,
    ProcedureConfig,
    ProcedureConfigured,
)
from motcua.shared.reference.lines import LineTable


def check(document: CenterConfig, standard: LineTable) -> None:
    """Refuse a document whose fields contradict each other; ``Invalid`` says where."""
    try:
        ZoneInfo(document.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(("timezone",), f"unknown time zone {document.timezone!r}") from None
    codes: set[str] = set()
    prefixes: set[str] = set()
    for i, line in enumerate(document.lines):
        if line.code in codes:
            raise Invalid(("lines", i, "code"), f"line {line.code!r} is listed twice")
        if line.prefix in prefixes:
            raise Invalid(("lines", i, "prefix"), f"ticket letter {line.prefix!r} is taken")
        if line.name is None and standard.get(line.code) is None:
            raise Invalid(
                ("lines", i, "name"), f"line {line.code!r} is not a shared service line: name it"
            )
        codes.add(line.code)
        prefixes.add(line.prefix)
    counters: set[str] = set()
    for i, counter in enumerate(document.counters):
        if counter.counter_id in counters:
            raise Invalid(
                ("counters", i, "counter_id"), f"counter {counter.counter_id!r} is listed twice"
            )
        counters.add(counter.counter_id)
        for j, code in enumerate(counter.line_codes):
            if code not in codes:
                raise Invalid(
                    ("counters", i, "line_codes", j),
                    f"counter {counter.counter_id!r} serves line {code!r}, "
                    "which the center does not open",
                )
    try:
        build(overrides_of(document))
    except CalendarError as exc:
        key, _, message = str(exc).partition(": ")
        raise Invalid(
            ("calendar", key) if message else ("calendar",), message or str(exc)
        ) from None


def overrides_of(document: CenterConfig) -> dict[str, Any]:
    """The calendar overrides as the calendar kernel takes them."""
    return document.calendar.model_dump(mode="json", exclude_none=True)


def as_stored(document: CenterConfig) -> dict[str, Any]:
    """The document as stored and compared: JSON values, the configuration fields only."""
    return CenterConfig.model_validate(document.model_dump()).model_dump(mode="json")


@dataclass(frozen=True)
class Revision:
    """A change to record: the new revision of a center, what it was and what it is."""

    center_id: str
    revision: int
    before: Mapping[str, Any] | None
    after: Mapping[str, Any]

    def event_payload(self) -> CenterConfigured:
        return CenterConfigured.model_validate({**self.after, "revision": self.revision})


def plan(
    center_id: str,
    current: tuple[int, Mapping[str, Any]] | None,
    document: CenterConfig,
    *,
    expected: int | None,
    require_expected: bool,
) -> Revision | None:
    """The revision a write makes, or ``None`` when the document changes nothing.

    ``current`` is the stored (revision, document). ``expected`` is the revision the
    writer read (HTTP ``If-Match``); a write that names an older one is stale, and, when
    ``require_expected``, a write to an existing center must name one.
    """
    if document.center_id != center_id:
        raise Invalid(
            ("center_id",), f"the document is for {document.center_id!r}, not {center_id!r}"
        )
    after = as_stored(document)
    step = next_revision(
        center_id, "center", current, after, expected=expected, require_expected=require_expected
    )
    if step is None:
        return None
    return Revision(center_id, step[0], step[1], after)


def next_revision(
    key: str,
    kind: str,
    current: tuple[int, Mapping[str, Any]] | None,
    after: Mapping[str, Any],
    *,
    expected: int | None,
    require_expected: bool,
) -> tuple[int, Mapping[str, Any] | None] | None:
    """The (revision, document before) of a write of ``after`` over ``current``, or
    ``None`` when it changes nothing: the one revision rule of centers and procedures."""
    if current is None:
        if expected not in (None, 0):
            raise StaleRevision(key, expected, 0, kind)
        return 1, None
    revision, before = current
    if expected is None and require_expected:
        raise RevisionRequired(key, revision, kind)
    if expected is not None and expected != revision:
        raise StaleRevision(key, expected, revision, kind)
    if dict(before) == dict(after):
        return None
    return revision + 1, before


# ------------------------------------------------------------------ procedures


def check_procedure(document: ProcedureConfig, known_lines: Collection[str]) -> None:
    """Refuse a procedure filed under a line no center opens nor the shared list has."""
    if document.line_code not in known_lines:
        raise Invalid(
            ("line_code",),
            f"line {document.line_code!r} is neither a shared service line nor one a center opens",
        )


def procedure_as_stored(document: ProcedureConfig) -> dict[str, Any]:
    """The procedure as stored and compared: JSON values, the contract's fields only."""
    return ProcedureConfig.model_validate(document.model_dump()).model_dump(mode="json")


@dataclass(frozen=True)
class ProcedureRevision:
    """A change to record: the new revision of a procedure, what it was and what it is."""

    code: str
    revision: int
    before: Mapping[str, Any] | None
    after: Mapping[str, Any]

    def row(self) -> tuple[str, int, Mapping[str, Any] | None, Mapping[str, Any]]:
        """(key, revision, before, after): what the versioned tables store."""
        return self.code, self.revision, self.before, self.after

    def event_payload(self) -> ProcedureConfigured:
        return ProcedureConfigured.model_validate({**self.after, "revision": self.revision})


def plan_procedure(
    code: str,
    current: tuple[int, Mapping[str, Any]] | None,
    document: ProcedureConfig,
    *,
    expected: int | None,
    require_expected: bool,
) -> ProcedureRevision | None:
    """The revision a write of a procedure makes, or ``None`` when it changes nothing
    (the rules of :func:`plan`)."""
    if document.code != code:
        raise Invalid(("code",), f"the document is for {document.code!r}, not {code!r}")
    after = procedure_as_stored(document)
    step = next_revision(
        code, "procedure", current, after, expected=expected, require_expected=require_expected
    )
    if step is None:
        return None
    return ProcedureRevision(code, step[0], step[1], after)
