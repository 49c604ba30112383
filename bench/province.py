"""Benchmark: the leaders' reports at province scale.

One deadlines database holds a province's history: 150 centers, 5,000,000 dossiers closed
over a year and a half and 50,000 still open, loaded with COPY straight into the service's
own tables (after its migrations): clocks, their facts (closures, supplement pauses),
ratings, the forecast's durations, procedure names and centers. Then the real service runs
as its own process and is measured over HTTP by a few concurrent clients:

1. **One center's on-time report** over a year (``GET /v1/statistics/on-time?center=``) and
   its **dashboard** page (``GET /dashboard``, the current month, as a leader sees it):
   p50 and p99 over the 150 centers in turn. Goal: p99 < 300 ms.
2. **The province over a year**: the scorecard (``GET /v1/reports/score766``) when the
   service has it, else "not measured: route absent"; and the all-centers on-time report
   (``GET /v1/statistics/on-time`` without a center, the province role). Goal: < 2 s.
3. **Overdue-flag lag** with all of that in the table: a batch of open clocks falls due a
   few seconds ahead; lag = arrival of ``deadline.overdue`` on the broker minus ``due_at``.
   Goal: p99 < 1 s.
4. **Storage**: ``pg_total_relation_size`` of the tables the history fills, per million
   dossiers.

The size is ``MOTCUA_BENCH_PROVINCE_DOSSIERS`` closed dossiers (default 5,000,000) and
``MOTCUA_BENCH_PROVINCE_OPEN`` open ones (default 50,000), for a quick run::

    MOTCUA_BENCH_PROVINCE_DOSSIERS=200000 python -m bench --brokers=tansu province
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any, NamedTuple

import asyncpg

from bench.deadlines import BusWatch
from bench.http_load import HttpLoad, closed_loop, expect
from bench.http_load import loop_factory as loop_factory
from bench.launch import AUTH_SECRET, running, service_env
from motcua.devtools.backends import Servers, fresh_database, fresh_kafka
from motcua.services.deadlines.app import MIGRATIONS
from motcua.shared import migrations
from motcua.shared.auth import Role, issue_token

CENTERS = 150
HISTORY_DAYS = 548  # a year and a half of closed dossiers
OPEN_DAYS = 30  # the open ones were received in the last month
COPY_CHUNK = 100_000
CLIENTS = 4  # concurrent HTTP clients
CENTER_REQUESTS = 300  # per route: the 150 centers twice
PROVINCE_REQUESTS = 8
LAG_CLOCKS = 2_000  # due over 10 s, 200 per second
# The clocks' triggers that keep daily summaries (deadlines migration 0008).
SUMMARY_TRIGGERS = ("clocks_on_time_insert_delete", "clocks_on_time_update")
LOCAL = timedelta(hours=7)  # Asia/Ho_Chi_Minh, no daylight saving
GOALS = {
    "center_report_p99_ms": "< 300",
    "dashboard_p99_ms": "< 300",
    "province_score766_year_p99_ms": "< 2000",
    "overdue_lag_bus_p99_ms": "< 1000",
}
# How often each procedure of the registry's catalog is asked for at a ward center:
# certified copies are most of the work, then civil status, then residence.
MIX = {
    "CT-BANSAO": 40,
    "CT-BANSAO-NHIEU": 4,
    "HT-TRICHLUC": 10,
    "HT-KHAISINH": 10,
    "HT-KETHON": 4,
    "HT-KETHON-XACMINH": 1,
    "HT-XNTTHN": 9,
    "HT-XNTTHN-XACMINH": 1,
    "LT-KHAISINH-THUONGTRU-BHYT": 6,
    "CUTRU-THUONGTRU": 5,
    "CUTRU-TAMTRU": 10,
}


@dataclass(frozen=True)
class Size:
    closed: int
    open: int
    centers: int = CENTERS

    @classmethod
    def of(cls, env: Mapping[str, str]) -> Size:
        return cls(
            closed=int(env.get("MOTCUA_BENCH_PROVINCE_DOSSIERS") or 5_000_000),
            open=int(env.get("MOTCUA_BENCH_PROVINCE_OPEN") or 50_000),
        )


@dataclass(frozen=True)
class Procedure:
    code: str
    line: str
    days: int  # the legal limit in working days (0: the same day)
    name_vi: str
    name_en: str


def catalog() -> list[Procedure]:
    """The registry's packaged province catalog, which the mix above weighs."""
    text = resources.files("motcua.services.registry.data").joinpath("procedures.json")
    found = json.loads(text.read_text(encoding="utf-8"))["procedures"]
    return [
        Procedure(
            p["code"], p["line_code"], p["time_limit"]["amount"], p["name"]["vi"], p["name"]["en"]
        )
        for p in found
        if p["code"] in MIX
    ]


def center_ids(n: int) -> list[str]:
    """Registry-style center ids (lower-case, digits and ``-``), the pilot's first."""
    return ["nam-cuong", *(f"phuong-{i:03d}" for i in range(2, n + 1))][:n]


def late_rates(centers: Sequence[str], rng: random.Random) -> dict[str, float]:
    """Each center's share of late dossiers: most are good, a few are not."""
    return {c: rng.choice((0.01, 0.02, 0.03, 0.05, 0.08, 0.15)) for c in centers}


def _working_day(day: date, back: bool = False) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=-1 if back else 1)
    return day


def _at(day: date, hours: float) -> datetime:
    """A local time of day on ``day``, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hours) - LOCAL


def _due(received: datetime, days: int) -> datetime:
    """End of the working day ``days`` working days after receipt (weekends skipped; the
    holidays' few days are left out of a benchmark's data)."""
    day = (received + LOCAL).date()
    for _ in range(days):
        day = _working_day(day + timedelta(days=1))
    return _at(day, 17)


class Dossier(NamedTuple):
    """One dossier of the synthetic history; ``outcome`` None while open."""

    n: int
    id: str  # dossier_id(n)
    center: str
    procedure: Procedure
    received_at: datetime
    due_at: datetime
    closed_kind: str | None
    closed_at: datetime | None
    outcome: str | None
    supplements: int  # supplement requests (pauses) before it closed
    rating: int | None


def history(size: Size, now: datetime, seed: int = 18) -> Iterator[Dossier]:
    """``size.closed`` closed dossiers received over the last year and a half, then
    ``size.open`` open ones received in the last month; every center in turn, the
    procedures in the registry's mix, lateness by the center's rate."""
    rng = random.Random(seed)
    centers = center_ids(size.centers)
    rates = late_rates(centers, rng)
    # The mix as a deck to draw from: one draw per dossier, cheaper than random.choices.
    deck = [p for p in catalog() for _ in range(MIX[p.code])]
    today = (now + LOCAL).date()
    # Each day's start, and each (day, limit)'s due instant, worked out once, not per dossier.
    days = [_at(_working_day(today - timedelta(days=b), back=True), 0) for b in range(HISTORY_DAYS)]
    dues: dict[tuple[int, int], datetime] = {}
    for n in range(size.closed + size.open):
        closed = n < size.closed
        center = centers[n % len(centers)]
        p = deck[int(rng.random() * len(deck))]
        r = rng.random()
        back = (
            OPEN_DAYS + 1 + int(r * (HISTORY_DAYS - OPEN_DAYS - 1))
            if closed
            else int(r * OPEN_DAYS)
        )
        received = days[back] + timedelta(seconds=27_000 + 32_400 * rng.random())  # 7:30-16:30
        due = dues.get((back, p.days))
        if due is None:
            due = dues[back, p.days] = _due(received, p.days)
        draw = rng.random()
        supplements = 0 if draw < 0.9 else 1 if draw < 0.98 else 2
        if not closed:
            yield Dossier(
                n, dossier_id(n), center, p, received, due, None, None, None, supplements, None
            )
            continue
        if rng.random() < 0.015:
            at = received + (due - received) * rng.random()
            yield Dossier(
                n, dossier_id(n), center, p, received, due, "withdrawn", at, None, supplements, None
            )
            continue
        draw = rng.random()
        if draw < rates[center]:
            outcome, at = "late", due + timedelta(hours=rng.uniform(1, 240))
        elif draw < 0.75:
            outcome, at = "early", received + (due - received) * rng.uniform(0.05, 0.8)
        else:
            outcome, at = "on_time", due - (due - received) * rng.uniform(0, 0.15)
        rating = rng.choice((1, 2, 3, 4, 4, 5, 5, 5)) if rng.random() < 0.15 else None
        yield Dossier(
            n, dossier_id(n), center, p, received, due, "resolved", at, outcome, supplements, rating
        )


# ----------------------------------------------------------- rows, in COPY order

CLOCK_COLUMNS = (
    "dossier_id", "center_id", "dossier_code", "procedure_code", "line_code", "received_at",
    "receipt_occurred_at", "limit_amount", "limit_unit", "limit_rollover", "appointment_at",
    "started_at", "due_at", "budget_seconds", "schedule", "next_fire_at", "status",
    "status_at", "adjusted", "closed_kind", "closed_at", "outcome", "working_seconds_late",
    "assignee", "assigned_at",
    # What the 766 scorecard reads on each clock (migration 0006).
    "channel", "supplement_requests", "has_component", "scanned_component",
    "reused_component", "has_result", "rating",
)  # fmt: skip
FACT_COLUMNS = ("fact_id", "dossier_id", "kind", "channel", "occurred_at", "recorded_at")
RATING_COLUMNS = ("dossier_id", "center_id", "rating", "rated_on", "rated_at")
DURATION_COLUMNS = (
    "dossier_id", "center_id", "procedure_code", "resolved_at", "working_seconds",
)  # fmt: skip


# Ids as text (asyncpg encodes a uuid from its text form, and making a UUID object per row
# costs the generator a third of its time); distinct by construction, not by chance.
def dossier_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012x}"


def _fact_id(n: int, k: int) -> str:
    return f"00000000-0000-4000-9000-{n * 8 + k:012x}"


def clock_row(d: Dossier) -> tuple[Any, ...]:
    open_ = d.closed_kind is None
    late_s = 0
    if d.outcome == "late" and d.closed_at is not None:
        late_s = int((d.closed_at - d.due_at).total_seconds() * 8 / 24)  # working hours
    return (
        d.id, d.center, f"{d.center[:2].upper()}-{d.n:08d}", d.procedure.code,
        d.procedure.line, d.received_at, d.received_at, d.procedure.days, "working_days",
        True, d.due_at, d.received_at, d.due_at, max(d.procedure.days, 1) * 8 * 3600,
        [("overdue", d.due_at, 0, d.due_at)] if open_ else [], d.due_at if open_ else None,
        3 if open_ else 6, d.closed_at or d.received_at, d.supplements > 0, d.closed_kind,
        d.closed_at, d.outcome, late_s, f"can-bo-{d.n % 6}", d.received_at,
        *_scorecard_flags(d),
    )  # fmt: skip


def _scorecard_flags(d: Dossier) -> tuple[Any, ...]:
    """The scorecard's columns, by the dossier's number rather than by drawing (the history's
    random stream stays as it was): a fifth filed online, a third of the counter's
    components scanned, one in seven reused, half the resolved ones with a result file."""
    online = d.n % 5 == 0
    return (
        "online" if online else "counter", d.supplements, True, not online and d.n % 3 == 0,
        d.n % 7 == 0, d.closed_kind == "resolved" and d.n % 2 == 0, d.rating,
    )  # fmt: skip


def fact_rows(d: Dossier) -> Iterator[tuple[Any, ...]]:
    """Its supplement pauses (a day each, in the first half of its time) and its closure."""
    end = d.closed_at or d.due_at
    for k in range(d.supplements):
        start = d.received_at + (end - d.received_at) * (0.1 + 0.2 * k)
        yield (_fact_id(d.n, 2 * k), d.id, "pause_start", "supplement", start, start)
        back = start + (end - d.received_at) * 0.1
        yield (_fact_id(d.n, 2 * k + 1), d.id, "pause_end", "supplement", back, back)
    if d.closed_kind is not None and d.closed_at is not None:
        yield (_fact_id(d.n, 7), d.id, d.closed_kind, None, d.closed_at, d.closed_at)


def rating_row(d: Dossier) -> tuple[Any, ...] | None:
    if d.rating is None or d.closed_at is None:
        return None
    return (d.id, d.center, d.rating, (d.closed_at + LOCAL).date(), d.closed_at)


def duration_row(d: Dossier) -> tuple[Any, ...] | None:
    if d.closed_kind != "resolved" or d.closed_at is None:
        return None
    seconds = int((d.closed_at - d.received_at).total_seconds() * 8 / 24)
    return (d.id, d.center, d.procedure.code, d.closed_at, seconds)


class _Table:
    """Rows for one table, sent with COPY a chunk at a time on a connection of its own: a
    chunk is on its way (encoded and sent by asyncpg, written by PostgreSQL) while the next
    one is generated, so the generator and the server work on both cores at once."""

    def __init__(self, conn: asyncpg.Connection, name: str, columns: Sequence[str]) -> None:
        self.conn, self.name, self.columns = conn, name, columns
        self.rows: list[tuple[Any, ...]] = []
        self.count = 0
        self._sending: asyncio.Task[str] | None = None

    async def add(self, rows: Iterable[tuple[Any, ...] | None]) -> None:
        self.rows.extend(r for r in rows if r is not None)
        if len(self.rows) >= COPY_CHUNK:
            await self.send()

    async def send(self) -> None:
        await self.sent()
        if self.rows:
            chunk, self.rows = self.rows, []
            self.count += len(chunk)
            self._sending = asyncio.create_task(
                self.conn.copy_records_to_table(self.name, records=chunk, columns=self.columns)
            )
            await asyncio.sleep(0)  # let it start

    async def sent(self) -> None:
        if self._sending is not None:
            await self._sending
            self._sending = None


async def _secondary_indexes(conn: asyncpg.Connection, tables: Sequence[str]) -> list[str]:
    """The definitions of the tables' indexes that back no constraint (the service's own, as
    its migrations made them), to drop for the load and build again after: one sort per
    index is much quicker than 5,000,000 insertions into each."""
    rows = await conn.fetch(
        """SELECT i.indexdef FROM pg_indexes i
           WHERE i.schemaname = 'deadlines' AND i.tablename = ANY($1::text[])
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
        list(tables),
    )
    return [r[0] for r in rows]


async def load(db_url: str, size: Size, now: datetime) -> dict[str, Any]:
    """The whole history into the deadlines schema, with COPY; rows per table and timing."""
    names = {
        "clocks": CLOCK_COLUMNS,
        "clock_facts": FACT_COLUMNS,
        "ratings": RATING_COLUMNS,
        "forecast_durations": DURATION_COLUMNS,
    }
    conns = [await _connect(db_url) for _ in names]
    try:
        conn = conns[0]
        indexes = await _secondary_indexes(conn, list(names))
        for definition in indexes:
            name = definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
            await conn.execute(f"DROP INDEX {name}")
        # The summaries' triggers (the on-time days and the scorecard's) would run once per
        # copied clock; they are off for the COPY, and each summary is rebuilt from the
        # clocks in one statement after it (the service keeps them from then on).
        await conn.execute("ALTER TABLE clocks DISABLE TRIGGER USER")
        started = time.perf_counter()
        tables = [_Table(c, n, cols) for c, (n, cols) in zip(conns, names.items(), strict=True)]
        clocks, facts, ratings, durations = tables
        total = size.closed + size.open
        outcomes: Counter[str] = Counter()
        for d in history(size, now):
            outcomes[d.outcome or d.closed_kind or "open"] += 1
            await clocks.add((clock_row(d),))
            await facts.add(fact_rows(d))
            await ratings.add((rating_row(d),))
            await durations.add((duration_row(d),))
            if (d.n + 1) % 500_000 == 0:
                rate = (d.n + 1) / (time.perf_counter() - started)
                print(f"   loaded {d.n + 1:>9,} of {total:,} dossiers ({rate:,.0f}/s)", flush=True)
        for table in tables:
            await table.send()
            await table.sent()
        centers = center_ids(size.centers)
        await conn.copy_records_to_table(
            "centers",
            records=[(c, f"Phường {c}") for c in centers],
            columns=("center_id", "name"),
        )
        await conn.copy_records_to_table(
            "procedure_names",
            records=[(c, p.code, p.name_vi, p.name_en) for c in centers for p in catalog()],
            columns=("center_id", "procedure_code", "name_vi", "name_en"),
        )
        copied = time.perf_counter() - started
        summarised = time.perf_counter()
        await conn.execute("SELECT on_time_rebuild()")
        for trigger in SUMMARY_TRIGGERS:
            await conn.execute(f"ALTER TABLE clocks ENABLE TRIGGER {trigger}")
        summary_s = time.perf_counter() - summarised
        indexed = time.perf_counter()
        await asyncio.gather(*(_run(c, indexes[k :: len(conns)]) for k, c in enumerate(conns)))
        indexed_s = time.perf_counter() - indexed
        summed = time.perf_counter()
        await conn.execute("SELECT scorecard_rebuild()")
        await conn.execute("ALTER TABLE clocks ENABLE TRIGGER USER")
        summed_s = time.perf_counter() - summed
        analyzed = time.perf_counter()
        # Steady state, as autovacuum would leave it: statistics, hint bits, visibility map.
        await conn.execute("VACUUM ANALYZE")
    finally:
        for c in conns:
            await c.close()
    rows = sum(t.count for t in tables)
    return {
        "load_rows": {t.name: t.count for t in tables},
        "outcomes": dict(outcomes),
        "load_copy_s": round(copied, 1),
        "load_rows_per_s": round(rows / copied),
        "load_dossiers_per_s": round(total / copied),
        "load_summary_s": round(summary_s, 1),
        "load_index_s": round(indexed_s, 1),
        "load_scorecard_summary_s": round(summed_s, 1),
        "load_vacuum_analyze_s": round(time.perf_counter() - analyzed, 1),
        "load_total_s": round(time.perf_counter() - started, 1),
    }


async def _run(conn: asyncpg.Connection, statements: Sequence[str]) -> None:
    for statement in statements:
        await conn.execute(statement)


async def _connect(db_url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(db_url)
    await conn.execute('SET search_path TO "deadlines", public')
    # Index builds sort in memory rather than in temporary files.
    await conn.execute("SET maintenance_work_mem = '256MB'")
    return conn


async def storage(conn: asyncpg.Connection, dossiers: int) -> dict[str, Any]:
    """Bytes on disk (tables, indexes, TOAST) per million dossiers."""
    sizes = {
        r[0]: r[1]
        for r in await conn.fetch(
            """SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'deadlines' AND c.relkind = 'r'"""
        )
    }
    per_million = sum(sizes.values()) / (dossiers / 1e6)
    return {
        "storage_mib_by_table": {t: round(b / 2**20, 1) for t, b in sorted(sizes.items()) if b},
        "storage_mib_per_million_dossiers": round(per_million / 2**20, 1),
    }


# ----------------------------------------------------------------- over HTTP


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _bearer(center: str, role: Role) -> dict[str, str]:
    token = issue_token(AUTH_SECRET, center_id=center, subject="bench", role=role)
    return {"Authorization": f"Bearer {token}"}


async def _timed(
    http: HttpLoad, name: str, paths: Sequence[tuple[str, Mapping[str, str]]], clients: int
) -> dict[str, Any]:
    """``paths`` (each with its headers) from ``clients`` closed loops; p50 and p99."""

    async def send(k: int) -> None:
        path, headers = paths[k]
        expect(await http.get(path, headers), 200)

    total = len(paths) - len(paths) % clients
    seconds, latencies = await closed_loop(total, clients, send)
    print(f"   {name}: {total} requests in {seconds:.1f} s", flush=True)
    return {
        f"{name}_p50_ms": round(statistics.median(latencies), 1),
        f"{name}_p99_ms": round(_pct(latencies, 0.99), 1),
    }


async def reports(url: str, centers: Sequence[str], now: datetime) -> dict[str, Any]:
    """The leaders' reads, one center's and the province's, over HTTP."""
    today = (now + LOCAL).date()
    year = f"from={today - timedelta(days=364)}&to={today}"
    province = _bearer(centers[0], "province")
    figures: dict[str, Any] = {"clients": CLIENTS}
    async with HttpLoad(url, connections=CLIENTS) as http:
        turns = [centers[k % len(centers)] for k in range(CENTER_REQUESTS)]
        leaders = {c: _bearer(c, "leader") for c in centers}
        reads = [(f"/v1/statistics/on-time?center={c}&{year}", leaders[c]) for c in turns]
        await _timed(http, "warm_up", reads[: len(centers)], CLIENTS)  # the caches, once
        figures |= await _timed(http, "center_report", reads, CLIENTS)
        pages = [(f"/dashboard?center={c}", leaders[c]) for c in turns]
        figures |= await _timed(http, "dashboard", pages, CLIENTS)
        scorecard = f"/v1/reports/score766?province=1&{year}"
        if (await http.get(scorecard, province)).status == 404:
            figures["province_score766_year_p99_ms"] = "not measured: route absent"
        else:
            figures |= await _timed(
                http, "province_score766_year", [(scorecard, province)] * PROVINCE_REQUESTS, 2
            )
        figures |= await _timed(
            http,
            "province_on_time_year",
            [(f"/v1/statistics/on-time?{year}", province)] * PROVINCE_REQUESTS,
            2,
        )
    return figures


async def overdue_lag(conn: asyncpg.Connection, bus: BusWatch, size: Size) -> dict[str, Any]:
    """Open clocks falling due 5 to 15 s from now, 200 a second, among all the others."""
    start = datetime.now(UTC) + timedelta(seconds=5)
    procedure = catalog()[0]
    centers = center_ids(size.centers)
    batch = [
        Dossier(
            n=size.closed + size.open + i,
            id=dossier_id(size.closed + size.open + i),
            center=centers[i % len(centers)],
            procedure=procedure,
            received_at=start - timedelta(hours=2),
            due_at=start + timedelta(milliseconds=5 * i),
            closed_kind=None,
            closed_at=None,
            outcome=None,
            supplements=0,
            rating=None,
        )
        for i in range(LAG_CLOCKS)
    ]
    await conn.copy_records_to_table(
        "clocks", records=[clock_row(d) for d in batch], columns=CLOCK_COLUMNS
    )
    ids = {d.id for d in batch}
    deadline = time.monotonic() + 120
    while bus.count(ids) < len(ids):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{bus.count(ids)} of {len(ids)} overdue flags on the bus")
        await asyncio.sleep(0.1)
    lags = [bus.arrivals[i][0] - bus.arrivals[i][1].timestamp() for i in ids]
    return {
        "overdue_lag_clocks": LAG_CLOCKS,
        "overdue_lag_bus_p50_ms": round(statistics.median(lags) * 1000, 1),
        "overdue_lag_bus_p99_ms": round(_pct(lags, 0.99) * 1000, 1),
    }


async def run(servers: Servers) -> dict[str, Any]:
    size = Size.of(os.environ)
    now = datetime.now(UTC)
    kafka = await fresh_kafka(servers, quick_join=False, prefix="bench")
    figures: dict[str, Any] = {
        "centers": size.centers,
        "closed_dossiers": size.closed,
        "open_dossiers": size.open,
    }
    async with fresh_database(servers, prefix="bench_province") as db_url:
        conn = await asyncpg.connect(db_url)
        try:
            await migrations.apply(conn, "deadlines", migrations.plan(MIGRATIONS))
            await conn.execute('SET search_path TO "deadlines", public')
            figures |= await load(db_url, size, now)
            figures |= await storage(conn, size.closed + size.open)
            bus = BusWatch(kafka)
            await bus.start()
            try:
                env = service_env(kafka, db_url)
                async with running("deadlines", env) as service:
                    figures |= await reports(service.url, center_ids(size.centers), now)
                    figures |= await overdue_lag(conn, bus, size)
            finally:
                await bus.stop()
        finally:
            await conn.close()
    figures["goals"] = GOALS
    return figures
