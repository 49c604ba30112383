"""Composition root of the intake service: settings, runtime, bus handlers, HTTP routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from motcua.services.intake import api, bootstrap, handlers, pages, personal_data, public, retention
from motcua.services.intake.domain import (
    Conflict,
    Forbidden,
    IntakeError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    WrongCenter,
)
from motcua.services.intake.schemas.responses import StatusOut
from motcua.services.intake.settings import IntakeSettings
from motcua.shared.events.topics import DOSSIERS, INTAKE_RESULTS
from motcua.shared.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "migrations"

_STATUS: tuple[tuple[type[IntakeError], int], ...] = (
    (InvalidInput, 422),
    (NotFound, 404),
    (WrongCenter, 403),
    (Forbidden, 403),
    (Conflict, 409),
)


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """Build the app. Reads the reference data files; the pool and broker open in the
    lifespan."""
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime("intake", settings, MIGRATIONS)
    runtime.publishes(DOSSIERS, INTAKE_RESULTS)
    wiring = bootstrap.build(runtime, settings)
    handlers.register(runtime, wiring.intake)
    retention.register(runtime)
    personal_data.register(runtime, wiring.intake.book.statuses, settings.lookup_pepper_key)
    app = runtime.create_app(api.router, public.router, pages.router, title="motcua intake")
    pages.PAGES.install(app)
    app.state.intake = wiring
    app.add_exception_handler(IntakeError, _intake_error)  # type: ignore[arg-type]
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


async def _intake_error(_: Request, exc: IntakeError) -> JSONResponse:
    """A refused request: the status its error class means, a body naming the field."""
    status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 400)
    body: dict[str, object] = {"error": exc.message}
    if status == 422 and exc.field:
        body = {"error": "invalid request", "details": [{"field": exc.field, "error": exc.message}]}
    elif exc.field:
        body["field"] = exc.field
    if isinstance(exc, InvalidTransition):
        body |= {
            "operation": exc.op.value,
            "status": StatusOut.of(exc.current).model_dump(),
            "allowed": [op.value for op in exc.allowed],
        }
    return JSONResponse(body, status_code=status)
