"""The checker: every entry of the ledger against what each service actually did.

It reads each service's own schema (the effects), the deadline topic (flags must
reach the bus) and the message sink (what citizens received). An effect that is
missing is *lost*; one that happened more often than the ledger allows is
*duplicated*. Repeated deliveries of one event on the bus are fine (consumers
dedupe on ``event_id``) and a repeated send with the same idempotency key is fine
(the gateway dedupes it): neither is counted as a duplicated effect.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka.errors import KafkaError

from chaos.ledger import DossierEntry, Ledger, TicketEntry
from motcua.devtools import bus
from motcua.devtools.sinks import SinkMessage
from motcua.devtools.stack import CENTER, Stack, quiet
from motcua.shared.events.topics import DEADLINES

FLAG_EVENT = {
    "set": "deadline.set",
    "updated": "deadline.updated",
    "closed": "deadline.closed",
    "overdue": "deadline.overdue",
}
ONCE_PER_WAIT = {"turn_soon"}  # may be sent or not, never twice


@dataclass
class Row:
    what: str
    sent: int = 0
    accounted: int = 0
    lost: int = 0
    duplicated: int = 0


@dataclass
class Verdict:
    rows: list[Row]
    problems: list[str] = field(default_factory=list)
    sink_repeats: int = 0  # repeated sends of one message, deduped by the gateway's key

    @property
    def lost(self) -> int:
        return sum(r.lost for r in self.rows)

    @property
    def duplicated(self) -> int:
        return sum(r.duplicated for r in self.rows)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and not self.problems

    def summary(self) -> str:
        parts = [f"{r.what} {r.accounted}/{r.sent}" for r in self.rows]
        return f"{', '.join(parts)}; lost {self.lost}, duplicated {self.duplicated}"


class _Tally:
    """Classifies each expected thing once: accounted, lost or duplicated."""

    def __init__(self, row: Row, problems: list[str]) -> None:
        self.row = row
        self.problems = problems

    def expect(self, name: str, found: int, wanted: int = 1) -> None:
        self.row.sent += wanted
        if found > wanted:
            self.row.duplicated += found - wanted
            self.row.accounted += wanted
            self.problems.append(f"duplicated: {name} x{found} (wanted {wanted})")
        elif found < wanted:
            self.row.lost += wanted - found
            self.row.accounted += found
            self.problems.append(f"lost: {name} ({found} of {wanted})")
        else:
            self.row.accounted += wanted

    def extra(self, name: str, found: int, allowed: int = 0) -> None:
        if found > allowed:
            self.row.duplicated += found - allowed
            self.problems.append(f"unexpected: {name} x{found} (allowed {allowed})")


async def check(stack: Stack, ledger: Ledger) -> Verdict:
    """One pass over the ledger; call :func:`settle` to wait for the system to catch up."""
    problems: list[str] = []
    conn = await asyncpg.connect(stack.db_url)
    try:
        tickets = await _tickets(conn, ledger.tickets, problems)
        dossiers = await _dossiers(conn, ledger.dossiers, problems)
        flags = await _flags(conn, stack, ledger.dossiers, problems)
        notes, repeats = await _notifications(conn, stack, ledger, problems)
    finally:
        await conn.close()
    return Verdict([tickets, dossiers, flags, notes], problems, repeats)


# ------------------------------------------------------------------ tickets


async def _tickets(
    conn: asyncpg.Connection, entries: list[TicketEntry], problems: list[str]
) -> Row:
    row = Row("tickets")
    keys = [t.key for t in entries]
    found = await conn.fetch(
        "SELECT idempotency_key, ticket_id, status, call_count FROM queue.tickets"
        " WHERE center_id = $1 AND idempotency_key = ANY($2::text[])",
        CENTER,
        keys,
    )
    by_key: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for r in found:
        by_key[r["idempotency_key"]].append(r)
    ids = [t.ticket_id for t in entries if t.ticket_id is not None]
    logged: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
    for r in await conn.fetch(
        "SELECT ticket_id, kind, count(*) AS n FROM queue.ticket_log"
        " WHERE ticket_id = ANY($1::uuid[]) GROUP BY 1, 2",
        ids,
    ):
        logged[r["ticket_id"]][r["kind"]] = r["n"]
    served: dict[uuid.UUID, list[asyncpg.Record]] = defaultdict(list)
    for r in await conn.fetch(
        "SELECT ticket_id, dossier_id FROM intake.served_tickets WHERE ticket_id = ANY($1::uuid[])",
        ids,
    ):
        served[r["ticket_id"]].append(r)
    for t in entries:
        local: list[str] = []
        tally = _Tally(Row(""), local)
        rows = by_key.get(t.key, [])
        tally.expect(f"ticket {t.key}", len(rows))
        if rows and rows[0]["ticket_id"] != t.ticket_id:
            local.append(f"ticket {t.key}: id {rows[0]['ticket_id']} != answered {t.ticket_id}")
        status = "served" if t.served else ("serving" if t.called else "waiting")
        if rows and rows[0]["status"] != status:
            local.append(f"ticket {t.ticket_id}: status {rows[0]['status']} (wanted {status})")
        log = logged.get(t.ticket_id, Counter()) if t.ticket_id else Counter()
        tally.expect(f"ticket.issued of {t.ticket_id}", log["ticket.issued"])
        if t.called:
            tally.expect(f"ticket.called of {t.ticket_id}", log["ticket.called"])
        if t.served:
            tally.expect(f"ticket.service_started of {t.ticket_id}", log["ticket.service_started"])
            tally.expect(
                f"ticket.service_completed of {t.ticket_id}", log["ticket.service_completed"]
            )
            links = served.get(t.ticket_id, []) if t.ticket_id else []
            tally.expect(f"served ticket {t.ticket_id} in intake", len(links))
            if links and links[0]["dossier_id"] != t.dossier_id:
                local.append(f"served ticket {t.ticket_id}: dossier {links[0]['dossier_id']}")
        _count(row, tally.row, local, problems)
    return row


def _count(row: Row, one: Row, local: list[str], problems: list[str]) -> None:
    """Fold one entity's tally into its row: accounted only if every effect was right."""
    row.sent += 1
    if one.duplicated:
        row.duplicated += 1
    elif one.lost:
        row.lost += 1
    elif not local:
        row.accounted += 1
    problems.extend(local)


# ----------------------------------------------------------------- dossiers


async def _counts(
    conn: asyncpg.Connection, sql: str, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Counter[str]]:
    """Rows of (dossier_id, what, n), from ``sql`` over ``ids``, as counters per dossier."""
    out: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
    for dossier_id, what, n in await conn.fetch(sql, ids):
        out[dossier_id][what] = n
    return out


async def _dossiers(
    conn: asyncpg.Connection, entries: list[DossierEntry], problems: list[str]
) -> Row:
    row = Row("dossiers")
    ids = [d.dossier_id for d in entries]
    intake = {
        r["id"]: r
        for r in await conn.fetch(
            "SELECT id, status, ticket_id FROM intake.dossiers WHERE id = ANY($1::uuid[])", ids
        )
    }
    history = await _counts(
        conn,
        "SELECT dossier_id, event_type, count(*) AS n FROM intake.dossier_history"
        " WHERE dossier_id = ANY($1::uuid[]) GROUP BY 1, 2",
        ids,
    )
    commands = {
        r["command_key"]: r["outcome"]
        for r in await conn.fetch(
            "SELECT command_key, outcome FROM intake.processed_commands"
            " WHERE command_key = ANY($1::text[])",
            [f"bus:{c}" for d in entries for c in d.command_ids],
        )
    }
    clocks = {
        r["dossier_id"]: r
        for r in await conn.fetch(
            "SELECT dossier_id, received_at, closed_kind FROM deadlines.clocks"
            " WHERE dossier_id = ANY($1::uuid[])",
            ids,
        )
    }
    facts = await _counts(
        conn,
        "SELECT dossier_id, kind, count(*) AS n FROM deadlines.clock_facts"
        " WHERE dossier_id = ANY($1::uuid[]) GROUP BY 1, 2",
        ids,
    )
    known = {
        r["dossier_id"]
        for r in await conn.fetch(
            "SELECT dossier_id FROM notify.dossiers WHERE dossier_id = ANY($1::uuid[])", ids
        )
    }
    for d in entries:
        assert d.dossier_id is not None  # only received dossiers enter the ledger
        local: list[str] = []
        tally = _Tally(Row(""), local)
        name = f"dossier {d.dossier_id} ({d.flavour})"
        found = intake.get(d.dossier_id)
        tally.expect(f"{name} in intake", 1 if found else 0)
        if found and found["status"] != d.status:
            local.append(f"{name}: status {found['status']} (wanted {d.status})")
        if found and d.ticket_id and found["ticket_id"] != d.ticket_id:
            local.append(f"{name}: ticket {found['ticket_id']} (wanted {d.ticket_id})")
        wanted = Counter(d.history())
        got = history.get(d.dossier_id, Counter())
        for event_type in wanted | got:
            tally.expect(f"{name} history {event_type}", got[event_type], wanted[event_type])
        for command in d.command_ids:
            if commands.get(f"bus:{command}") != "applied":
                local.append(f"{name}: command {command} {commands.get(f'bus:{command}')}")
        clock = clocks.get(d.dossier_id)
        # A dossier filed online has a clock (and is known to notify) once accepted.
        received = 1 if {"receive", "accept"} & set(d.done) else 0
        tally.expect(f"{name} clock", 1 if clock and clock["received_at"] else 0, received)
        closed = "resolved" if "resolve" in d.done else None
        if clock and clock["closed_kind"] != closed:
            local.append(f"{name}: clock closed_kind {clock['closed_kind']} (wanted {closed})")
        wanted_facts = d.pauses()
        got_facts = facts.get(d.dossier_id, Counter())
        for kind in wanted_facts | got_facts:
            tally.expect(f"{name} clock fact {kind}", got_facts[kind], wanted_facts[kind])
        tally.expect(f"{name} known to notify", 1 if d.dossier_id in known else 0, received)
        _count(row, tally.row, local, problems)
    return row


# -------------------------------------------------------------------- flags


async def _flags(
    conn: asyncpg.Connection, stack: Stack, entries: list[DossierEntry], problems: list[str]
) -> Row:
    row = Row("deadline flags")
    tally = _Tally(row, problems)
    ids = [d.dossier_id for d in entries]
    rows = await conn.fetch(
        "SELECT dossier_id, kind, due_at, event_id FROM deadlines.flags"
        " WHERE dossier_id = ANY($1::uuid[])",
        ids,
    )
    assert stack.kafka is not None
    on_bus: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)  # dossier -> distinct event ids
    published: set[uuid.UUID] = set()
    wanted_ids = {str(i) for i in ids}
    for rec in await bus.read_topic(stack.kafka, DEADLINES.topic(stack.kafka.topic_prefix)):
        try:
            event = json.loads(rec.value)
            dossier = event["data"]["dossier_id"]
        except (ValueError, KeyError, TypeError, RecursionError):
            continue  # injected garbage
        if not isinstance(dossier, str) or event.get("producer") != "deadlines":
            continue
        if dossier in wanted_ids:
            on_bus[uuid.UUID(dossier)].add(uuid.UUID(event["event_id"]))
            published.add(uuid.UUID(event["event_id"]))
    by_dossier: dict[uuid.UUID, list[asyncpg.Record]] = defaultdict(list)
    for r in rows:
        by_dossier[r["dossier_id"]].append(r)
    for d in entries:
        assert d.dossier_id is not None
        flags = by_dossier.get(d.dossier_id, [])
        kinds = Counter(r["kind"] for r in flags if r["event_id"] in published)
        unpublished = [r["kind"] for r in flags if r["event_id"] not in published]
        if unpublished:
            problems.append(f"flags of {d.dossier_id} not on the bus: {unpublished}")
        for kind, n in d.flags().items():
            tally.expect(f"flag {kind} of {d.dossier_id}", kinds[kind], n)
        for kind, n in kinds.items():
            if kind not in d.flags():
                # approaching/updated flags depend on the wall clock: each once at most
                # per due date, which the flags' key guarantees; count them as accounted.
                row.sent += n
                row.accounted += n
        extra = len(on_bus.get(d.dossier_id, set())) - len(flags)
        tally.extra(f"flag events on the bus without a flag of {d.dossier_id}", extra)
    return row


# ------------------------------------------------------------ notifications


def e164(phone: str) -> str:
    return "+84" + phone[1:]


async def _notifications(
    conn: asyncpg.Connection, stack: Stack, ledger: Ledger, problems: list[str]
) -> tuple[Row, int]:
    row = Row("notifications")
    tally = _Tally(row, problems)
    assert stack.sink is not None
    accepted, delivered = stack.sink.snapshot()
    subjects: list[tuple[uuid.UUID | None, str | None, Counter[str], str]] = [
        (t.ticket_id, t.phone, t.messages(), f"ticket {t.ticket_id}") for t in ledger.tickets
    ] + [(d.dossier_id, d.phone, d.messages(), f"dossier {d.dossier_id}") for d in ledger.dossiers]
    ids = [s[0] for s in subjects if s[0] is not None]
    rows: dict[uuid.UUID, list[asyncpg.Record]] = defaultdict(list)
    for r in await conn.fetch(
        "SELECT id, subject_id, kind, status FROM notify.deliveries"
        " WHERE subject_id = ANY($1::uuid[])",
        ids,
    ):
        rows[r["subject_id"]].append(r)
    for subject_id, phone, wanted, name in subjects:
        if subject_id is None:
            continue
        got: dict[str, list[asyncpg.Record]] = defaultdict(list)
        for r in rows.get(subject_id, []):
            got[r["kind"]].append(r)
        for kind in set(wanted) | set(got):
            records = got.get(kind, [])
            at_sink: list[SinkMessage] = [
                m for r in records if (m := delivered.get(str(r["id"]))) is not None
            ]
            for message in at_sink:
                if phone is None or message.to != e164(phone):
                    problems.append(f"{name} {kind}: sent to the wrong recipient")
            if kind in wanted:
                tally.expect(f"{name} {kind} at the sink", len(at_sink), wanted[kind])
                unsent = [r["status"] for r in records if r["status"] != "sent"]
                if unsent and len(at_sink) < wanted[kind]:
                    problems.append(f"{name} {kind}: delivery {unsent}")
            else:
                allowed = 1 if kind in ONCE_PER_WAIT else 0
                tally.extra(f"{name} {kind}", len(records), allowed)
    return row, accepted - len(delivered)


# -------------------------------------------------------------------- drain


async def settle(
    stack: Stack,
    ledger: Ledger,
    *,
    timeout: float = 180.0,
    patience: float = 45.0,
    say: Any = print,
) -> tuple[Verdict, float]:
    """Wait until nothing is in flight and the ledger balances; give up after ``timeout``,
    or once nothing has changed for ``patience`` seconds (what is missing then stays
    missing). Returns the final verdict and how long the system took to catch up."""
    started = time.monotonic()
    last_report = started
    last_change, last_state = started, ""
    while True:
        try:
            busy = {k: v for k, v in (await quiet(stack)).items() if v}
            verdict = await check(stack, ledger)
        except (OSError, asyncpg.PostgresError, TimeoutError, KafkaError) as exc:
            # A broker still electing leaders, or a database coming back: look again.
            busy, verdict = {"unreachable": 1}, Verdict([], [repr(exc)])
        now = time.monotonic()
        elapsed = now - started
        if not busy and verdict.rows and verdict.lost == 0:
            # Caught up: look once more, so a late duplicate has had its chance too.
            await asyncio.sleep(2.0)
            return await check(stack, ledger), elapsed
        state = f"{busy} {verdict.summary()}"
        if state != last_state:
            last_change, last_state = now, state
        if elapsed > timeout or now - last_change > patience:
            return verdict, elapsed
        if now - last_report > 15:
            last_report = now
            say(f"   catching up ({elapsed:.0f}s): {busy or verdict.summary()}")
        await asyncio.sleep(1.0)
