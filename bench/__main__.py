"""``make bench``: every benchmark in one run, on the same embedded servers.

Each ``bench/<name>.py`` exposes ``async def run(servers) -> dict``, and may name
the event loop it runs on (``loop_factory``; asyncio's default otherwise). Figures
are printed as they come and written to ``bench/results/<name>.json`` together with
the machine they were measured on.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.backends import servers

HERE = Path(__file__).parent
ORDER = ["pipeline", "queue", "intake", "deadlines", "notify", "replay", "e2e"]


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str]) -> int:
    wanted = argv or ORDER
    (HERE / "results").mkdir(exist_ok=True)
    failed = []
    with servers(os.environ, durable=True) as found:
        print(f"servers: postgres={found.postgres_backend} kafka={found.kafka_backend}", flush=True)
        for name in wanted:
            print(f"\n== {name}", flush=True)
            started = time.perf_counter()
            try:
                module = importlib.import_module(f"bench.{name}")
                loop_factory = getattr(module, "loop_factory", None)
                with asyncio.Runner(loop_factory=loop_factory) as runner:
                    figures = runner.run(module.run(found))
            except Exception as exc:
                print(f"   FAILED: {exc!r}", flush=True)
                failed.append(name)
                continue
            figures = {"benchmark": name, "machine": machine(), **figures}
            figures["wall_seconds"] = round(time.perf_counter() - started, 1)
            (HERE / "results" / f"{name}.json").write_text(
                json.dumps(figures, indent=2, default=float) + "\n"
            )
            for key, value in figures.items():
                if key not in ("benchmark", "machine"):
                    print(f"   {key:<44} {value}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
