"""What every service process holds while it runs, and the FastAPI app around it.

``ServiceRuntime`` is plumbing only: it opens the pool in the lifespan (never at
import), runs the outbox relay and the retention sweep, exposes ``/healthz``,
``/readyz`` and ``/metrics``, and hands the service's own code its units of work
(:meth:`ServiceRuntime.unit_of_work`, :meth:`ServiceRuntime.read`) and its consumer.

Every service's ``app.py`` is built the same way: settings, a runtime, the use cases,
bus handlers, periodic jobs, then ``runtime.create_app(routers..., errors=...)``; its
``__main__`` is ``serve(create_app, Settings)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, TypeVar

import asyncpg
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from motcua.shared import migrations
from motcua.shared.body_limit import BodyLimit
from motcua.shared.bus.consumer import EventConsumer, RetryPolicy, faststream_publisher
from motcua.shared.bus.epoch import EpochMarker
from motcua.shared.bus.kafka import fetch_wait_ms, make_router, open_producer
from motcua.shared.bus.outbox import OutboxRelay
from motcua.shared.bus.retention import Retention
from motcua.shared.db import create_pool, session
from motcua.shared.errors import DomainError, ErrorMap, refusal, status_of
from motcua.shared.events.topics import Stream
from motcua.shared.http_errors import document_refusals, install_error_handlers, refusals
from motcua.shared.http_metrics import CountResponses
from motcua.shared.logging import configure_logging, get_logger
from motcua.shared.metrics import record_build_info
from motcua.shared.oidc import OidcVerifier
from motcua.shared.ops_access import OpsAccess, ops_allowed
from motcua.shared.settings import ServiceSettings
from motcua.shared.version import motcua_version

log = get_logger(__name__)

Hook = Callable[["ServiceRuntime"], Awaitable[None]]
Isolation = Literal["read_committed", "repeatable_read", "serializable"]
S = TypeVar("S", bound=ServiceSettings)

__all__ = [
    "Runtime",
    "ServiceRuntime",
    "UnitsOfWork",
    "from_app_state",
    "install_error_handlers",
    "runtime_of",
    "serve",
]


class UnitsOfWork(Protocol):
    """Where a use case gets its transactions: the runtime in a process, a fake in a
    unit test."""

    def unit_of_work(
        self, *, readonly: bool = False, isolation: Isolation | None = None
    ) -> AbstractAsyncContextManager[asyncpg.Connection]: ...


BUS_RETRY_MAX_S = 10.0
"""The longest pause between two tries at a broker that was not up at start-up."""


class Readiness(BaseModel):
    """What ``/readyz`` answers; the checks only to callers allowed the operations paths."""

    ready: bool
    checks: dict[str, str] | None = Field(
        default=None, description="Each check (database, broker, outbox_relay) and its state"
    )


class ServiceRuntime:
    """The pool, router, relay and consumer of one service process."""

    def __init__(
        self,
        name: str,
        settings: ServiceSettings,
        migrations_dir: Path,
        *,
        migrate_on_start: bool = True,
    ) -> None:
        # Before anything else: a production process with a public secret never starts.
        settings.check_production()
        self.name = name
        self.schema = name
        self.settings = settings
        self.migrations_dir = migrations_dir
        self.migrate_on_start = migrate_on_start
        self._pool: asyncpg.Pool | None = None
        self.relay: OutboxRelay | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.bus_connected = False
        # Paths whose routes stream their body under a cap of their own (uploads); the
        # shared body cap leaves them alone (``BodyLimit``).
        self.streamed_bodies: list[re.Pattern[str]] = []
        self._bus_error = "not tried yet"
        self._bus_task: asyncio.Task[None] | None = None
        self.errors: dict[type[DomainError], int] = {}
        self.on_startup: list[Hook] = []
        self.on_shutdown: list[Hook] = []
        # The province's sign-in provider, when one is configured: nothing is fetched
        # from it until the first of its tokens arrives.
        self.oidc = OidcVerifier(settings.oidc) if settings.oidc.issuer else None
        self.router = make_router(
            settings.kafka,
            client_id=f"motcua-{name}",
            lifespan=self._lifespan,
            schema_url="/asyncapi",
            description=f"motcua {name} service",
        )
        # FastStream serves the AsyncAPI pages (HTML and YAML) on the app it starts with;
        # the AsyncAPI document describes them, and OpenAPI would call them JSON.
        for route in getattr(self.router.docs_router, "routes", []):
            if isinstance(route, APIRoute):
                route.include_in_schema = False
        self.consumer = EventConsumer(
            name=name,
            pool=lambda: self.pool,
            publish=lambda: faststream_publisher(self.router),
            retry=RetryPolicy(),
            subscriber_options=settings.kafka.consumer_options(),
        )
        # The inbox, and any table the service adds, loses rows past the horizon.
        self.retention = Retention(
            self.schema,
            settings.retention_days,
            purge_days=settings.purge_after_days,
            journal_hours=settings.journal_hours,
        )
        self.every(settings.retention_sweep_seconds, self.retention.sweep, "retention")

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database pool is opened by the app's lifespan")
        return self._pool

    @contextlib.asynccontextmanager
    async def unit_of_work(
        self, *, readonly: bool = False, isolation: Isolation | None = None
    ) -> AsyncIterator[asyncpg.Connection]:
        """One unit of work: a pooled connection inside one transaction, which commits
        when the block ends and rolls back if it raises. Outbox rows written on it leave
        with the state change or not at all.

        ``readonly`` with ``isolation="repeatable_read"`` is a consistent snapshot for a
        read that spans several statements (a board, a report)."""
        async with (
            self.pool.acquire() as conn,
            conn.transaction(isolation=isolation, readonly=readonly),
        ):
            yield conn

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection for a read that needs no snapshot: each statement sees
        what is committed, and no BEGIN/COMMIT costs a round trip."""
        async with self.pool.acquire() as conn:
            yield conn

    def http_error(self, exc: DomainError) -> HTTPException:
        """The answer the API gives to ``exc``, as an exception: for a page that shows a
        refusal its own way but keeps the same status."""
        status = status_of(exc, self.errors)
        body, headers = refusal(exc, status)
        return HTTPException(status, body, headers=headers or None)

    def topic(self, stream: Stream) -> str:
        return stream.topic(self.settings.kafka.topic_prefix)

    def publishes(self, *streams: Stream) -> None:
        """Declare what this service publishes (through its outbox) for AsyncAPI."""
        from typing import Union

        from motcua.shared.events.registry import ENVELOPES

        for stream in streams:
            models = tuple(ENVELOPES[p.EVENT_TYPE] for p in stream.events)
            self.router.publisher(
                self.topic(stream),
                title=f"{stream.name}:publish",
                description=f"{stream.description}. Keyed by {stream.key}, via the outbox.",
                schema=Union[models] if len(models) > 1 else models[0],  # noqa: UP007
            )

    def group(self, suffix: str = "") -> str:
        return f"{self.settings.kafka.topic_prefix}motcua-{self.name}{suffix}"

    def consume(self, *streams: Stream, description: str = "") -> None:
        """Feed the handlers registered on :attr:`consumer` from these streams: one
        subscriber in this service's group, batches of ``consumer_batch`` records."""
        self.consumer.subscribe(
            self.router,
            *(self.topic(stream) for stream in streams),
            group_id=self.group(),
            max_records=self.settings.consumer_batch,
            description=description,
        )

    def spawn(self, coro_factory: Callable[[], Awaitable[None]], name: str) -> None:
        """Run a background loop for the app's lifetime (started after the pool opens)."""

        async def runner() -> None:
            await coro_factory()

        self.on_startup.append(lambda _rt: self._start(runner, name))

    def every(
        self, seconds: float, sample: Callable[[asyncpg.Connection], Awaitable[None]], name: str
    ) -> None:
        """Call ``sample(conn)`` every ``seconds`` for the app's lifetime (metrics gauges);
        a failed sample is logged and tried again next time, never fatal."""

        async def loop() -> None:
            while True:
                try:
                    async with session(self.pool) as conn:  # the sweep takes a lock
                        await sample(conn)
                except Exception as exc:
                    log.warning("sampler.failed", sampler=name, error=repr(exc))
                await asyncio.sleep(seconds)

        self.spawn(loop, name)

    async def _start(self, runner: Callable[[], Awaitable[None]], name: str) -> None:
        self._tasks.append(asyncio.create_task(runner(), name=f"{self.name}:{name}"))  # type: ignore[arg-type]

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        s = self.settings
        self._pool = await create_pool(
            s.db, server_settings={"search_path": f'"{self.schema}",public'}
        )
        if self.migrate_on_start and s.migrate_on_start:
            async with session(self.pool) as conn:
                await migrations.apply(conn, self.schema, migrations.plan(self.migrations_dir))
        self.relay = OutboxRelay(
            self.pool,
            self.schema,
            lambda: open_producer(s.kafka, request_timeout_ms=10_000),
            topic_prefix=s.kafka.topic_prefix,
            batch_size=s.outbox_batch,
            # A broker that lost its log is noticed through the bus epoch; a replay onto
            # a new log waits until every consumer's heartbeat has found its group gone.
            epoch=EpochMarker(s.kafka),
            replay_grace=2 * s.kafka.heartbeat_interval_ms / 1000 + 1,
        )
        relay_task = asyncio.create_task(self.relay.run(), name=f"{self.name}:relay")
        for hook in self.on_startup:
            await hook(self)
        # The router leaves starting the subscribers to us (``make_router``): a broker
        # that is down now makes the service not ready, never ends the process.
        if not await self._connect_bus():
            self._bus_task = asyncio.create_task(self._keep_connecting(), name=f"{self.name}:bus")
        _freeze_heap()
        log.info("service.started", port=s.port, bus_connected=self.bus_connected)
        try:
            yield {"runtime": self}
        finally:
            for hook in self.on_shutdown:
                await hook(self)
            for task in self._tasks:
                task.cancel()
            await self._disconnect_bus()
            await self.relay.stop()
            # Let the relay finish its batch so the outbox drains before exit.
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(relay_task, 10)
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self.pool.close()
            self._pool = None
            if self.oidc is not None:
                await self.oidc.close()
            log.info("service.stopped")

    async def _connect_bus(self) -> bool:
        """Start the bus subscribers once; ``False`` (logged) when the broker is not up.

        The fetch wait is asked of the broker first: the subscribers were built at
        create_app time, when no I/O is allowed, and their consumers are made from these
        options only when they start."""
        broker = self.router.broker
        try:
            wait = await fetch_wait_ms(self.settings.kafka)
            for subscriber in broker.subscribers:
                # FastStream passes these to AIOKafkaConsumer when the subscriber starts.
                subscriber._connection_args["fetch_max_wait_ms"] = wait  # type: ignore[attr-defined]
            await broker.start()
        except BaseException as exc:
            # Release what a half-done start opened, so the next try starts clean (and a
            # shutdown that cancels a try leaves no consumer behind).
            with contextlib.suppress(Exception):
                await broker.stop()
            if not isinstance(exc, Exception):
                raise
            self._bus_error = f"{type(exc).__name__}: {exc}"
            return False
        self.bus_connected = True
        log.info(
            "bus.connected", bootstrap=self.settings.kafka.bootstrap_servers, fetch_wait_ms=wait
        )
        return True

    async def _keep_connecting(self) -> None:
        """Try the broker again with backoff until it answers: no exit, no crash loop."""
        delay = 0.5
        attempt = 1
        while True:
            log.warning(
                "bus.not_connected",
                bootstrap=self.settings.kafka.bootstrap_servers,
                attempt=attempt,
                retry_in_s=delay,
                error=self._bus_error,
            )
            await asyncio.sleep(delay)
            if await self._connect_bus():
                return
            attempt += 1
            delay = min(delay * 2, BUS_RETRY_MAX_S)

    async def _disconnect_bus(self) -> None:
        """Stop retrying. FastStream has stopped the broker before our lifespan ends, but
        a retry may have started it again since: stop it once more if so."""
        if self._bus_task is not None:
            self._bus_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._bus_task
        if self.bus_connected:
            with contextlib.suppress(Exception):
                await self.router.broker.stop()
            self.bus_connected = False

    def create_app(
        self, *routers: APIRouter, title: str, errors: ErrorMap | None = None
    ) -> FastAPI:
        """The service's FastAPI app: health and metrics, its ``routers``, the bus
        router, and one error contract, with ``errors`` mapping each domain error class
        (the nearest in an error's MRO) to its HTTP status."""
        configure_logging(self.name, self.settings.log_format)
        app = FastAPI(title=title, version=motcua_version())
        record_build_info(self.name, motcua_version())
        app.include_router(self._health_router())
        self.errors = dict(errors or {})
        for r in routers:
            document_refusals(r, self.errors)
            app.include_router(r)
        # The broker's router serves no route (it brings the lifespan and the bus
        # subscribers), yet matching a request against it costs ~45 us: last, so that
        # no request pays for it.
        app.include_router(self.router)
        install_error_handlers(app, self.errors)
        # Around every route, so that no handler reads an oversized body whole.
        app.add_middleware(
            BodyLimit, max_bytes=self.settings.max_request_bytes, streamed=self.streamed_bodies
        )
        app.add_middleware(OpsAccess, settings=self.settings)
        # Outermost of ours, so that refusals by the two above are counted too.
        app.add_middleware(CountResponses, service=self.name)
        app.state.runtime = self
        return app

    def _health_router(self) -> APIRouter:
        health = APIRouter(tags=["operations"])

        @health.get("/healthz")
        async def healthz() -> dict[str, str]:
            """Liveness: the process answers. Does not depend on the broker or database."""
            return {"status": "ok", "service": self.name, "version": motcua_version()}

        @health.get(
            "/readyz",
            responses={
                200: {"model": Readiness, "description": "Ready to serve"},
                503: {"model": Readiness, "description": "Not ready: a check fails"},
            },
        )
        async def readyz(request: Request) -> JSONResponse:
            """Readiness: database reachable, broker connected, outbox relay healthy (the
            checks and their errors only for callers allowed the operations endpoints)."""
            checks: dict[str, str] = {}
            try:
                async with self.pool.acquire(timeout=2) as conn:
                    await conn.fetchval("SELECT 1")
                checks["database"] = "ok"
            except Exception as exc:
                checks["database"] = f"unavailable: {type(exc).__name__}"
            if not self.bus_connected:
                checks["broker"] = f"not connected, retrying: {self._bus_error}"
            else:
                try:
                    ok = await asyncio.wait_for(self.router.broker.ping(timeout=2), 3)
                    checks["broker"] = "ok" if ok else "unavailable"
                except Exception as exc:
                    checks["broker"] = f"unavailable: {type(exc).__name__}"
            relay = self.relay
            checks["outbox_relay"] = (
                "ok" if relay and relay.healthy else f"failing: {relay and relay.last_error}"
            )
            ready = all(v == "ok" for v in checks.values())
            body: dict[str, Any] = {"ready": ready}
            if ops_allowed(request, self.settings):
                body["checks"] = checks
            return JSONResponse(body, status_code=200 if ready else 503)

        # Prometheus's text format, not JSON; a 404 unless the caller may read it.
        @health.get(
            "/metrics",
            response_class=PlainTextResponse,
            responses={
                200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
                **refusals(404),
            },
        )
        async def metrics() -> Response:
            """The service's metrics, in Prometheus's text exposition format."""
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        return health


# Async, so FastAPI calls it on the event loop: a plain ``def`` dependency costs a thread
# hop per request.
async def runtime_of(request: Request) -> ServiceRuntime:
    """FastAPI dependency: the runtime of the app serving the request."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
"""A route's handle on its service's units of work."""


def from_app_state(name: str) -> Any:
    """``Annotated[Intake, from_app_state("intake")]``: a route's handle on what the
    service's ``create_app`` (or its lifespan) put in ``app.state.<name>``."""

    async def dependency(request: Request) -> Any:
        return getattr(request.app.state, name)

    dependency.__name__ = f"app_state_{name}"
    return Depends(dependency)


def serve(create_app: Callable[[S], FastAPI], settings_class: type[S]) -> None:
    """``python -m motcua.services.<name>``: the service under uvicorn, on the host and
    port of its settings; uvicorn logs through ours, and a stop lets requests finish."""
    settings = settings_class()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=20,
    )


def _freeze_heap() -> None:
    """Move the start-up heap (modules, models, templates, calendars) out of the
    collector's reach.

    Those objects live as long as the process; without this, every full collection,
    which bursts of short-lived per-event objects trigger, walks them all and stalls the
    event loop for tens of milliseconds (a deadlines claim, a notify burst).
    """
    gc.collect()
    gc.freeze()
