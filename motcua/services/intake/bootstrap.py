"""Wiring: the use cases, views and limiters one intake process shares.

Built once by ``create_app`` from the settings (reading the reference data files
then, not at import) and reached from routes through :func:`wiring`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from fastapi import Request

from motcua.services.intake.catalog import load_catalog, load_statuses
from motcua.services.intake.domain import Lifecycle
from motcua.services.intake.queries import Queries
from motcua.services.intake.schemas.responses import Views
from motcua.services.intake.settings import IntakeSettings
from motcua.services.intake.usecases import Intake
from motcua.shared import crypto
from motcua.shared.calendar import WorkingCalendar
from motcua.shared.ratelimit import TokenBuckets
from motcua.shared.runtime import ServiceRuntime


@dataclass
class Wiring:
    """Everything a request handler of this process needs."""

    runtime: ServiceRuntime
    settings: IntakeSettings
    intake: Intake
    queries: Queries
    views: Views
    lookups: TokenBuckets
    submissions: TokenBuckets

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """One unit of work: a pooled connection inside one transaction."""
        async with self.runtime.pool.acquire() as conn, conn.transaction():
            yield conn


def build(runtime: ServiceRuntime, settings: IntakeSettings) -> Wiring:
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


async def wiring(request: Request) -> Wiring:
    """FastAPI dependency: this process's :class:`Wiring` (async: no thread hop)."""
    found: Wiring = request.app.state.intake
    return found
