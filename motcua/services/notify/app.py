"""Composition root of the notify service: settings, runtime, bus handlers, worker, HTTP."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from motcua.services.notify import api, daily_cap, handlers, pages, personal_data, staff_api
from motcua.services.notify.channels import AppriseTransport, ChannelSender
from motcua.services.notify.errors import Conflict, Invalid, NotFound, NotifyError
from motcua.services.notify.message_templates import Composer, Renderer
from motcua.services.notify.ratelimit import SharedPace
from motcua.services.notify.settings import NotifySettings
from motcua.services.notify.staff import StaffDirectory
from motcua.services.notify.usecases import Notifier
from motcua.services.notify.webhooks import HttpTransport
from motcua.services.notify.worker import DeliveryWorker
from motcua.shared.bus.consumer import faststream_publisher
from motcua.shared.errors import ErrorMap
from motcua.shared.events.topics import NOTIFICATIONS, STAFF
from motcua.shared.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "migrations"

ERRORS: ErrorMap = {NotFound: 404, Conflict: 409, Invalid: 422, NotifyError: 400}


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    """Build the app. No I/O happens here: the pool and broker open in the lifespan."""
    settings = settings or NotifySettings()
    runtime = ServiceRuntime("notify", settings, MIGRATIONS)
    runtime.publishes(NOTIFICATIONS, STAFF)
    # The use cases.
    composer = Composer(
        Renderer(settings.timezone),
        public_url=settings.public_url,
        link_secret=settings.link_secret,
    )
    notifier = Notifier(settings, composer)
    # Bus handlers, then what runs on its own for the app's lifetime.
    handlers.register(runtime, notifier)
    personal_data.register(runtime, notifier.rest_keys)
    runtime.retention.add("recipient_daily", daily_cap.expire)
    _deliver(runtime, settings, composer)
    # HTTP.
    app = runtime.create_app(
        api.router, staff_api.router, pages.router, title="motcua notify", errors=ERRORS
    )
    pages.PAGES.install(app)
    app.state.notifier = notifier
    app.state.staff = StaffDirectory(notifier)
    return app


def _deliver(runtime: ServiceRuntime, settings: NotifySettings, composer: Composer) -> None:
    """Run the delivery worker for the app's lifetime. It is built inside the lifespan:
    its HTTP clients and threads open there, not at import."""
    workers: list[DeliveryWorker] = []

    async def run() -> None:
        sender = ChannelSender(
            settings.channels_of,
            pace=SharedPace(lambda: runtime.pool, settings.rate_per_second),
            concurrency=settings.send_concurrency,
            http=HttpTransport(
                connections=settings.send_concurrency, timeout=settings.send_timeout_seconds
            ),
            fallback=AppriseTransport(
                threads=settings.send_threads, timeout=settings.send_timeout_seconds
            ),
        )
        workers.append(
            DeliveryWorker(
                lambda: runtime.pool,
                sender,
                composer,
                settings,
                lambda: faststream_publisher(runtime.router),
                schema=runtime.schema,
            )
        )
        await workers[-1].run()

    async def stop(_: ServiceRuntime) -> None:
        for worker in workers:
            await worker.stop()

    runtime.spawn(run, "deliveries")
    runtime.on_shutdown.append(stop)
