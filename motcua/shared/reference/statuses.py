"""The national public-service portal's dossier statuses: one table for every service.

Every ``dossier.*`` event carries a status code; intake names it on receipts and on
the citizen's lookup page, deadlines names it in the leaders' worklist. Both read
``portal_statuses.json`` through :func:`portal_statuses`, so the same code has the
same name everywhere. Each status also has a ``key`` (what intake's lifecycle rules
call it, so that the rules read like the business and the numbers stay data) and a
``clock`` (whether the legal time limit runs in it).
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
FIRST_CODE, LAST_CODE = 1, 10


@dataclass(frozen=True)
class PortalStatus:
    """One step of the portal's list."""

    code: int
    key: str
    name: doc.Label
    clock: Clock


@dataclass(frozen=True)
class StatusTable:
    """The statuses by code, plus the citizen-facing label of each dossier event."""

    statuses: tuple[PortalStatus, ...]
    event_labels: Mapping[str, doc.Label]

    def get(self, code: int) -> PortalStatus | None:
        return next((s for s in self.statuses if s.code == code), None)


def portal_statuses(path: Path | None = None) -> StatusTable:
    """The table in ``path`` (a deployment's own file), or the packaged one (read once
    per process)."""
    return doc.load(_table, path, PACKAGED_FILE)


def _table(data: Mapping[str, Any], where: str) -> StatusTable:
    doc.only(data, ("description", "statuses", "events"), where)
    statuses = doc.each(data, "statuses", where, _status)
    doc.unique([s.code for s in statuses], "status codes", where)
    doc.unique([s.key for s in statuses], "status keys", where)
    events = data.get("events")
    if not isinstance(events, dict) or not all(isinstance(v, dict) for v in events.values()):
        raise doc.ReferenceDataError(f"{where}: 'events' must map event types to labels")
    labels = {kind: doc.label(names, f"{where}: events.{kind}") for kind, names in events.items()}
    return StatusTable(statuses, labels)


def _status(item: Mapping[str, Any], where: str) -> PortalStatus:
    doc.only(item, ("code", "key", "vi", "en", "clock"), where)
    code = item.get("code")
    if not isinstance(code, int) or isinstance(code, bool) or not FIRST_CODE <= code <= LAST_CODE:
        raise doc.ReferenceDataError(f"{where}: 'code' must be an integer {FIRST_CODE}-{LAST_CODE}")
    clock = next((c for c in CLOCKS if c == item.get("clock")), None)
    if clock is None:
        raise doc.ReferenceDataError(f"{where}: 'clock' must be one of {list(CLOCKS)}")
    return PortalStatus(code, doc.text(item, "key", where), doc.label(item, where), clock)
