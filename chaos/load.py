"""The load generator: kiosks, counters, clerks and citizens driving the public interfaces.

Arrivals are open-loop (a fixed rate whatever the answers take), as real kiosks
and clerks would not slow down because a service is in trouble. Every request
that did not get a definite answer (a dropped connection, a 503, a killed
service) is retried with the same ``Idempotency-Key``, so a retry can never
create a second ticket or dossier; the one non-idempotent request, call-next, is
reconciled by asking the queue which ticket the counter holds. Only confirmed
results enter the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from chaos.ledger import OPS, DossierEntry, Ledger, TicketEntry
from motcua.devtools.stack import CENTER, Stack, token
from motcua.shared.bus.kafka import started
from motcua.shared.events.commands import AssignData, AssignDossier, ReceiveData, ReceiveDossier
from motcua.shared.events.topics import INTAKE_COMMANDS
from motcua.shared.reference.lines import service_lines

LINES = service_lines().codes()
COUNTERS = ("Q1", "Q2", "Q3", "Q4", "Q5")
# Multi-day limits only: nothing due, near-due or overdue may fall inside a run by chance.
PROCEDURES = ("HT-XNTTHN", "CUTRU-TAMTRU", "CUTRU-THUONGTRU", "HT-KETHON-XACMINH")
BACKDATED_PROCEDURE = "CT-BANSAO"  # same working day: weeks overdue when backdated
FLAVOUR_WEIGHTS = {"simple": 3, "supplement": 2, "backdated": 1, "online": 1, "bus": 1}
COUNTER_RECEIPT_SHARE = 0.25  # served tickets that end with a dossier received at the counter
RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass
class Traffic:
    """What the load generator saw on the wire."""

    requests: int = 0
    retries: int = 0
    transport_errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # 5xx other than 503: a bug
    refused: list[str] = field(default_factory=list)  # a 4xx the ledger did not expect
    gave_up: list[str] = field(default_factory=list)  # never got a definite answer
    produced: int = 0

    def problems(self) -> list[str]:
        return [*self.server_errors, *self.refused, *self.gave_up]


class Http:
    """Requests retried until a definite answer or a deadline; every attempt counted."""

    def __init__(self, traffic: Traffic, patience: float) -> None:
        self.traffic = traffic
        self.patience = patience
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(10.0, connect=3.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def call(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        definite: frozenset[int] = frozenset(),
    ) -> httpx.Response | None:
        """The first answer that is not a transient failure, or None after ``patience``.

        ``definite`` lists non-2xx statuses the caller understands (e.g. 409 on a retried
        step); any other 4xx is recorded as refused and returned.
        """
        deadline = time.monotonic() + self.patience
        delay = 0.1
        first = True
        while True:
            if not first:
                self.traffic.retries += 1
            first = False
            self.traffic.requests += 1
            try:
                r = await self.client.request(method, url, json=json, headers=headers)
            except httpx.TransportError as exc:
                self.traffic.transport_errors += 1
                reason = type(exc).__name__
            else:
                self.traffic.statuses[r.status_code] += 1
                if r.status_code < 300 or r.status_code in definite:
                    return r
                if r.status_code >= 500 and r.status_code != 503:
                    self.traffic.server_errors.append(f"{method} {_path(url)} -> {r.status_code}")
                elif r.status_code not in RETRY_STATUSES:
                    self.traffic.refused.append(
                        f"{method} {_path(url)} -> {r.status_code} {r.text[:200]}"
                    )
                    return r
                reason = str(r.status_code)
            if time.monotonic() > deadline:
                self.traffic.gave_up.append(f"{method} {_path(url)} ({reason})")
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def close(self) -> None:
        await self.client.aclose()


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[-1]


def _ok(r: httpx.Response | None) -> bool:
    return r is not None and r.status_code < 300


@dataclass
class LoadFigures:
    seconds: float
    tickets_per_s: float
    dossiers_per_s: float
    tickets: int
    dossiers: int
    requests: int
    commands: int

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class Load:
    """Steady traffic for one scenario; ``start`` it, inject faults, then ``stop`` it."""

    def __init__(
        self,
        stack: Stack,
        ledger: Ledger,
        scenario: str,
        *,
        tickets_per_s: float = 5.0,
        dossiers_per_s: float = 2.0,
        seed: int = 0,
        patience: float = 240.0,
        flavours: dict[str, int] | None = None,
    ) -> None:
        self.stack = stack
        self.ledger = ledger
        self.scenario = scenario
        self.tickets_per_s = tickets_per_s
        self.dossiers_per_s = dossiers_per_s
        self.flavours = flavours or FLAVOUR_WEIGHTS
        self.rng = random.Random(f"{seed}:{scenario}")
        self.traffic = Traffic()
        self.http = Http(self.traffic, patience)
        self.patience = patience
        self._arrivals: list[asyncio.Task[None]] = []
        self._work: set[asyncio.Task[None]] = set()
        self._counters: list[asyncio.Task[None]] = []
        self._arriving = True
        self._started = 0.0
        self._stopped = 0.0
        self._producer: AIOKafkaProducer | None = None
        self._producer_lock = asyncio.Lock()
        # Filled by the counters, merged into the ledger at the end (a ticket can be
        # called before the kiosk's answer reached us).
        self._called: set[uuid.UUID] = set()
        self._served: set[uuid.UUID] = set()
        self._counter_dossiers: dict[uuid.UUID, uuid.UUID] = {}
        self._tickets: list[TicketEntry] = []
        self._dossiers: list[DossierEntry] = []
        self.foreign_tickets: list[uuid.UUID] = []
        self._drawn: set[str] = set()  # phone numbers handed out, confirmed or not

    # ------------------------------------------------------------------ control

    @property
    def queue(self) -> str:
        return self.stack.url("queue")

    @property
    def intake(self) -> str:
        return self.stack.url("intake")

    async def start(self) -> None:
        self._started = time.monotonic()
        self._counters = [asyncio.create_task(self._counter(c)) for c in COUNTERS]
        self._arrivals = [
            asyncio.create_task(self._arrive(self.tickets_per_s, self._issue)),
            asyncio.create_task(self._arrive(self.dossiers_per_s, self._dossier)),
        ]

    async def stop(self) -> LoadFigures:
        """Stop arrivals, let every started script and the counters finish, record."""
        self._arriving = False
        self._stopped = time.monotonic()
        await asyncio.gather(*self._arrivals)
        while self._work:
            await asyncio.gather(*list(self._work))
        await asyncio.gather(*self._counters)
        while self._work:  # counter receipts start scripts of their own
            await asyncio.gather(*list(self._work))
        await self.http.close()
        await self._drop_producer()
        for t in self._tickets:
            if t.ticket_id is not None:
                t.called = t.ticket_id in self._called
                t.served = t.ticket_id in self._served
                t.dossier_id = self._counter_dossiers.get(t.ticket_id)
        known = {t.ticket_id for t in self._tickets}
        self.foreign_tickets = sorted(self._called - known, key=str)
        self.ledger.tickets.extend(self._tickets)
        self.ledger.dossiers.extend(self._dossiers)
        seconds = self._stopped - self._started
        return LoadFigures(
            seconds=seconds,
            tickets_per_s=self.tickets_per_s,
            dossiers_per_s=self.dossiers_per_s,
            tickets=len(self._tickets),
            dossiers=len(self._dossiers),
            requests=self.traffic.requests,
            commands=self.traffic.produced,
        )

    async def _arrive(self, rate: float, spawn: Any) -> None:
        loop = asyncio.get_running_loop()
        start, n = loop.time(), 0
        while self._arriving:
            self._spawn(spawn())
            n += 1
            await asyncio.sleep(max(0.0, start + n / rate - loop.time()))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    # ------------------------------------------------------------------ people

    def phone(self) -> str:
        """A fresh valid Vietnamese mobile number, unique in the whole run."""
        if not self._drawn:
            self._drawn = self.ledger.phones()
        while True:
            phone = "09" + self.rng.choice("0134678") + f"{self.rng.randrange(10**7):07d}"
            if phone not in self._drawn:
                self._drawn.add(phone)
                return phone

    def id_number(self) -> str:
        return "0" + f"{self.rng.randrange(10**11):011d}"  # a 12-digit citizen ID (CCCD)

    # ------------------------------------------------------------------- kiosk

    async def _issue(self) -> None:
        entry = TicketEntry(
            key=uuid.uuid4().hex,
            scenario=self.scenario,
            line=self.rng.choice(LINES),
            phone=self.phone() if self.rng.random() < 0.7 else None,
        )
        body: dict[str, Any] = {"line_code": entry.line}
        if entry.phone:
            body["contact"] = {"kind": "phone", "value": entry.phone, "consent": True}
        r = await self.http.call(
            "POST",
            f"{self.queue}/centers/{CENTER}/tickets",
            json=body,
            headers={"Idempotency-Key": entry.key},
        )
        if _ok(r):
            assert r is not None
            data = r.json()
            entry.ticket_id = uuid.UUID(data["ticket_id"])
            entry.lookup_code = data["lookup_code"]
            self._tickets.append(entry)

    # ----------------------------------------------------------------- counter

    async def _counter(self, counter_id: str) -> None:
        clerk = {"Authorization": f"Bearer {token(subject=f'clerk-{counter_id}')}"}
        base = f"{self.queue}/centers/{CENTER}/counters/{counter_id}"
        await self.http.call("POST", f"{base}/open", headers=clerk, definite=frozenset({409}))
        idle_since: float | None = None
        while True:
            ticket = await self._call_next(base, counter_id, clerk)
            if ticket is None:
                if not self._arriving and not self._work_other_than_counters():
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since > 1.0:
                        return  # nobody waits and nobody is on the way
                await asyncio.sleep(0.2)
                continue
            idle_since = None
            await self._serve(base, counter_id, clerk, ticket)

    def _work_other_than_counters(self) -> bool:
        return any(not t.done() for t in self._work)

    async def _call_next(
        self, base: str, counter_id: str, clerk: dict[str, str]
    ) -> dict[str, Any] | None:
        r = await self.http.call(
            "POST", f"{base}/call-next", headers=clerk, definite=frozenset({409})
        )
        if r is None or r.status_code == 204:
            return None
        if r.status_code == 200:
            ticket: dict[str, Any] = r.json()
            self._called.add(uuid.UUID(ticket["ticket_id"]))
            return ticket
        # 409: the counter already holds a ticket, i.e. an earlier call-next whose answer
        # was lost did commit. Take that one up again.
        return await self._held(counter_id, clerk)

    async def _held(self, counter_id: str, clerk: dict[str, str]) -> dict[str, Any] | None:
        for status in ("called", "serving"):
            r = await self.http.call(
                "GET", f"{self.queue}/centers/{CENTER}/tickets?status={status}", headers=clerk
            )
            if _ok(r):
                assert r is not None
                for ticket in r.json():
                    if ticket["counter_id"] == counter_id:
                        self._called.add(uuid.UUID(ticket["ticket_id"]))
                        return dict(ticket)
        return None

    async def _serve(
        self, base: str, counter_id: str, clerk: dict[str, str], ticket: dict[str, Any]
    ) -> None:
        ticket_id = uuid.UUID(ticket["ticket_id"])
        path = f"{base}/tickets/{ticket_id}"
        if ticket["status"] == "called" and not await self._step(
            f"{path}/start", clerk, ticket["lookup_code"], ("serving", "served")
        ):
            return
        body: dict[str, Any] = {}
        if self.rng.random() < COUNTER_RECEIPT_SHARE:
            dossier = await self._receive_at_counter(ticket_id, counter_id)
            if dossier is not None:
                body = {"dossier_id": str(dossier.dossier_id)}
        if await self._step(f"{path}/finish", clerk, ticket["lookup_code"], ("served",), body):
            self._served.add(ticket_id)
            if body:
                self._counter_dossiers[ticket_id] = uuid.UUID(body["dossier_id"])

    async def _step(
        self,
        url: str,
        clerk: dict[str, str],
        lookup_code: str,
        done: tuple[str, ...],
        body: dict[str, Any] | None = None,
    ) -> bool:
        """A counter step; a 409 on a retry means the first attempt did commit."""
        r = await self.http.call(
            "POST", url, json=body or None, headers=clerk, definite=frozenset({409})
        )
        if r is None:
            return False
        if r.status_code < 300:
            return True
        state = await self.http.call("GET", f"{self.queue}/tickets/{lookup_code}")
        if _ok(state) and state is not None and state.json()["status"] in done:
            return True
        self.traffic.refused.append(f"POST {_path(url)} -> 409 {r.text[:200]}")
        return False

    async def _receive_at_counter(
        self, ticket_id: uuid.UUID, counter_id: str
    ) -> DossierEntry | None:
        phone = next((t.phone for t in self._tickets if t.ticket_id == ticket_id), None)
        entry = self._new_dossier("counter", phone=phone)
        entry.ticket_id = ticket_id
        if not await self._receive(entry):
            return None
        self._spawn(self._lifecycle(entry))
        return entry

    # ----------------------------------------------------------------- intake

    def _new_dossier(self, flavour: str, *, phone: str | None = None) -> DossierEntry:
        return DossierEntry(
            key=uuid.uuid4().hex,
            scenario=self.scenario,
            flavour=flavour,
            procedure=BACKDATED_PROCEDURE
            if flavour == "backdated"
            else self.rng.choice(PROCEDURES),
            phone=phone,
            id_number="" if flavour == "bus" else self.id_number(),
        )

    async def _dossier(self) -> None:
        flavours, weights = zip(*self.flavours.items(), strict=True)
        flavour = self.rng.choices(flavours, weights)[0]
        phone = self.phone() if flavour != "bus" and self.rng.random() < 0.8 else None
        entry = self._new_dossier(flavour, phone=phone)
        if await self._receive(entry):
            await self._lifecycle(entry)

    async def _lifecycle(self, entry: DossierEntry) -> None:
        for op in entry.plan[1:]:
            await asyncio.sleep(self.rng.uniform(0.3, 1.5))
            ok = await (
                self._command(entry, op) if entry.flavour == "bus" else self._act(entry, op)
            )
            if not ok:
                return

    async def _receive(self, entry: DossierEntry) -> bool:
        if entry.flavour == "bus":
            return await self._command(entry, "receive")
        contact = {"kind": "phone", "value": entry.phone} if entry.phone else None
        note = f"CCCD {entry.id_number}"
        if entry.flavour == "online":
            body: dict[str, Any] = {
                "center_id": CENTER,
                "procedure_code": entry.procedure,
                "applicant_name": "Nguyễn Thị Hoa",
                "note": note,
                "contact": contact or {"kind": "email", "value": f"{entry.key[:12]}@mail.vn"},
                "consent_notifications": bool(contact),
            }
            headers = {
                "Idempotency-Key": entry.key,
                "X-Forwarded-For": f"10.{self.rng.randrange(256)}.{self.rng.randrange(256)}.7",
            }
            path = "/v1/public/dossiers"
        else:
            body = {
                "procedure_code": entry.procedure,
                "applicant_name": "Trần Văn Bình",
                "note": note,
                "documents_received": ["Tờ khai"],
                "consent_notifications": bool(contact),
            }
            if contact:
                body["contact"] = contact
            if entry.ticket_id is not None:
                body["ticket_id"] = str(entry.ticket_id)
            role = "clerk"
            if entry.flavour == "backdated":
                role = "admin"
                body["received_at"] = (datetime.now(UTC) - timedelta(days=20)).isoformat()
            headers = {
                "Authorization": f"Bearer {token(role=role)}",
                "Idempotency-Key": entry.key,
            }
            path = "/v1/dossiers"
        r = await self.http.call("POST", f"{self.intake}{path}", json=body, headers=headers)
        if not _ok(r):
            return False
        assert r is not None
        data = r.json()
        # The public route answers flat; the clerks' route answers with the whole dossier.
        dossier = data.get("dossier") or {"id": data["dossier_id"], "code": data["code"]}
        entry.dossier_id, entry.code = uuid.UUID(dossier["id"]), dossier["code"]
        entry.secret = data["secret"]
        entry.done.append("submit" if entry.flavour == "online" else "receive")
        self._dossiers.append(entry)
        return True

    async def _act(self, entry: DossierEntry, op: str) -> bool:
        bodies: dict[str, dict[str, Any]] = {
            "accept": {},
            "assign": {"assignee": "officer-7", "department": "Tư pháp"},
            "request_supplement": {
                "reason": "Thiếu bản sao giấy tờ",
                "missing_documents": ["Bản sao giấy khai sinh"],
            },
            "provide_supplement": {},
            "resolve": {"outcome": "approved"},
            "return": {},
        }
        headers = {
            # An officer's: resolving and returning are not a clerk's (motcua.shared.policy).
            "Authorization": f"Bearer {token(role='officer')}",
            "Idempotency-Key": f"{entry.key}-{op}",
        }
        r = await self.http.call(
            "POST",
            f"{self.intake}/v1/dossiers/{entry.dossier_id}/{OPS[op][0]}",
            json=bodies[op],
            headers=headers,
        )
        if not _ok(r):
            return False
        entry.done.append(op)
        return True

    # ------------------------------------------------------- clerk apps (bus)

    async def _command(self, entry: DossierEntry, op: str) -> bool:
        now = datetime.now(UTC)
        command: ReceiveDossier | AssignDossier
        if op == "receive":
            entry.dossier_id = uuid.uuid4()
        header: dict[str, Any] = {
            "command_id": uuid.uuid4(),
            "center_id": CENTER,
            "issued_by": "clerk-app",
            "issued_at": now,
            "dossier_id": entry.dossier_id,
        }
        if op == "receive":
            command = ReceiveDossier(**header, data=ReceiveData(procedure_code=entry.procedure))
        else:
            command = AssignDossier(**header, data=AssignData(assignee="officer-9"))
        assert entry.dossier_id is not None
        command = command.signed(token(CENTER, subject=command.issued_by))  # proof of author
        if not await self._produce(command.to_bytes(), str(entry.dossier_id).encode()):
            return False
        entry.command_ids.append(command.command_id)
        entry.done.append(op)
        if op == "receive":
            self._dossiers.append(entry)
        return True

    async def _produce(self, value: bytes, key: bytes) -> bool:
        """Send until acknowledged (acks=all); the command id makes a repeat harmless."""
        assert self.stack.kafka is not None
        topic = INTAKE_COMMANDS.topic(self.stack.kafka.topic_prefix)
        deadline = time.monotonic() + self.patience
        while True:
            try:
                producer = await self._ensure_producer()
                await producer.send_and_wait(topic, value, key=key)
                self.traffic.produced += 1
                return True
            except KafkaError as exc:
                self.traffic.transport_errors += 1
                await self._drop_producer()
                if time.monotonic() > deadline:
                    self.traffic.gave_up.append(f"produce {topic} ({type(exc).__name__})")
                    return False
                await asyncio.sleep(0.5)

    async def _ensure_producer(self) -> AIOKafkaProducer:
        assert self.stack.kafka is not None
        async with self._producer_lock:
            if self._producer is None:
                self._producer = await started(
                    AIOKafkaProducer(
                        **self.stack.kafka.client_options() | {"request_timeout_ms": 5000},
                        acks="all",
                        enable_idempotence=False,
                    )
                )
            return self._producer

    async def _drop_producer(self) -> None:
        async with self._producer_lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()
