"""Composition root of the intake service: settings, runtime, bus handlers, HTTP routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.intake import api, handlers
from services.intake.settings import IntakeSettings
from shared.events.topics import DOSSIERS
from shared.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """Build the app. No I/O happens here: the pool and broker open in the lifespan."""
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime("intake", settings, MIGRATIONS)
    runtime.publishes(DOSSIERS)
    handlers.register(runtime)
    return runtime.create_app(api.router, title="motcua intake")
