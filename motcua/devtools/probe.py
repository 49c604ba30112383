"""A probe service built from the shared runtime, to test and measure the bus plumbing.

It consumes ``dossier.assigned`` and ``dossier.resolved`` events (from the dossier
and the queue topics, as notify does) and records one ``effects`` row per event.
An assignee of ``poison`` makes the handler fail every time. Run as a
process (``python -m motcua.devtools.probe``) for the SIGKILL tests and the pipeline
benchmark;
``PROBE_KILL_AFTER_COMMIT=1`` kills it with SIGKILL right after the first batch's
transaction commits and before its offsets are committed.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI

from motcua.shared.events import Envelope, new_event
from motcua.shared.events.catalog import DossierAssigned, DossierResolved
from motcua.shared.events.topics import DOSSIERS, QUEUE
from motcua.shared.runtime import ServiceRuntime
from motcua.shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "probe_migrations"


def assigned(dossier_id: uuid.UUID, seq: int, assignee: str = "officer-1") -> Envelope[Any]:
    return new_event(
        DossierAssigned(
            dossier_id=dossier_id,
            dossier_code=f"D-{seq}",
            procedure_code="P",
            status=3,
            assignee=assignee,
            department=str(seq),
        ),
        center_id="c1",
        producer="probe",
    )


def create_app(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime("probe", settings, MIGRATIONS)

    async def apply(conn: asyncpg.Connection, events: Sequence[Envelope[DossierAssigned]]) -> None:
        if any(e.data.assignee == "poison" for e in events):
            raise ValueError("this dossier cannot be assigned")
        await conn.executemany(
            """INSERT INTO effects (event_id, key, seq, occurred_at) VALUES ($1, $2, $3, $4)
               ON CONFLICT (event_id) DO UPDATE SET n = effects.n + 1""",
            [
                (e.event_id, str(e.data.dossier_id), int(e.data.department or 0), e.occurred_at)
                for e in events
            ],
        )

    runtime.consumer.on_batch(DossierAssigned, apply)

    async def resolved(conn: asyncpg.Connection, event: Envelope[DossierResolved]) -> None:
        await conn.execute(
            "INSERT INTO effects (event_id, key, seq, occurred_at) VALUES ($1, $2, $3, $4)",
            event.event_id,
            str(event.data.dossier_id),
            event.data.status,
            event.occurred_at,
        )

    runtime.consumer.on(DossierResolved, resolved)

    if os.environ.get("PROBE_KILL_AFTER_COMMIT") == "1":
        runtime.consumer.after_commit.append(lambda _records: os.kill(os.getpid(), signal.SIGKILL))

    runtime.consumer.subscribe(
        runtime.router, runtime.topic(DOSSIERS), runtime.topic(QUEUE), group_id=runtime.group()
    )
    return runtime.create_app(title="probe")


if __name__ == "__main__":
    import uvicorn

    from motcua.shared.settings import DatabaseSettings, KafkaSettings

    s = ServiceSettings(
        db=DatabaseSettings(url=os.environ["DATABASE_URL"]),
        kafka=KafkaSettings(),
        port=int(os.environ["PROBE_PORT"]),
        log_format="console",
    )
    uvicorn.run(create_app(s), host="127.0.0.1", port=s.port, log_config=None)
