"""The national public-service portal's dossier statuses: one table for every service.

Every ``dossier.*`` event carries a status code; intake names it on receipts and on
the citizen's lookup page, deadlines names it in the leaders' worklist. Both read
``portal_statuses.json`` through :func:`portal_statuses`, so the same code has the
same name everywhere. Each status also has a ``key`` (what intake's lifecycle rules
call it, so that the rules read like the business and the numbers stay data), a
``clock`` (whether the legal time limit runs in it) and ``portal``: the code the
national public service portal uses for it. That field is the one place motcua's
lifecycle maps to the portal's list (``portal_codes``; cited in
docs/portal-statuses.md): the portal has fewer steps than the lifecycle, so several
statuses may report the same portal code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from motcua.shared.reference import documents as doc

Clock = Literal["not_started", "running", "paused", "stopped"]
CLOCKS: tuple[Clock, ...] = get_args(Clock)
PACKAGED_FILE = "portal_statuses.json"
FIRST_CODE, LAST_CODE = 1, 12
PORTAL_FIRST, PORTAL_LAST = 1, 10


@dataclass(frozen=True)
class PortalStatus:
    """One step of the portal's list."""

    code: int
    key: str
    name: doc.Label
    clock: Clock
    portal: int
    """The national portal's code for this status (``StatusTable.portal_codes``)."""


@dataclass(frozen=True)
class PortalCode:
    """One code of the national portal's own status list."""

    code: int
    name: doc.Label


@dataclass(frozen=True)
class StatusTable:
    """The statuses by code, the portal's list, and the label of each dossier event."""

    statuses: tuple[PortalStatus, ...]
    event_labels: Mapping[str, doc.Label]
    portal_codes: tuple[PortalCode, ...] = ()

    def get(self, code: int) -> PortalStatus | None:
        return next((s for s in self.statuses if s.code == code), None)

    def portal(self, code: int) -> PortalCode | None:
        """The portal's status a lifecycle status ``code`` reports as."""
        status = self.get(code)
        if status is None:
            return None
        return next((p for p in self.portal_codes if p.code == status.portal), None)


def portal_statuses(path: Path | None = None) -> StatusTable:
    """The table in ``path`` (a deployment's own file), or the packaged one (read once
    per process)."""
    return doc.load(_table, path, PACKAGED_FILE)


def _table(data: Mapping[str, Any], where: str) -> StatusTable:
    doc.only(data, ("description", "statuses", "portal_codes", "events"), where)
    statuses = doc.each(data, "statuses", where, _status)
    doc.unique([s.code for s in statuses], "status codes", where)
    doc.unique([s.key for s in statuses], "status keys", where)
    portal = doc.each(data, "portal_codes", where, _portal_code)
    doc.unique([p.code for p in portal], "portal codes", where)
    unmapped = sorted({s.portal for s in statuses} - {p.code for p in portal})
    if unmapped:
        raise doc.ReferenceDataError(f"{where}: statuses map to unlisted portal codes {unmapped}")
    events = data.get("events")
    if not isinstance(events, dict) or not all(isinstance(v, dict) for v in events.values()):
        raise doc.ReferenceDataError(f"{where}: 'events' must map event types to labels")
    labels = {kind: doc.label(names, f"{where}: events.{kind}") for kind, names in events.items()}
    return StatusTable(statuses, labels, portal)


def _code(item: Mapping[str, Any], name: str, where: str, first: int, last: int) -> int:
    code = item.get(name)
    if not isinstance(code, int) or isinstance(code, bool) or not first <= code <= last:
        raise doc.ReferenceDataError(f"{where}: '{name}' must be an integer {first}-{last}")
    return code


def _status(item: Mapping[str, Any], where: str) -> PortalStatus:
    doc.only(item, ("code", "key", "vi", "en", "clock", "portal"), where)
    code = _code(item, "code", where, FIRST_CODE, LAST_CODE)
    clock = next((c for c in CLOCKS if c == item.get("clock")), None)
    if clock is None:
        raise doc.ReferenceDataError(f"{where}: 'clock' must be one of {list(CLOCKS)}")
    portal = _code(item, "portal", where, PORTAL_FIRST, PORTAL_LAST)
    return PortalStatus(code, doc.text(item, "key", where), doc.label(item, where), clock, portal)


def _portal_code(item: Mapping[str, Any], where: str) -> PortalCode:
    doc.only(item, ("code", "vi", "en"), where)
    return PortalCode(_code(item, "code", where, PORTAL_FIRST, PORTAL_LAST), doc.label(item, where))
