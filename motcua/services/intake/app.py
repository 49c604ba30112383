"""Composition root of the intake service: settings, runtime, use cases, bus handlers,
periodic jobs, HTTP routes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from motcua.services.intake import (
    api,
    document_api,
    document_pages,
    filing_pages,
    handlers,
    pages,
    personal_data,
    public,
    retention,
    submission_pages,
)
from motcua.services.intake.attachments import Attachments, register_retention
from motcua.services.intake.catalog import load_catalog, load_statuses
from motcua.services.intake.documents import Limits, TooLarge, Unsupported
from motcua.services.intake.domain import CLOSED_STEPS, Lifecycle
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
from motcua.services.intake.signing import SigningKeys
from motcua.services.intake.storage import Backend, DocumentStore, StorageUnavailable
from motcua.services.intake.storage.postgres import PostgresBackend
from motcua.services.intake.storage.s3 import S3Backend, S3Client, S3Config, S3Error
from motcua.services.intake.usecases import Intake, Wiring
from motcua.shared import crypto
from motcua.shared.calendar import WorkingCalendar
from motcua.shared.crypto import derive_key
from motcua.shared.errors import ErrorMap
from motcua.shared.events.topics import DOSSIERS, INTAKE_RESULTS
from motcua.shared.logging import get_logger
from motcua.shared.ratelimit import TokenBuckets
from motcua.shared.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "migrations"
log = get_logger(__name__)

ERRORS: ErrorMap = {
    TooLarge: 413,
    Unsupported: 415,
    StorageUnavailable: 503,
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
    attachments = _attachments(runtime, settings, wiring)
    # HTTP.
    app = runtime.create_app(
        api.router,
        public.router,
        document_api.router,
        pages.router,
        document_pages.router,
        filing_pages.router,
        submission_pages.router,
        title="motcua intake",
        errors=ERRORS,
    )
    document_api.stream_uploads(runtime)
    pages.PAGES.install(app)
    app.state.intake = wiring
    app.state.attachments = attachments
    # The counter console (served by queue) calls the clerk API from the browser. The token
    # is a bearer header, not a cookie, so credentials stay off.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PUT"],  # PUT: a component scanned at the counter
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


def _attachments(runtime: ServiceRuntime, settings: IntakeSettings, wiring: Wiring) -> Attachments:
    """The document store on the configured backend, the limits and the signing keys;
    the purge of documents joins the retention sweep."""
    backend: Backend
    if settings.documents_backend == "s3":
        if not (settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key):
            raise ValueError(
                "MOTCUA_INTAKE_DOCUMENTS_BACKEND=s3 needs MOTCUA_INTAKE_S3_ENDPOINT, "
                "MOTCUA_INTAKE_S3_ACCESS_KEY and MOTCUA_INTAKE_S3_SECRET_KEY"
            )
        client = S3Client(
            S3Config(
                endpoint=settings.s3_endpoint,
                bucket=settings.s3_bucket,
                access_key=settings.s3_access_key.get_secret_value(),
                secret_key=settings.s3_secret_key.get_secret_value(),
                region=settings.s3_region,
                prefix=settings.s3_prefix,
            )
        )

        async def bucket(_: ServiceRuntime) -> None:
            # A store that is away at start must not keep the service down: lookups and
            # receipts need no files, and uploads answer 503 until it is back.
            try:
                await client.ensure_bucket()
            except S3Error as exc:
                log.warning("intake.s3_unavailable", error=str(exc))

        runtime.on_startup.append(bucket)
        backend = S3Backend(client)
    else:
        backend = PostgresBackend(lambda: runtime.pool)
    store = DocumentStore(backend, lambda: runtime.pool)
    statuses = wiring.intake.book.statuses
    register_retention(runtime, store, sorted(statuses.code(s) for s in CLOSED_STEPS))
    keys = SigningKeys.load(settings.signing_key_dir, dev_mode=settings.dev_mode)
    runtime.on_startup.append(keys.announce)
    return Attachments(
        runtime=runtime,
        store=store,
        limits=Limits(settings.max_document_bytes, settings.max_dossier_document_bytes),
        keys=keys,
        statuses=statuses,
        tz=wiring.intake.calendar.tz,
        download_key=derive_key(
            settings.lookup_pepper.get_secret_value(), "motcua-document-download"
        ),
    )
