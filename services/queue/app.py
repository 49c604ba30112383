"""Composition root of the queue service: settings, runtime, bus handlers, HTTP routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.queue import api, handlers
from services.queue.settings import QueueSettings
from shared.events.topics import QUEUE
from shared.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: QueueSettings | None = None) -> FastAPI:
    """Build the app. No I/O happens here: the pool and broker open in the lifespan."""
    settings = settings or QueueSettings()
    runtime = ServiceRuntime("queue", settings, MIGRATIONS)
    runtime.publishes(QUEUE)
    handlers.register(runtime)
    return runtime.create_app(api.router, title="motcua queue")
