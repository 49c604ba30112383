"""Composition root of the deadlines service: settings, runtime, bus handlers, HTTP routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.deadlines import api, handlers
from services.deadlines.settings import DeadlinesSettings
from shared.events.topics import DEADLINES
from shared.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: DeadlinesSettings | None = None) -> FastAPI:
    """Build the app. No I/O happens here: the pool and broker open in the lifespan."""
    settings = settings or DeadlinesSettings()
    runtime = ServiceRuntime("deadlines", settings, MIGRATIONS)
    runtime.publishes(DEADLINES)
    handlers.register(runtime)
    return runtime.create_app(api.router, title="motcua deadlines")
