"""The HTTP error contract every service shares: one body shape for every refusal.

Every refusal reads ``{"error": ...}``; a 422 names each bad field; a database that is
away is a 503 with ``Retry-After``; a crash is a 500 that shows no trace. A service's
own domain errors are mapped to their status here too, from the table its ``app.py``
declares (``motcua.shared.errors``).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from motcua.shared.db import MISUSE, UNAVAILABLE
from motcua.shared.errors import DomainError, ErrorMap, refusal, status_of
from motcua.shared.logging import get_logger

log = get_logger(__name__)


def install_error_handlers(app: FastAPI, errors: ErrorMap | None = None) -> None:
    """Clear errors: every refusal reads ``{"error": ...}``, a 422 names each bad field,
    503 when the database is away, never a trace; each of the service's ``errors`` with
    the status the table gives its nearest class."""
    table = dict(errors or {})

    @app.exception_handler(DomainError)
    async def refused(_: Request, exc: DomainError) -> JSONResponse:
        status = status_of(exc, table)
        body, headers = refusal(exc, status)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e), "error": e["msg"]} for e in exc.errors()]
        return JSONResponse({"error": "invalid request", "details": errors}, status_code=422)

    # Starlette's class, so that its own refusals (404 and 405 of the router, 400 for a
    # body that cannot be decoded) keep the shape too, not only FastAPI's subclass.
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        if isinstance(detail, dict) and "error" in detail:
            body = detail
        elif isinstance(detail, str) and detail:
            body = {"error": detail}
        else:
            body = {"error": HTTPStatus(exc.status_code).phrase, "details": detail}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    # PostgreSQL text cannot hold NUL (nor jsonb a \u0000); such a value can only come
    # from the request, so it is the request that is refused, naming where it was.
    @app.exception_handler(asyncpg.CharacterNotInRepertoireError)
    @app.exception_handler(asyncpg.UntranslatableCharacterError)
    async def unstorable(request: Request, _: Exception) -> JSONResponse:
        places = [
            f"{where}.{name}"
            for where, params in (
                ("path", request.path_params.items()),
                ("query", request.query_params.multi_items()),
            )
            for name, value in params
            if "\x00" in str(value)
        ]
        errors = [
            {"field": field, "error": "text may not contain the NUL character"}
            for field in places or ["body"]
        ]
        return JSONResponse({"error": "invalid request", "details": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def crashed(_: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the trace after this answer; the client only learns it failed.
        return JSONResponse({"error": "internal error"}, status_code=500)

    # Registered per class: Starlette picks the nearest class in the MRO, so a misuse
    # (a subclass of InterfaceError) is a 500, never "unavailable, retry".
    for exc_type in MISUSE:
        if issubclass(exc_type, Exception):
            app.add_exception_handler(exc_type, crashed)

    for exc_type in UNAVAILABLE:
        if not issubclass(exc_type, Exception):
            continue

        @app.exception_handler(exc_type)
        async def unavailable(_: Request, exc: Exception) -> JSONResponse:
            log.warning("http.database_unavailable", error=repr(exc))
            return JSONResponse(
                {"error": "service temporarily unavailable, please retry"},
                status_code=503,
                headers={"Retry-After": "2"},
            )


def _field(error: Any) -> str:
    """The dotted location of a validation error: the body's field, or ``body`` itself when
    the rule is on the whole body (not an object, undecodable, a model-level rule)."""
    loc = [str(p) for p in error["loc"]]
    if loc[:1] == ["body"]:
        loc = [] if error.get("type") == "json_invalid" else loc[1:]  # [1:] is the offset
    return ".".join(loc) or "body"
