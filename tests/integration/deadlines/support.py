"""Helpers for the deadlines integration tests: dossier events at chosen business times, a
movable clock, and a migrated database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from motcua.services.deadlines import usecases
from motcua.services.deadlines.app import MIGRATIONS
from motcua.services.deadlines.domain import Extension
from motcua.services.deadlines.flags import (
    parse_thresholds,
)
from motcua.services.deadlines.usecases import Calendars, Policy, apply_dossier_event
from motcua.shared import migrations
from motcua.shared.calendar import TimeUnit
from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import (
    DossierAssigned,
    DossierFinancialObligationFulfilled,
    DossierFinancialObligationNotified,
    DossierReceived,
    DossierResolved,
    DossierStopped,
    DossierSupplementProvided,
    DossierSupplementRequested,
    DossierWithdrawn,
    TimeLimitSnapshot,
)

POLICY = Policy(thresholds=parse_thresholds(["1d", "80%"]), apology_grace_days=2)


class MovableClock:
    """The scheduler's "now", moved by the test instead of waiting for real time."""

    def __init__(self, start: datetime) -> None:
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, t: datetime) -> None:
        self.now = t.astimezone(UTC)


@dataclass
class Dossier:
    """Builds one dossier's events; each carries the business time it is given."""

    center_id: str = "nam-cuong"
    procedure_code: str = "HT-KS"
    line_code: str | None = "B"
    dossier_id: uuid.UUID = field(default_factory=uuid.uuid4)
    code: str = ""

    def __post_init__(self) -> None:
        self.code = self.code or f"{self.center_id}-{self.dossier_id.hex[:8]}"

    def _facts(self, status: int) -> dict[str, Any]:
        return {
            "dossier_id": self.dossier_id,
            "dossier_code": self.code,
            "procedure_code": self.procedure_code,
            "status": status,
        }

    def _event(self, payload: Any, at: datetime) -> Envelope[Any]:
        return new_event(payload, center_id=self.center_id, producer="intake", occurred_at=at)

    def received(
        self, at: datetime, amount: int = 3, unit: str = "working_days", rollover: bool = False
    ) -> Envelope[Any]:
        limit = TimeLimitSnapshot(amount=amount, unit=unit, rollover=rollover)  # type: ignore[arg-type]
        return self._event(
            DossierReceived(
                **self._facts(2),
                line_code=self.line_code,
                received_at=at,
                channel="counter",
                time_limit=limit,
                appointment_at=at,
            ),
            at,
        )

    def assigned(self, at: datetime, assignee: str, department: str | None = None) -> Envelope[Any]:
        return self._event(
            DossierAssigned(**self._facts(3), assignee=assignee, department=department), at
        )

    def supplement_requested(self, at: datetime) -> Envelope[Any]:
        return self._event(DossierSupplementRequested(**self._facts(5), reason="thiếu giấy tờ"), at)

    def supplement_provided(self, at: datetime) -> Envelope[Any]:
        return self._event(DossierSupplementProvided(**self._facts(3)), at)

    def financial_notified(self, at: datetime) -> Envelope[Any]:
        return self._event(DossierFinancialObligationNotified(**self._facts(6)), at)

    def financial_fulfilled(self, at: datetime) -> Envelope[Any]:
        return self._event(DossierFinancialObligationFulfilled(**self._facts(3)), at)

    def resolved(self, at: datetime) -> Envelope[Any]:
        return self._event(DossierResolved(**self._facts(9), outcome="approved"), at)

    def withdrawn(self, at: datetime) -> Envelope[Any]:
        return self._event(DossierWithdrawn(**self._facts(8)), at)

    def stopped(self, at: datetime) -> Envelope[Any]:
        return self._event(DossierStopped(**self._facts(8), reason="không đủ điều kiện"), at)


async def migrate(conn: asyncpg.Connection) -> None:
    """Apply the service's migrations and point the connection at its schema."""
    await migrations.apply(conn, "deadlines", migrations.plan(Path(MIGRATIONS)))
    await conn.execute('SET search_path TO "deadlines", public')


async def apply(
    conn: asyncpg.Connection, *events: Envelope[Any], calendars: Calendars | None = None
) -> None:
    """Apply events as the consumer would: each in the transaction of its batch."""
    cals = calendars or Calendars()
    async with conn.transaction():
        for event in events:
            await apply_dossier_event(conn, event, calendars=cals, policy=POLICY)


async def extend(conn: asyncpg.Connection, d: Dossier, days: int, at: datetime) -> None:
    """Grant the dossier's clock an extension of ``days`` working days at ``at``."""
    async with conn.transaction():
        row = await usecases.clock_of(conn, d.dossier_id, lock=True)
        await usecases.grant_extension(
            conn,
            row,
            d.dossier_id,
            Extension(days, TimeUnit.WORKING_DAYS, at, "xác minh"),
            calendars=Calendars(),
            policy=POLICY,
        )


async def outbox_events(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every event waiting in the outbox, oldest first (the relay is not running here)."""
    rows = await conn.fetch("SELECT payload FROM deadlines.outbox ORDER BY id")
    return [json.loads(bytes(r[0])) for r in rows]


def kinds_of(events: Iterable[dict[str, Any]], dossier: Dossier) -> list[str]:
    out = []
    for e in events:
        if e["data"]["dossier_id"] == str(dossier.dossier_id):
            kind = e["event_type"].removeprefix("deadline.")
            if kind == "approaching":
                kind += ":" + e["data"]["threshold"]
            out.append(kind)
    return out


def only(
    events: Iterable[dict[str, Any]], pick: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    found = [e for e in events if pick(e)]
    assert len(found) == 1, found
    return found[0]
