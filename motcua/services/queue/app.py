"""Composition root of the queue service: settings, runtime, use cases, bus handlers,
periodic jobs, HTTP routes."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from motcua.services.queue import (
    api,
    booking_api,
    booking_pages,
    handlers,
    metrics,
    pages,
    personal_data,
    remote_api,
)
from motcua.services.queue.booking import Bookings
from motcua.services.queue.contact_limits import ContactLimits
from motcua.services.queue.directory import load_directory
from motcua.services.queue.display import DisplayHub
from motcua.services.queue.errors import Conflict, Invalid, NotFound, QueueError, TooMany
from motcua.services.queue.queries import QueueQueries
from motcua.services.queue.remote_tickets import RemoteTickets
from motcua.services.queue.settings import QueueSettings
from motcua.services.queue.sign_in import mount as mount_sign_in
from motcua.services.queue.usecases import QueueService
from motcua.shared.calendar import WorkingCalendar
from motcua.shared.centers import CenterBook
from motcua.shared.errors import ErrorMap
from motcua.shared.events.catalog import CenterConfigured
from motcua.shared.events.topics import QUEUE
from motcua.shared.ratelimit import TokenBuckets
from motcua.shared.reference.lines import service_lines
from motcua.shared.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "migrations"

ERRORS: ErrorMap = {NotFound: 404, Conflict: 409, Invalid: 422, TooMany: 429, QueueError: 400}


def create_app(settings: QueueSettings | None = None) -> FastAPI:
    """Build the app. No I/O happens here: the pool, the data file and the display
    listener open in the lifespan."""
    settings = settings or QueueSettings()
    runtime = ServiceRuntime("queue", settings, MIGRATIONS)
    runtime.publishes(QUEUE)
    # Bus handlers, then what runs on its own for the app's lifetime.
    centers = CenterBook()
    handlers.register(runtime, centers)
    personal_data.register(runtime)
    runtime.every(settings.metrics_sample_seconds, metrics.sample_waiting, "waiting-gauge")
    # HTTP.
    app = runtime.create_app(
        api.router,
        booking_api.router,
        remote_api.router,
        pages.router,
        booking_pages.router,
        title="motcua queue",
        errors=ERRORS,
    )
    pages.PAGES.install(app)
    # The console's sign-in: through the province's provider, and (dev mode only, so
    # that in production the route does not exist) the dev stack's one-click link.
    mount_sign_in(app, dev_mode=settings.dev_mode)
    hub = DisplayHub(
        settings.db.url,
        channel=f"{runtime.schema}_display",
        max_streams=settings.sse_max_streams,
        max_streams_per_client=settings.sse_max_streams_per_client,
    )
    app.state.display = hub
    app.state.contact_limits = ContactLimits(
        TokenBuckets(settings.contact_tickets_per_minute / 60, settings.contact_tickets_burst),
        TokenBuckets(settings.recipient_tickets_per_hour / 3600, settings.recipient_tickets_burst),
    )
    # The leaders' dashboard (served by deadlines) reads the public waiting statistics.
    app.add_middleware(
        CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET"], max_age=600
    )

    # The use cases start with the lifespan, once the centers file is read (no I/O here)
    # and the registry's centers are loaded (``follow`` loads them first).
    async def start(rt: ServiceRuntime) -> None:
        lines = service_lines()
        directory = load_directory(settings.centers_file)
        for known in centers.centers.values():
            directory = directory.configured(known.config, lines)
        service = QueueService(rt, directory, settings)

        # Each newer revision from the registry replaces the center at once.
        def follow(config: CenterConfigured) -> None:
            service.directory = service.directory.configured(config, lines)

        centers.listeners.append(follow)
        app.state.queue = service
        # Slots and the remote opening window follow the center's own calendar, the
        # registry's: the one intake's receipts and deadlines' clocks count on.
        national = WorkingCalendar.default()

        def calendar_of(center_id: str) -> WorkingCalendar:
            return centers.calendar(center_id, national)

        app.state.bookings = Bookings(rt, service, calendar_of)
        # The door codes and the remote limits' digests come from the service's secret.
        secret = settings.auth_secret.get_secret_value().encode()
        app.state.remote = RemoteTickets(rt, service, secret, calendar_of)
        app.state.queries = QueueQueries(service)
        await hub.start()

    async def stop(_: ServiceRuntime) -> None:
        await hub.stop()

    runtime.on_startup.append(start)
    runtime.on_shutdown.append(stop)

    # Registered after ``start``, which builds the bookings this job sweeps.
    async def no_shows(conn: asyncpg.Connection) -> None:
        bookings: Bookings = app.state.bookings
        remote: RemoteTickets = app.state.remote
        await bookings.mark_no_shows(conn)
        await remote.expire_unconfirmed(conn)

    runtime.every(settings.no_show_sweep_seconds, no_shows, "no-shows")
    return app
