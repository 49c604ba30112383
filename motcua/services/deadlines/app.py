"""Composition root of the deadlines service: settings, runtime, use cases, bus handlers,
periodic jobs (the flag scheduler among them), HTTP routes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from motcua.services.deadlines import api, handlers, metrics, pages, risks
from motcua.services.deadlines.errors import Conflict, DeadlinesError, InvalidInput, NotFound
from motcua.services.deadlines.flags import parse_thresholds
from motcua.services.deadlines.repository.timeline import expire_unjoined_tickets
from motcua.services.deadlines.scheduler import Scheduler, utc_now
from motcua.services.deadlines.settings import DeadlinesSettings
from motcua.services.deadlines.usecases import Deadlines, Policy
from motcua.shared.dev_sign_in import SpentCodes
from motcua.shared.errors import ErrorMap
from motcua.shared.events.topics import DEADLINES
from motcua.shared.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "migrations"

ERRORS: ErrorMap = {NotFound: 404, Conflict: 409, InvalidInput: 422, DeadlinesError: 400}


def create_app(
    settings: DeadlinesSettings | None = None, *, clock: Callable[[], datetime] | None = None
) -> FastAPI:
    """Build the app. No I/O happens here: the pool and broker open in the lifespan.

    ``clock`` replaces the wall clock for the scheduler and the worklist (tests).
    """
    settings = settings or DeadlinesSettings()
    runtime = ServiceRuntime("deadlines", settings, MIGRATIONS)
    runtime.publishes(DEADLINES)
    # The use cases.
    deadlines = Deadlines(
        settings=settings,
        policy=Policy(
            thresholds=parse_thresholds(settings.approaching_thresholds),
            apology_grace_days=settings.apology_grace_working_days,
        ),
        clock=clock or utc_now,
    )
    # Bus handlers, then what runs on its own for the app's lifetime.
    handlers.register(runtime, deadlines)
    runtime.retention.add("timeline", expire_unjoined_tickets)
    runtime.every(
        settings.metrics_sample_seconds, metrics.open_and_overdue(deadlines.clock), "gauges"
    )
    if settings.scheduler_enabled:
        deadlines.scheduler = Scheduler(
            lambda: runtime.pool,
            clock=deadlines.clock,
            batch_size=settings.scheduler_batch,
            poll_interval=settings.scheduler_poll_seconds,
        )
        runtime.spawn(deadlines.scheduler.run, "scheduler")
    deadlines.forecast = risks.ForecastPolicy(
        threshold=settings.forecast_threshold_percent / 100,
        min_samples=settings.forecast_min_samples,
        history=settings.forecast_history,
        staff_window_days=settings.forecast_staff_window_days,
    )
    if settings.forecast_enabled:
        deadlines.risk_sweep = risks.RiskSweep(
            deadlines.calendars.of,
            deadlines.forecast,
            clock=deadlines.clock,
            interval=settings.forecast_interval_seconds,
        )
        runtime.every(settings.forecast_interval_seconds, deadlines.risk_sweep.sweep, "forecast")
    # HTTP.
    app = runtime.create_app(api.router, pages.router, title="motcua deadlines", errors=ERRORS)
    pages.PAGES.install(app)
    if settings.dev_mode:
        # The dev stack's one-click sign-in; in production the route does not exist.
        app.include_router(pages.dev_router)
        app.state.dev_codes = SpentCodes()
    app.state.deadlines = deadlines
    return app
