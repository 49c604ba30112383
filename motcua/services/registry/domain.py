"""The registry's rules, pure: what makes a center document consistent, and when a
document is a change worth a new revision.

The shape of a document (types, lengths, patterns, no unknown field) is the pydantic
model's (``schemas.CenterDocument``); the rules that span fields are here: a counter
serves only lines the center opens, codes and ticket letters do not repeat, a line
outside the shared list is named, the time zone and the calendar overrides are real.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from motcua.services.registry.errors import Invalid, RevisionRequired, StaleRevision
from motcua.shared.calendar import CalendarError
from motcua.shared.center_calendar import build
from motcua.shared.events.catalog import CenterConfig, CenterConfigured
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
    if current is None:
        if expected not in (None, 0):
            raise StaleRevision(center_id, expected, 0)
        return Revision(center_id, 1, None, after)
    revision, before = current
    if expected is None and require_expected:
        raise RevisionRequired(center_id, revision)
    if expected is not None and expected != revision:
        raise StaleRevision(center_id, expected, revision)
    if dict(before) == after:
        return None
    return Revision(center_id, revision + 1, before, after)
