"""Composition root of the registry service: settings, runtime, use cases, bus handlers,
the files loaded at start, HTTP routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from motcua.services.registry import api, handlers, pages
from motcua.services.registry.errors import (
    Invalid,
    NotFound,
    RegistryError,
    RevisionRequired,
    StaleRevision,
)
from motcua.services.registry.files import PROCEDURES_FILE, load_registry
from motcua.services.registry.settings import RegistrySettings
from motcua.services.registry.usecases import Registry
from motcua.shared.errors import ErrorMap
from motcua.shared.events.topics import REGISTRY
from motcua.shared.reference.lines import service_lines
from motcua.shared.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "migrations"

ERRORS: ErrorMap = {
    NotFound: 404,
    StaleRevision: 409,
    RevisionRequired: 428,
    Invalid: 422,
    RegistryError: 400,
}


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    """Build the app. No I/O happens here: the pool, the broker and the province's files
    open in the lifespan."""
    settings = settings or RegistrySettings()
    runtime = ServiceRuntime("registry", settings, MIGRATIONS)
    runtime.publishes(REGISTRY)
    # The use cases.
    registry = Registry(runtime, service_lines())
    # Bus handlers (none), then the files, applied once the pool is open. A bad file
    # stops the start with the file, line and field named: better than serving a
    # province half-configured.
    handlers.register(runtime)

    async def load(_: ServiceRuntime) -> None:
        if settings.load_on_start:
            files = load_registry(settings.dir)
            await registry.load_files(files.centers)
            # After the centers: a procedure's line may be one a center opens.
            if files.procedures is not None:
                await registry.load_procedures(files.procedures, file=PROCEDURES_FILE)

    runtime.on_startup.append(load)
    # HTTP.
    app = runtime.create_app(api.router, pages.router, title="motcua registry", errors=ERRORS)
    pages.PAGES.install(app)
    app.state.registry = registry
    return app
