"""A living center for ``motcua dev --simulate``: citizens arrive, clerks call and
serve them, dossiers are received and resolved, all through the public APIs.

Time is compressed by ``factor``: a 10-minute service takes 10 s at factor 60.
Arrivals follow the working day's shape (a morning peak) on a virtual clock that
runs ``factor`` times faster than the wall clock. Recent history (with a few late
and overdue dossiers) is loaded first as clerk-app commands, so the leaders'
dashboard has something to show at once.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from motcua.shared.auth import issue_token
from motcua.shared.calendar import WorkingCalendar
from motcua.shared.logging import get_logger
from motcua.shared.reference.priority import PRIORITY_REASONS
from motcua.shared.settings import KafkaSettings
from motcua.simulator.replay import Progress, commands, publish
from motcua.simulator.workload import Scenario, plan_center

log = get_logger(__name__)

# Per service line (the codes of motcua.shared.reference.lines): which intake procedures
# a ticket may turn into, how often citizens come for it and how long serving takes.
PROCEDURES_BY_LINE: dict[str, list[str]] = {
    "justice": ["CT-BANSAO", "CT-BANSAO", "CT-BANSAO", "HT-KHAISINH", "HT-TRICHLUC", "HT-XNTTHN"],
    "other": ["CUTRU-TAMTRU", "CUTRU-THUONGTRU"],
}
LINE_WEIGHTS = {"justice": 0.55, "other": 0.15, "land": 0.12, "business": 0.08, "labour": 0.10}
# Of the citizens who come, how many booked a time instead of queueing at the kiosk, and
# how many of those never come (no-shows on the dashboard).
BOOKED_SHARE = 0.25
BOOKED_MISSED = 0.1
SERVICE_MINUTES = {"justice": 8, "other": 10, "land": 18, "business": 14, "labour": 12}


def arrivals_per_hour(local_hour: float) -> float:
    """A ward center's day: a morning peak, a lunch pause, a smaller afternoon."""
    if 7.5 <= local_hour < 9.5:
        return 45.0
    if 9.5 <= local_hour < 11.5:
        return 30.0
    if 13.5 <= local_hour < 15.0:
        return 25.0
    if 15.0 <= local_hour < 17.0:
        return 15.0
    return 0.0


@dataclass
class LiveSimulation:
    queue_url: str
    intake_url: str
    kafka: KafkaSettings
    auth_secret: str
    center_id: str = "nam-cuong"
    factor: float = 60.0
    seed: int | None = None
    counters: tuple[str, ...] = ("Q1", "Q2", "Q3", "Q4", "Q5")
    rng: random.Random = field(default_factory=random.Random)
    received: list[tuple[uuid.UUID, str, datetime]] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    booked: set[asyncio.Task[None]] = field(default_factory=set)  # citizens on their way
    # The services' clock, which bookings follow (a test freezes both).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.seed is not None:
            self.rng.seed(self.seed)
        cal = WorkingCalendar.default()
        self.cal = cal
        # The virtual day starts at opening time, whatever the wall clock says.
        self.virtual_start = datetime.now(cal.tz).replace(hour=7, minute=30, second=0)
        self.wall_start = datetime.now(UTC)

    def virtual_hour(self) -> float:
        elapsed = (datetime.now(UTC) - self.wall_start) * self.factor
        v = self.virtual_start + elapsed
        return v.hour + v.minute / 60 if v.hour < 17 else 7.5 + (v.hour - 17) % 10

    def token(self, subject: str, role: str = "clerk") -> str:
        return issue_token(self.auth_secret, center_id=self.center_id, subject=subject, role=role)  # type: ignore[arg-type]

    def bump(self, key: str) -> None:
        self.stats[key] = self.stats.get(key, 0) + 1

    async def load_history(self) -> None:
        now = datetime.now(UTC)
        start = (now - timedelta(days=30)).date()
        scenario = Scenario([self.center_id], start, now)
        scenario.plans = plan_center(
            self.center_id, received=400, in_progress=25, start=start, as_of=now,
            seed=self.seed or 7, cal=self.cal, late=10, overdue=5,
        )  # fmt: skip
        items = commands(scenario, self.seed or 7, self.auth_secret)
        await publish(self.kafka, items, Progress("history", len(items), lambda _line: None))
        log.info("simulation.history_loaded", dossiers=len(scenario.plans))

    async def run(self, duration: float | None = None) -> dict[str, int]:
        """Run until cancelled (or for ``duration`` wall seconds); return what happened."""
        async with httpx.AsyncClient(timeout=10) as client:
            try:
                await self.load_history()
            except Exception as exc:  # the live part is still worth running
                log.warning("simulation.history_failed", error=repr(exc))
            tasks = [asyncio.create_task(self.kiosk(client))]
            tasks += [asyncio.create_task(self.counter(client, c)) for c in self.counters]
            tasks.append(asyncio.create_task(self.officer(client)))
            try:
                if duration is None:
                    await asyncio.gather(*tasks)
                else:
                    await asyncio.sleep(duration)
            finally:
                for t in [*tasks, *self.booked]:
                    t.cancel()
                await asyncio.gather(*tasks, *self.booked, return_exceptions=True)
        return dict(self.stats)

    async def _post(
        self, client: httpx.AsyncClient, url: str, token: str | None, body: Any = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = await client.post(url, json=body if body is not None else {}, headers=headers)
        if r.status_code >= 400:
            self.bump(f"http_{r.status_code}")
            return None
        return r.json() if r.content else None  # 204: e.g. nobody is waiting

    async def kiosk(self, client: httpx.AsyncClient) -> None:
        url = f"{self.queue_url}/centers/{self.center_id}/tickets"
        while True:
            rate = arrivals_per_hour(self.virtual_hour()) * self.factor / 3600  # per wall second
            await asyncio.sleep(self.rng.expovariate(rate) if rate > 0 else 1.0)
            if rate <= 0:
                continue
            line = self.rng.choices(list(LINE_WEIGHTS), weights=list(LINE_WEIGHTS.values()))[0]
            if self.rng.random() < BOOKED_SHARE:
                task = asyncio.create_task(self.booked_citizen(client, line))
                self.booked.add(task)
                task.add_done_callback(self.booked.discard)
                continue
            body: dict[str, Any] = {"line_code": line}
            if self.rng.random() < 0.12:
                body["priority_reason"] = self.rng.choice(PRIORITY_REASONS)
            try:
                if await self._post(client, url, None, body):
                    self.bump("tickets_issued")
            except httpx.HTTPError as exc:
                log.warning("simulation.kiosk_unreachable", error=repr(exc))
                await asyncio.sleep(2)

    async def booked_citizen(self, client: httpx.AsyncClient, line: str) -> None:
        """Book the earliest free slot today, then come and check in at the kiosk as its
        window opens. Bookings run on the services' real clock, not the virtual one: a
        slot is real time. No slot left today: the citizen takes a walk-in ticket."""
        base = f"{self.queue_url}/centers/{self.center_id}"
        try:
            today = self.clock().astimezone(self.cal.tz).date().isoformat()
            r = await client.get(f"{base}/lines/{line}/slots", params={"day": today})
            slots = r.json() if r.status_code == 200 else []
            booking = None
            if slots:
                body = {"line_code": line, "slot_start": slots[0]["start"]}
                booking = await self._post(client, f"{base}/appointments", None, body)
            if not booking:
                if await self._post(client, f"{base}/tickets", None, {"line_code": line}):
                    self.bump("tickets_issued")
                return
            self.bump("appointments_booked")
            if self.rng.random() < BOOKED_MISSED:
                return  # the queue's sweep marks it a no-show once its window closes
            # Come a few minutes into the check-in window (it opens 30 min before).
            start = datetime.fromisoformat(booking["slot_start"])
            arrive = start - timedelta(minutes=25) - self.clock()
            await asyncio.sleep(max(arrive.total_seconds(), 0.0))
            if await self._post(client, f"{base}/appointments/{booking['code']}/check-in", None):
                self.bump("appointments_checked_in")
                self.bump("tickets_issued")  # a check-in is a ticket too
        except httpx.HTTPError as exc:
            log.warning("simulation.booking_unreachable", error=repr(exc))

    async def counter(self, client: httpx.AsyncClient, counter_id: str) -> None:
        token = self.token(f"clerk-{counter_id}")
        base = f"{self.queue_url}/centers/{self.center_id}/counters/{counter_id}"
        while True:
            try:
                await self._post(client, f"{base}/open", token)
                while True:
                    ticket = await self._post(client, f"{base}/call-next", token)
                    if not ticket:
                        await asyncio.sleep(1.0)
                        continue
                    self.bump("tickets_called")
                    await self.serve_ticket(client, token, base, ticket)
            except httpx.HTTPError as exc:
                log.warning("simulation.counter_unreachable", counter=counter_id, error=repr(exc))
                await asyncio.sleep(2)

    async def serve_ticket(
        self, client: httpx.AsyncClient, token: str, base: str, ticket: dict[str, Any]
    ) -> None:
        at = f"{base}/tickets/{ticket['ticket_id']}"
        if self.rng.random() < 0.06:  # nobody comes: recall twice, then no-show
            for _ in range(2):
                await asyncio.sleep(20 / self.factor * 3)
                await self._post(client, f"{at}/recall", token)
            await self._post(client, f"{at}/no-show", token)
            self.bump("no_shows")
            return
        await self._post(client, f"{at}/start", token)
        minutes = SERVICE_MINUTES.get(ticket["line_code"], 10) * self.rng.uniform(0.5, 1.6)
        await asyncio.sleep(minutes * 60 / self.factor)
        dossier_id = None
        procedures = PROCEDURES_BY_LINE.get(ticket["line_code"])
        if procedures and self.rng.random() < 0.7:
            code = self.rng.choice(procedures)
            receipt = await self._post(
                client,
                f"{self.intake_url}/v1/dossiers",
                token,
                {"procedure_code": code, "channel": "counter", "ticket_id": ticket["ticket_id"]},
            )
            if receipt:
                dossier_id = receipt["dossier"]["id"]
                self.received.append((uuid.UUID(dossier_id), code, datetime.now(UTC)))
                self.bump("dossiers_received")
        await self._post(client, f"{at}/finish", token, {"dossier_id": dossier_id})
        self.bump("tickets_served")

    async def officer(self, client: httpx.AsyncClient) -> None:
        token = self.token("officer-1", "officer")
        while True:
            await asyncio.sleep(2.0)
            due_now = [d for d in self.received if self.rng.random() < 0.25]
            for dossier_id, _code, _at in due_now:
                self.received.remove((dossier_id, _code, _at))
                base = f"{self.intake_url}/v1/dossiers/{dossier_id}"
                try:
                    if self.rng.random() < 0.05:
                        await self._post(
                            client, f"{base}/request-supplement", token,
                            {"reason": "Thiếu bản chính giấy khai sinh"},
                        )  # fmt: skip
                        await asyncio.sleep(30 / self.factor * 10)
                        await self._post(client, f"{base}/provide-supplement", token, {})
                    if await self._post(client, f"{base}/resolve", token, {"outcome": "approved"}):
                        self.bump("dossiers_resolved")
                except httpx.HTTPError as exc:
                    log.warning("simulation.intake_unreachable", error=repr(exc))
