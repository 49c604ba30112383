"""Composition root of the intake service: settings, runtime, use cases, bus handlers,
periodic jobs, HTTP routes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from motcua.services.intake import api, handlers, pages, personal_data, public, retention
from motcua.services.intake.catalog import load_catalog, load_statuses
from motcua.services.intake.domain import Lifecycle
from motcua.services.intake.errors import (
    Conflict,
    Forbidden,
    IntakeError,
    InvalidInput,
    NotFound,
    WrongCenter,
)
from motcua.services.intake.queries import Queries
from motcua.services.intake.schemas.responses import Views
from motcua.services.intake.settings import IntakeSettings
from motcua.services.intake.usecases import Intake, Wiring
from motcua.shared import crypto
from motcua.shared.calendar import WorkingCalendar
from motcua.shared.errors import ErrorMap
from motcua.shared.events.topics import DOSSIERS, INTAKE_RESULTS
from motcua.shared.ratelimit import TokenBuckets
from motcua.shared.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "migrations"

ERRORS: ErrorMap = {
    InvalidInput: 422,
    NotFound: 404,
    WrongCenter: 403,
    Forbidden: 403,
    Conflict: 409,
    IntakeError: 400,
}


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """Build the app. Reads the reference data files; the pool and broker open in the
    lifespan."""
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime("intake", settings, MIGRATIONS)
    runtime.publishes(DOSSIERS, INTAKE_RESULTS)
    # The use cases.
    wiring = _wiring(runtime, settings)
    # Bus handlers, then what runs on its own for the app's lifetime.
    handlers.register(runtime, wiring.intake)
    retention.register(runtime)
    personal_data.register(runtime, wiring.intake.book.statuses, settings.lookup_pepper_key)
    # HTTP.
    app = runtime.create_app(
        api.router, public.router, pages.router, title="motcua intake", errors=ERRORS
    )
    pages.PAGES.install(app)
    app.state.intake = wiring
    # The counter console (served by queue) calls the clerk API from the browser. The token
    # is a bearer header, not a cookie, so credentials stay off.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        allow_credentials=False,
        max_age=600,
    )
    return app


def _wiring(runtime: ServiceRuntime, settings: IntakeSettings) -> Wiring:
    """The use cases, read side, views and limiters of this process, from the settings
    and the reference data files."""
    book = load_statuses(settings.statuses_file)
    lifecycle = Lifecycle(book.statuses)
    calendar = WorkingCalendar.default()
    intake = Intake(
        catalog=load_catalog(settings.catalog_file),
        book=book,
        lifecycle=lifecycle,
        calendar=calendar,
        contact_keys=settings.contact_keyring(crypto.BUS),
        pepper=settings.lookup_pepper_key,
        center_codes=settings.center_codes,
        grace=timedelta(seconds=settings.backdate_grace_seconds),
    )
    return Wiring(
        runtime=runtime,
        settings=settings,
        intake=intake,
        queries=Queries(
            contact_keys=settings.contact_keyring(crypto.BUS), pepper=settings.lookup_pepper_key
        ),
        views=Views(book, lifecycle, calendar.tz),
        lookups=TokenBuckets(settings.lookup_rate_per_minute / 60, settings.lookup_burst),
        submissions=TokenBuckets(settings.submit_rate_per_minute / 60, settings.submit_burst),
    )
