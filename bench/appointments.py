"""Appointments benchmark: the burst of citizens the minute booking opens for a day.

500 citizens rush for the slots of one line on the day that just opened (the
farthest bookable day), over HTTP against the real service (its own process, outbox
on, relay publishing to the broker): first arriving at random over 10 s (the
issue's "first minute", six times faster), then ``WORKERS`` at every moment (a
harsher stress), each run on an empty day. Each picks a random
listed slot and, when it was taken meanwhile (409), another one, up to three times.
Places are scarcer than citizens, so the race for the last place of a slot is the
normal case, not an exception. Measured: latency per booking request (p50, p99;
goal p99 < 300 ms on 2 cores), bookings per second, and afterwards in the database
that no slot holds more bookings than its places and that each slot's counter
equals its bookings (no double booking, nothing lost).

Baseline in the same run: the same two conditional upserts and the insert as one
raw asyncpg transaction each, at the same concurrency, without HTTP or the service.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from bench.http_load import HttpLoad, HttpStatus, closed_loop, expect
from bench.http_load import loop_factory as loop_factory  # uvloop, as the service runs
from bench.launch import kafka_of, running, service_env
from motcua.devtools.backends import fresh_database
from motcua.services.queue.directory import DEFAULT_FILE
from motcua.shared.bus.kafka import ensure_topics

if TYPE_CHECKING:
    from motcua.devtools.backends import Servers

CENTER = "bench-booking"
LINE = "justice"
CITIZENS = 500
# "500 citizens in the first minute": they arrive over 10 s here, six times the rate.
ARRIVALS_SECONDS = 10.0
WORKERS = 50  # the stress run: citizens booking at every moment
RESERVED_COUNTERS = 5  # places per slot: 30 slots a day x 5 = 150 places for 500 citizens
TRIES = 3
RAW_TOTAL = 500


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def _centers_file(directory: Path) -> Path:
    """The sample center with ten counters serving every line."""
    sample = json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))["centers"][0]
    lines = [line["code"] for line in sample["lines"]]
    counters = [{"counter_id": f"K{i}", "line_codes": lines} for i in range(1, 11)]
    path = directory / "centers.json"
    centers = [sample | {"center_id": CENTER, "counters": counters}]
    path.write_text(json.dumps({"centers": centers}), encoding="utf-8")
    return path


async def _raw_baseline(database_url: str) -> dict[str, float]:
    """One booking as raw SQL: take a place of the slot and of the day, insert the row."""
    pool = await asyncpg.create_pool(database_url, min_size=10, max_size=10)
    try:
        await pool.execute(
            """
            CREATE TABLE IF NOT EXISTS raw_slots (slot int PRIMARY KEY, booked int NOT NULL);
            CREATE TABLE IF NOT EXISTS raw_days (day int PRIMARY KEY, booked int NOT NULL);
            CREATE TABLE IF NOT EXISTS raw_bookings (id uuid PRIMARY KEY, slot int, code text);
            """
        )

        async def book(k: int) -> None:
            slot = random.randrange(30)
            async with pool.acquire() as conn, conn.transaction():
                taken = await conn.fetchval(
                    """
                    INSERT INTO raw_slots AS s VALUES ($1, 1) ON CONFLICT (slot)
                    DO UPDATE SET booked = s.booked + 1 WHERE s.booked < $2 RETURNING booked
                    """,
                    slot,
                    RESERVED_COUNTERS,
                )
                if taken is None:
                    return
                await conn.execute(
                    "INSERT INTO raw_days AS d VALUES (1, 1) ON CONFLICT (day) "
                    "DO UPDATE SET booked = d.booked + 1"
                )
                await conn.execute(
                    "INSERT INTO raw_bookings VALUES ($1, $2, $3)", uuid.uuid4(), slot, f"C{k}"
                )

        elapsed, latencies = await closed_loop(RAW_TOTAL, WORKERS, book)
    finally:
        await pool.close()
    return {
        "raw_bookings_per_s": RAW_TOTAL / elapsed,
        "raw_p99_ms": _pct(latencies, 99),
    }


async def _burst(http: HttpLoad, *, arrivals_over: float | None) -> dict[str, float]:
    """The citizens rush for the day's places. ``arrivals_over``: they arrive at random
    over that many seconds (open loop: nobody waits for another's answer); ``None``:
    ``WORKERS`` of them at every moment (closed loop, the harsher stress)."""
    listed = expect(await http.get(f"/centers/{CENTER}/lines/{LINE}/slots"), 200).json()
    last_day = max(s["start"][:10] for s in listed)  # UTC date of a slot: fine for a choice
    opened = [s["start"] for s in listed if s["start"][:10] == last_day]
    rng = random.Random(7)
    outcomes = {"booked": 0, "taken": 0, "gave_up": 0}
    requests: list[float] = []

    async def citizen(_: int) -> None:
        for _try in range(TRIES):
            body = json.dumps({"line_code": LINE, "slot_start": rng.choice(opened)}).encode()
            t = time.perf_counter()
            answer = await http.post(f"/centers/{CENTER}/appointments", body)
            requests.append((time.perf_counter() - t) * 1000)
            if answer.status == 201:
                outcomes["booked"] += 1
                return
            if answer.status != 409:
                raise HttpStatus(answer)
            outcomes["taken"] += 1
        outcomes["gave_up"] += 1

    started = time.perf_counter()
    if arrivals_over is None:
        await closed_loop(CITIZENS, WORKERS, citizen)
    else:
        at = sorted(rng.uniform(0, arrivals_over) for _ in range(CITIZENS))

        async def arrive(k: int) -> None:
            await asyncio.sleep(max(0.0, started + at[k] - time.perf_counter()))
            await citizen(k)

        async with asyncio.timeout(arrivals_over + 120):
            await asyncio.gather(*(arrive(k) for k in range(CITIZENS)))
    elapsed = time.perf_counter() - started
    return {
        "slots_opened": float(len(opened)),
        "places_opened": float(len(opened) * RESERVED_COUNTERS),
        "booked": float(outcomes["booked"]),
        "refused_409": float(outcomes["taken"]),
        "gave_up_after_3": float(outcomes["gave_up"]),
        "seconds": elapsed,
        "booking_requests_per_s": len(requests) / elapsed,
        "booking_p50_ms": statistics.median(requests),
        "booking_p99_ms": _pct(requests, 99),
    }


async def _reset(database_url: str) -> None:
    """Between the two runs: the same day opens again, empty."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DELETE FROM queue.appointments; DELETE FROM queue.appointment_slots")
    finally:
        await conn.close()


async def _no_double_booking(database_url: str) -> dict[str, float]:
    conn = await asyncpg.connect(database_url)
    try:
        over = await conn.fetchval(
            """
            SELECT count(*) FROM (
                SELECT slot_start FROM queue.appointments
                WHERE center_id = $1 AND status = 'booked'
                GROUP BY slot_start HAVING count(*) > $2) o
            """,
            CENTER,
            RESERVED_COUNTERS,
        )
        drift = await conn.fetchval(
            """
            SELECT count(*) FROM queue.appointment_slots s
            WHERE s.center_id = $1 AND s.booked <> (
                SELECT count(*) FROM queue.appointments a
                WHERE a.center_id = s.center_id AND a.line_code = s.line_code
                  AND a.slot_start = s.slot_start AND a.status = 'booked')
            """,
            CENTER,
        )
        stored = await conn.fetchval(
            "SELECT count(*) FROM queue.appointments WHERE center_id = $1", CENTER
        )
    finally:
        await conn.close()
    return {
        "overbooked_slots": float(over),
        "slot_counters_off": float(drift),
        "bookings_stored": float(stored),
    }


async def run(servers: Servers) -> dict[str, Any]:
    kafka = kafka_of(servers, "ba")
    await ensure_topics(kafka)
    results: dict[str, Any] = {}
    rules = {"reserved_counters": RESERVED_COUNTERS, "daily_cap_per_line": 10_000}
    with tempfile.TemporaryDirectory(prefix="motcua-bench-appointments-") as tmp:
        async with fresh_database(servers, prefix="bench_appointments") as database_url:
            env = service_env(
                kafka,
                database_url,
                MOTCUA_QUEUE_CENTERS_FILE=str(_centers_file(Path(tmp))),
                MOTCUA_QUEUE_APPOINTMENTS=json.dumps(rules),
                MOTCUA_DB_POOL_MAX="20",
            )
            print("appointments: raw asyncpg booking baseline ...", flush=True)
            results |= await _raw_baseline(database_url)
            async with (
                running("queue", env, Path(tmp)) as proc,
                HttpLoad(proc.url, connections=WORKERS) as http,
            ):
                for name, over in (("minute", ARRIVALS_SECONDS), ("stress", None)):
                    how = f"over {over:.0f} s" if over else f"{WORKERS} at a time"
                    print(f"appointments: {CITIZENS} citizens rush, {how} ...", flush=True)
                    burst = await _burst(http, arrivals_over=over)
                    burst |= await _no_double_booking(database_url)
                    results |= {f"{name}_{k}": v for k, v in burst.items()}
                    print(
                        f"appointments:   {burst['booked']:.0f} booked of "
                        f"{burst['places_opened']:.0f} places, p99 "
                        f"{burst['booking_p99_ms']:.1f} ms per booking; overbooked slots "
                        f"{burst['overbooked_slots']:.0f}",
                        flush=True,
                    )
                    await _reset(database_url)
    print(f"appointments:   raw baseline p99 {results['raw_p99_ms']:.1f} ms", flush=True)
    results["load_average_1m"] = round(os.getloadavg()[0], 2)
    results["goal_minute_booking_p99_ms"] = 300
    results["goal_overbooked_slots"] = 0
    return results
