"""The national public-service portal's dossier statuses: one table for every service.

Every ``dossier.*`` event carries a status code; intake names it on receipts and on
the citizen's lookup page, deadlines names it in the leaders' worklist. Both read
``portal_statuses.json`` through :func:`portal_statuses`, so the same code has the
same name everywhere. Each status also has a ``key`` (what intake's lifecycle rules
call it, so that the rules read like the business and the numbers stay data) and a
``clock`` (whether the legal time limit runs in it).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from motcua.shared.reference.documents import (
    Label,
    ReferenceDataError,
    Source,
    entries,
    label,
    only,
    packaged,
    read_object,
    text,
    unique,
)

Clock = Literal["not_started", "running", "paused", "stopped"]
CLOCKS: tuple[Clock, ...] = get_args(Clock)
PACKAGED_FILE = "portal_statuses.json"
FIRST_CODE, LAST_CODE = 1, 10


@dataclass(frozen=True)
class PortalStatus:
    """One step of the portal's list."""

    code: int
    key: str
    name: Label
    clock: Clock


@dataclass(frozen=True)
class StatusTable:
    """The statuses by code, plus the citizen-facing label of each dossier event."""

    statuses: tuple[PortalStatus, ...]
    event_labels: Mapping[str, Label]

    def get(self, code: int) -> PortalStatus | None:
        return next((s for s in self.statuses if s.code == code), None)


def load_status_table(path: Path | None = None) -> StatusTable:
    """The table in ``path`` (a deployment's own file), or the packaged one."""
    source: Source = path or packaged(PACKAGED_FILE)
    return _table(read_object(source), str(source))


@functools.cache
def portal_statuses() -> StatusTable:
    """The packaged table, read once per process."""
    return load_status_table()


def _table(data: Mapping[str, Any], where: str) -> StatusTable:
    only(data, ("description", "statuses", "events"), where)
    statuses = tuple(
        _status(item, f"{where}: statuses[{i}]")
        for i, item in enumerate(entries(data, "statuses", where))
    )
    unique([s.code for s in statuses], "status codes", where)
    unique([s.key for s in statuses], "status keys", where)
    events = data.get("events")
    if not isinstance(events, dict) or not all(isinstance(v, dict) for v in events.values()):
        raise ReferenceDataError(f"{where}: 'events' must map event types to labels")
    labels = {kind: label(names, f"{where}: events.{kind}") for kind, names in events.items()}
    return StatusTable(statuses, labels)


def _status(item: Mapping[str, Any], where: str) -> PortalStatus:
    only(item, ("code", "key", "vi", "en", "clock"), where)
    code = item.get("code")
    if not isinstance(code, int) or isinstance(code, bool) or not FIRST_CODE <= code <= LAST_CODE:
        raise ReferenceDataError(f"{where}: 'code' must be an integer {FIRST_CODE}-{LAST_CODE}")
    clock = next((c for c in CLOCKS if c == item.get("clock")), None)
    if clock is None:
        raise ReferenceDataError(f"{where}: 'clock' must be one of {list(CLOCKS)}")
    return PortalStatus(code, text(item, "key", where), label(item, where), clock)
