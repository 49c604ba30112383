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
from fastapi import APIRouter, FastAPI, Request, Security
from fastapi.datastructures import DefaultPlaceholder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from motcua.shared.db import MISUSE, UNAVAILABLE
from motcua.shared.errors import DomainError, ErrorMap, refusal, status_of
from motcua.shared.logging import get_logger
from motcua.shared.policy import route_operations

log = get_logger(__name__)


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the offending input, e.g. contact.consent")
    error: str


class Refusal(BaseModel):
    """The body of every refusal: what went wrong, and for some errors more about it
    (the field, the resource and its id, the moves allowed from the current state)."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="What went wrong, naming the resource or the rule")
    field: str | None = Field(default=None, description="The offending input, if one")
    resource: str | None = Field(default=None, description="The kind of an unknown resource")
    id: str | None = Field(default=None, description="The identifier that was not found")
    details: list[FieldProblem] | None = None


class InvalidRequest(BaseModel):
    """A 422: every bad field, by name."""

    error: str = Field(description="Always 'invalid request'")
    details: list[FieldProblem]


Responses = dict[int | str, dict[str, Any]]

_WHY = {
    400: "Refused by the service's rules",
    401: "Missing, expired or invalid bearer token",
    403: "The token's role may not do this, or it is for another center",
    404: "Unknown resource",
    409: "The current state forbids it",
    413: "The request body is larger than the service accepts",
    422: "A malformed request; names each bad field",
    429: "Too many requests; retry after Retry-After",
    503: "Database unavailable; retry after Retry-After",
}


# Declares the token that ``motcua.shared.policy`` checks, so that the documents name the
# scheme (clients and test tools send it); the check itself stays in the policy.
_BEARER = Security(
    HTTPBearer(
        auto_error=False,
        scheme_name="bearer",
        description="A staff token, scoped to one center: motcua's own (`motcua token`) or an "
        "access token of the province's OpenID Connect provider (docs/sign-in.md)",
    )
)


def refusals(*statuses: int, json_route: bool = True) -> Responses:
    """OpenAPI ``responses`` for refusals with these statuses, in the shared body shape.

    A refusal is JSON even on a route that answers HTML; FastAPI would document a
    ``model`` in the route's own media type, so there the schema is named instead (a
    JSON route of the same app brings it into the document)."""

    def body(status: int) -> dict[str, Any]:
        model = InvalidRequest if status == 422 else Refusal
        if json_route:
            return {"model": model}
        ref = {"$ref": f"#/components/schemas/{model.__name__}"}
        return {"content": {"application/json": {"schema": ref}}}

    return {s: {**body(s), "description": _WHY.get(s, HTTPStatus(s).phrase)} for s in statuses}


def document_refusals(router: APIRouter, errors: ErrorMap) -> None:
    """Add to each route of ``router`` the refusals it can answer, derived from what
    answers them, so that the documents cannot drift from the code: every status of the
    service's ``errors`` table, 422 for a malformed request, 413 for an oversized body,
    503 while the database is away, and 401 and 403 where the route checks a token (whose
    bearer scheme it then declares).
    What a route documents itself wins, key by key: a route may give only a refusal's
    description. Call it before the router is included: FastAPI reads a response's model
    when it builds the app's route."""
    for route in router.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        statuses = {*errors.values(), 413, 422, 503}
        if route_operations(route.dependant):
            statuses |= {401, 403}
            if _BEARER not in route.dependencies:
                route.dependencies.append(_BEARER)
        answers = route.response_class
        if isinstance(answers, DefaultPlaceholder):
            answers = answers.value
        json_route = answers.media_type == "application/json"
        derived = refusals(*sorted(statuses), json_route=json_route)
        own = route.responses
        route.responses = {s: derived.get(s, {}) | own.get(s, {}) for s in {*derived, *own}}


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
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        if isinstance(detail, dict) and "error" in detail:
            body = detail
        elif isinstance(detail, str) and detail:
            body = {"error": detail}
        else:
            body = {"error": HTTPStatus(exc.status_code).phrase, "details": detail}
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

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


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on the request's path. Starlette's own ``Allow``
    names only the first route whose path matches, and a path such as
    ``/centers/{id}/tickets`` has a GET route and a POST route. Asked of the app's
    router one method at a time, so included routers answer for their own routes."""

    def served(method: str) -> bool:
        scope = {**request.scope, "method": method}
        return any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes)

    return [m for m in _METHODS if served(m)]


def _field(error: Any) -> str:
    """The dotted location of a validation error: the body's field, or ``body`` itself when
    the rule is on the whole body (not an object, undecodable, a model-level rule)."""
    loc = [str(p) for p in error["loc"]]
    if loc[:1] == ["body"]:
        loc = [] if error.get("type") == "json_invalid" else loc[1:]  # [1:] is the offset
    return ".".join(loc) or "body"
