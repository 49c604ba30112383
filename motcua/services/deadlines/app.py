"""Composition root of the deadlines service: settings, runtime, bus handlers, HTTP routes,
and the flag scheduler as a background loop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from motcua.services.deadlines import api, bootstrap, handlers, metrics, pages
from motcua.services.deadlines.scheduler import Scheduler
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.shared.events.topics import DEADLINES
from motcua.shared.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: DeadlinesSettings | None = None, *, clock: Callable[[], datetime] | None = None
) -> FastAPI:
    """Build the app. No I/O happens here: the pool and broker open in the lifespan.

    ``clock`` replaces the wall clock for the scheduler and the worklist (tests).
    """
    settings = settings or DeadlinesSettings()
    runtime = ServiceRuntime("deadlines", settings, MIGRATIONS)
    runtime.publishes(DEADLINES)
    deadlines = bootstrap.build(settings, clock)
    runtime.every(
        settings.metrics_sample_seconds, metrics.open_and_overdue(deadlines.clock), "gauges"
    )
    handlers.register(runtime, deadlines)
    if settings.scheduler_enabled:
        deadlines.scheduler = Scheduler(
            lambda: runtime.pool,
            clock=deadlines.clock,
            batch_size=settings.scheduler_batch,
            poll_interval=settings.scheduler_poll_seconds,
        )
        runtime.spawn(deadlines.scheduler.run, "scheduler")
    app = runtime.create_app(api.router, pages.router, title="motcua deadlines")
    pages.PAGES.install(app)
    app.state.deadlines = deadlines
    api.install_error_handlers(app)
    return app
