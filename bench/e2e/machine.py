"""What the machine does while a step runs: CPU and memory of each process and of
PostgreSQL, what PostgreSQL's sessions wait on, and the services' own counters."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bench.http_load import HttpLoad, expect
from bench.launch import Proc, cpu_seconds, tree_cpu_seconds


async def consumed(http: HttpLoad, proc: Proc, event_type: str, outcome: str | None = None) -> int:
    """Events of a type a process's consumer took in (Prometheus), of one outcome or all."""
    name = "motcua_events_consumed_total{"
    labels = [f'event_type="{event_type}"'] + ([f'outcome="{outcome}"'] if outcome else [])
    text = expect(await http.get(f"{proc.url}/metrics"), 200).text
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith(name) and all(label in line for label in labels)
    )


def cpu_stall_seconds() -> float:
    """Time some runnable task waited for a CPU (Linux PSI), 0 where not available."""
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return 0.0
    return int(some.rsplit("total=", 1)[1]) / 1e6


async def postmaster_pid(db: asyncpg.Connection) -> int | None:
    """The PostgreSQL server's pid when it runs on this machine (embedded or local)."""
    try:
        return _running_pid(Path(await db.fetchval("SHOW data_directory")) / "postmaster.pid")
    except asyncpg.PostgresError:
        return None


def _running_pid(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().split()[0])
        return pid if Path(f"/proc/{pid}/stat").exists() else None
    except (OSError, ValueError, IndexError):
        return None


WAITS = """
    SELECT wait_event_type, wait_event FROM pg_stat_activity
    WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
"""


@dataclass
class Sampler:
    """While a step runs: peak RSS and CPU share of each process and of PostgreSQL, what
    PostgreSQL's busy sessions wait on, and how long runnable work waited for a CPU."""

    procs: list[Proc]
    db: asyncpg.Connection
    postmaster: int | None
    peak_mib: dict[str, float] = field(default_factory=dict)
    cpu0: dict[str, float] = field(default_factory=dict)
    waits: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    t0: float = 0.0

    def _cpu(self) -> dict[str, float]:
        now = {p.label: p.cpu_seconds() for p in self.procs} | {"bench": cpu_seconds()}
        if self.postmaster is not None:
            now["postgres"] = tree_cpu_seconds(self.postmaster)
        return now | {"stalled": cpu_stall_seconds()}

    def begin(self) -> None:
        self.peak_mib = {p.label: p.rss_mib() for p in self.procs}
        self.cpu0 = self._cpu()
        self.waits.clear()
        self.samples = 0
        self.t0 = time.perf_counter()

    def report(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.t0
        now = self._cpu()
        share = {k: round(100 * (now[k] - self.cpu0[k]) / wall) for k in now}
        seen = sum(self.waits.values())
        return {
            "cpu_pct": {k: v for k, v in share.items() if k != "stalled"},
            "cpu_stalled_pct": share["stalled"],
            "pg_active_sessions_avg": round(seen / max(self.samples, 1), 1),
            "pg_waits_pct": {
                k: round(100 * n / seen) for k, n in self.waits.most_common(4) if seen
            },
        }

    async def run(self) -> None:
        while True:
            for p in self.procs:
                self.peak_mib[p.label] = max(self.peak_mib[p.label], p.rss_mib())
            for r in await self.db.fetch(WAITS):
                self.waits[f"{r[0]}:{r[1]}" if r[0] else "on CPU"] += 1
            self.samples += 1
            await asyncio.sleep(0.25)
