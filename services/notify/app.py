"""Composition root of the notify service: settings, runtime, bus handlers, HTTP routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.notify import api, handlers
from services.notify.settings import NotifySettings
from shared.events.topics import NOTIFICATIONS
from shared.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    """Build the app. No I/O happens here: the pool and broker open in the lifespan."""
    settings = settings or NotifySettings()
    runtime = ServiceRuntime("notify", settings, MIGRATIONS)
    runtime.publishes(NOTIFICATIONS)
    handlers.register(runtime)
    return runtime.create_app(api.router, title="motcua notify")
