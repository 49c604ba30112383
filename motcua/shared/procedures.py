"""Following the registry's procedure catalog: a service's copy of each procedure.

The registry publishes ``procedure.configured`` (one procedure, whole, with a revision
that grows by one per change of that procedure). A service that files dossiers keeps a
copy, by the rules of ``motcua.shared.centers``:

* the copy in the database (``registry_procedures`` in the service's own schema) is the
  truth: the handler writes a row only for a revision newer than the one stored, inside
  the consumer's batch transaction, so a duplicate, a redelivery or an older revision
  arriving late changes nothing, and a restart keeps what was applied;
* :class:`ProcedureBook` is the in-memory view the request paths read, updated at once
  by the instance that applies the event and reloaded from the table every few seconds
  by every instance (the consumer group hands each event to one instance only).

Until a procedure's first event arrives, a service keeps its packaged catalog: the book
answers ``None`` and the caller falls back.

Who may call the consumer: only the registry service. The event is believed on
``registry.events`` alone (the consumer's ownership check), which only the
``motcua-registry`` Kafka user may write (``motcua.shared.events.access``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import asyncpg

from motcua.shared.centers import keep_reloaded
from motcua.shared.events.catalog import ProcedureConfigured
from motcua.shared.events.envelope import Envelope
from motcua.shared.logging import get_logger
from motcua.shared.runtime import ServiceRuntime

log = get_logger(__name__)


class ProcedureBook:
    """The procedures this process knows from the registry, by code; newer revisions only."""

    def __init__(self) -> None:
        self._procedures: dict[str, ProcedureConfigured] = {}

    def __len__(self) -> int:
        return len(self._procedures)

    @property
    def procedures(self) -> Mapping[str, ProcedureConfigured]:
        return dict(self._procedures)

    def get(self, code: str) -> ProcedureConfigured | None:
        return self._procedures.get(code)

    def remember(self, config: ProcedureConfigured) -> bool:
        """Hold ``config`` if it is newer than what is held; ``True`` if it was."""
        held = self._procedures.get(config.code)
        if held is not None and held.revision >= config.revision:
            return False
        self._procedures[config.code] = config
        return True

    async def reload(self, conn: asyncpg.Connection) -> int:
        """Take in what the table holds that is newer (another instance applied it): the
        revisions first, then only the documents of procedures that moved."""
        rows = await conn.fetch("SELECT code, revision FROM registry_procedures")
        newer = [
            r[0]
            for r in rows
            if r[0] not in self._procedures or self._procedures[r[0]].revision < r[1]
        ]
        if not newer:
            return 0
        return sum(self.remember(config) for config in await stored(conn, newer))


async def stored(conn: asyncpg.Connection, codes: list[str]) -> list[ProcedureConfigured]:
    rows = await conn.fetch(
        "SELECT config::text FROM registry_procedures WHERE code = ANY($1::text[]) ORDER BY code",
        codes,
    )
    return [ProcedureConfigured.model_validate_json(r[0]) for r in rows]


async def store_if_newer(conn: asyncpg.Connection, config: ProcedureConfigured) -> bool:
    """Write ``config`` unless a revision as new is stored; ``True`` if written."""
    written = await conn.fetchval(
        """INSERT INTO registry_procedures (code, revision, config)
           VALUES ($1, $2, $3::text::jsonb)
           ON CONFLICT (code) DO UPDATE
               SET revision = EXCLUDED.revision, config = EXCLUDED.config, applied_at = now()
               WHERE registry_procedures.revision < EXCLUDED.revision
           RETURNING revision""",
        config.code,
        config.revision,
        json.dumps(config.model_dump(mode="json")),
    )
    return written is not None


def follow_procedures(
    runtime: ServiceRuntime, book: ProcedureBook, *, reload_seconds: float = 2.0
) -> None:
    """Keep ``book`` following the registry's catalog: a handler on the runtime's
    consumer, the book loaded from the table at start, then reloaded every
    ``reload_seconds``. The service still names ``REGISTRY`` among the streams it
    consumes."""

    async def on_procedure_configured(
        conn: asyncpg.Connection, event: Envelope[ProcedureConfigured]
    ) -> None:
        config = event.data
        if not await store_if_newer(conn, config):
            log.info("registry.procedure_ignored", code=config.code, revision=config.revision)
            return
        book.remember(config)
        log.info("registry.procedure_applied", code=config.code, revision=config.revision)

    runtime.consumer.on(ProcedureConfigured, on_procedure_configured)
    keep_reloaded(runtime, book.reload, reload_seconds, "registry-procedures")
