"""Following the center registry: each service's copy of the centers' configuration.

The registry service publishes ``center.configured`` (the whole configuration of one
center, with a revision that grows by one per change). Queue, intake and deadlines each
keep a copy so that a new center, a renamed one or a new day off takes effect without a
restart:

* the copy in the database (``registry_centers`` in the service's own schema) is the
  truth: the handler writes a row only for a revision newer than the one stored, inside
  the consumer's batch transaction (with the inbox claim), so a duplicate, a redelivery
  or an older revision arriving late changes nothing;
* :class:`CenterBook` is the in-memory view the request paths read. The instance that
  applies an event updates it at once; every instance also reloads it from the table
  every few seconds (:func:`follow`), because the consumer group hands each event to one
  instance only.

Until a center's first event arrives, a service keeps its packaged defaults: the book
answers ``None`` and the caller falls back.

Who may call the consumer: only the registry service. The event is believed on
``registry.events`` alone (the consumer's ownership check), which only the
``motcua-registry`` Kafka user may write (``motcua.shared.events.access``); a payload whose
center differs from its envelope's is dead-lettered, never applied.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import asyncpg

from motcua.shared.calendar import WorkingCalendar
from motcua.shared.center_calendar import build
from motcua.shared.events.catalog import CenterConfigured
from motcua.shared.events.envelope import Envelope
from motcua.shared.logging import get_logger
from motcua.shared.runtime import ServiceRuntime

log = get_logger(__name__)

OnChange = Callable[[asyncpg.Connection, CenterConfigured], Awaitable[None]]
"""What else a service does, in the same transaction, when a newer revision arrives."""


@dataclass(frozen=True)
class KnownCenter:
    """A center as the registry last configured it, with its calendar built once."""

    config: CenterConfigured
    calendar: WorkingCalendar

    @classmethod
    def of(cls, config: CenterConfigured) -> KnownCenter:
        overrides = config.calendar.model_dump(mode="json", exclude_none=True)
        return cls(config, build(overrides))


class CenterBook:
    """The centers this process knows from the registry, by id; newer revisions only."""

    def __init__(self) -> None:
        self._centers: dict[str, KnownCenter] = {}
        self.listeners: list[Callable[[CenterConfigured], None]] = []

    def __len__(self) -> int:
        return len(self._centers)

    @property
    def centers(self) -> Mapping[str, KnownCenter]:
        return dict(self._centers)

    def get(self, center_id: str) -> CenterConfigured | None:
        known = self._centers.get(center_id)
        return known.config if known else None

    def calendar(self, center_id: str, default: WorkingCalendar) -> WorkingCalendar:
        """The center's working calendar, or ``default`` before the registry named it."""
        known = self._centers.get(center_id)
        return known.calendar if known else default

    def name(self, center_id: str, default: str | None = None) -> str | None:
        known = self._centers.get(center_id)
        return known.config.name if known else default

    def code(self, center_id: str, default: str | None = None) -> str | None:
        known = self._centers.get(center_id)
        return known.config.code if known else default

    def remember(self, config: CenterConfigured) -> bool:
        """Hold ``config`` if it is newer than what is held; ``True`` if it was."""
        held = self._centers.get(config.center_id)
        if held is not None and held.config.revision >= config.revision:
            return False
        self._centers[config.center_id] = KnownCenter.of(config)
        for listener in self.listeners:
            listener(config)
        return True

    async def reload(self, conn: asyncpg.Connection) -> int:
        """Take in what the table holds that is newer (another instance applied it).

        Runs every few seconds in every instance: the revisions are read first, and only
        the documents of centers that moved are read and parsed."""
        rows = await conn.fetch("SELECT center_id, revision FROM registry_centers")
        newer = [
            r[0]
            for r in rows
            if r[0] not in self._centers or self._centers[r[0]].config.revision < r[1]
        ]
        if not newer:
            return 0
        return sum(self.remember(config) for config in await stored(conn, newer))


async def stored(conn: asyncpg.Connection, center_ids: list[str]) -> list[CenterConfigured]:
    rows = await conn.fetch(
        "SELECT config::text FROM registry_centers WHERE center_id = ANY($1::text[]) "
        "ORDER BY center_id",
        center_ids,
    )
    return [CenterConfigured.model_validate_json(r[0]) for r in rows]


async def store_if_newer(conn: asyncpg.Connection, config: CenterConfigured) -> bool:
    """Write ``config`` unless a revision as new is stored; ``True`` if written."""
    written = await conn.fetchval(
        """INSERT INTO registry_centers (center_id, revision, config)
           VALUES ($1, $2, $3::text::jsonb)
           ON CONFLICT (center_id) DO UPDATE
               SET revision = EXCLUDED.revision, config = EXCLUDED.config, applied_at = now()
               WHERE registry_centers.revision < EXCLUDED.revision
           RETURNING revision""",
        config.center_id,
        config.revision,
        json.dumps(config.model_dump(mode="json")),
    )
    return written is not None


def follow(
    runtime: ServiceRuntime,
    book: CenterBook,
    *,
    on_change: OnChange | None = None,
    reload_seconds: float = 2.0,
) -> None:
    """Keep ``book`` following the registry: a handler on the runtime's consumer, the
    book loaded from the table at start, then reloaded every ``reload_seconds``. The
    service still names ``REGISTRY`` among the streams it consumes (one subscriber)."""

    async def on_center_configured(
        conn: asyncpg.Connection, event: Envelope[CenterConfigured]
    ) -> None:
        config = event.data
        if config.center_id != event.center_id:
            # The envelope routes and keys by center: a payload for another center is a
            # broken producer, never applied (the consumer dead-letters it).
            raise ValueError(
                f"center.configured for {config.center_id!r} in an envelope of {event.center_id!r}"
            )
        if not await store_if_newer(conn, config):
            log.info(
                "registry.revision_ignored", center_id=config.center_id, revision=config.revision
            )
            return
        if on_change is not None:
            await on_change(conn, config)
        book.remember(config)
        log.info("registry.center_applied", center_id=config.center_id, revision=config.revision)

    runtime.consumer.on(CenterConfigured, on_center_configured)
    keep_reloaded(runtime, book.reload, reload_seconds, "registry-centers")
    if runtime.oidc is not None:
        # A provider's token is for a center the registry holds and has not retired:
        # a center added later is accepted, a retired one refused, with no restart.
        runtime.oidc.centers = book


def keep_reloaded(
    runtime: ServiceRuntime,
    reload: Callable[[asyncpg.Connection], Awaitable[int]],
    every: float,
    name: str,
) -> None:
    """Load a book from its table at start, then reload it every ``every`` seconds (the
    consumer group hands each event to one instance only; the others read the table)."""

    async def load(rt: ServiceRuntime) -> None:
        async with rt.read() as conn:
            await reload(conn)

    async def again(conn: asyncpg.Connection) -> None:
        await reload(conn)

    runtime.on_startup.append(load)
    runtime.every(every, again, name)
