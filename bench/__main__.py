"""``make bench``: every benchmark in one run, on the same embedded servers.

Each ``bench/<name>.py`` exposes ``async def run(servers) -> dict``, and may name
the event loop it runs on (``loop_factory``; asyncio's default otherwise). Figures
are printed as they come and written to ``bench/results/<name>.json`` together with
the machine they were measured on.

Every benchmark runs on the embedded Tansu broker; then the ones in
``bench.brokers.ON_BOTH`` (the bus pipeline and the four-service ladder) run again
on a single Apache Kafka node started for them, into ``<name>_kafka.json``, and a
table sets each broker's figures against raw aiokafka on that same broker
(``brokers.json``). ``--brokers=tansu`` or ``--brokers=kafka`` runs one leg only;
names after it pick benchmarks (``python -m bench --brokers=kafka pipeline``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.brokers import BROKERS, ON_BOTH, Broker, compare, results_name, table
from motcua.devtools.backends import Servers, servers

HERE = Path(__file__).parent
ORDER = [
    "pipeline",
    "queue",
    "appointments",
    "intake",
    "documents",
    "deadlines",
    "notify",
    "replay",
    "e2e",
    "forecast",
    "province",
]


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        # Other work on the machine shows in every figure; this says how much there was.
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
    }


def parse(argv: list[str]) -> tuple[list[Broker], list[str]]:
    """The brokers (``--brokers=a,b``; both by default) and the benchmarks asked for."""
    brokers: list[Broker] = list(BROKERS)
    names: list[str] = []
    for arg in argv:
        if arg.startswith("--brokers="):
            asked = [b for b in arg.partition("=")[2].split(",") if b]
            unknown = [b for b in asked if b not in BROKERS]
            if unknown or not asked:
                raise SystemExit(f"--brokers: choose from {', '.join(BROKERS)}, not {unknown}")
            brokers = [b for b in BROKERS if b in asked]
        elif arg not in ORDER:
            raise SystemExit(f"unknown benchmark {arg!r}: choose from {', '.join(ORDER)}")
        else:
            names.append(arg)
    return brokers, names or list(ORDER)


def run_all(found: Servers, names: list[str], failed: list[str]) -> dict[str, dict[str, Any]]:
    """Run ``names`` in order on ``found``; save and print each one's figures."""
    done: dict[str, dict[str, Any]] = {}
    for name in names:
        print(f"\n== {name} on {found.broker}", flush=True)
        started = time.perf_counter()
        load_at_start = round(os.getloadavg()[0], 2)
        try:
            module = importlib.import_module(f"bench.{name}")
            loop_factory = getattr(module, "loop_factory", None)
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                figures = runner.run(module.run(found))
        except Exception as exc:
            print(f"   FAILED: {exc!r}", flush=True)
            failed.append(f"{name} on {found.broker}")
            continue
        figures = {
            "benchmark": name,
            "broker": found.broker,
            "machine": machine() | {"load_avg_1m_at_start": load_at_start},
            **figures,
        }
        figures["wall_seconds"] = round(time.perf_counter() - started, 1)
        (HERE / "results" / f"{results_name(name, found.broker)}.json").write_text(
            json.dumps(figures, indent=2, default=float) + "\n"
        )
        for key, value in figures.items():
            if key not in ("benchmark", "machine", "steps"):
                print(f"   {key:<44} {value}", flush=True)
        done[name] = figures
    return done


@contextlib.contextmanager
def on_apache_kafka(found: Servers) -> Iterator[Servers]:
    """``found``'s PostgreSQL with a single Apache Kafka node of its own (KRaft, log in a
    temporary folder), stopped on the way out."""
    from motcua.devtools.embedded import embedded_broker, free_port

    with tempfile.TemporaryDirectory(prefix="motcua-bench-kafka-") as state:
        broker = embedded_broker("kafka", free_port(), Path(state)).start()
        try:
            yield dataclasses.replace(found, kafka_bootstrap=broker.bootstrap, broker="kafka")
        finally:
            broker.stop()


def main(argv: list[str], env: Mapping[str, str] = os.environ) -> int:
    from motcua.devtools.embedded import EmbeddedError

    brokers, wanted = parse(argv)
    (HERE / "results").mkdir(exist_ok=True)
    failed: list[str] = []
    results: dict[Broker, dict[str, dict[str, Any]]] = {}
    started = time.perf_counter()
    # The first leg is Tansu unless the environment names other servers.
    first = dict(env) | {"MOTCUA_TEST_BROKER": env.get("MOTCUA_TEST_BROKER") or "tansu"}
    with servers(first, durable=True) as found:
        print(
            f"servers: postgres={found.postgres_backend} kafka={found.kafka_backend} "
            f"({found.broker}); load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        if found.broker in brokers:
            results[found.broker] = run_all(found, wanted, failed)
        again = [n for n in wanted if n in ON_BOTH]
        if "kafka" in brokers and found.broker != "kafka" and again:
            print("\n== starting a single Apache Kafka node (KRaft) for the second leg", flush=True)
            try:
                with on_apache_kafka(found) as kafka:
                    results["kafka"] = run_all(kafka, again, failed)
            except EmbeddedError as exc:  # no Java, or no jars: say what to install
                print(f"   Apache Kafka leg not run: {exc}", flush=True)
                failed.append("kafka leg")
    rows = compare(results)
    if rows:
        print("\n== ours against raw aiokafka, each on its own broker, this run", flush=True)
        print(table(rows), flush=True)
        if len(results) == len(BROKERS):
            (HERE / "results" / "brokers.json").write_text(
                json.dumps({"machine": machine(), "rows": rows}, indent=2, ensure_ascii=False)
                + "\n"
            )
    spent = [
        f"{name} on {broker} {figures['wall_seconds']:.0f} s"
        for broker, done in results.items()
        for name, figures in done.items()
    ]
    print(
        f"\nmake bench: {time.perf_counter() - started:.0f} s in all ({'; '.join(spent)}); "
        f"load average now {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    if failed:
        print(f"failed: {', '.join(failed)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    # The benchmarks run the services with development secrets, as the tests do;
    # outside dev mode a service refuses them and would not start.
    os.environ.setdefault("MOTCUA_DEV_MODE", "true")
    raise SystemExit(main(sys.argv[1:]))
