"""The base of every service's domain errors, and how one becomes an HTTP answer.

A service declares once, in its ``app.py``, which status each of its error classes
means (``ServiceRuntime.create_app(..., errors={NotFound: 404, ...})``); the nearest
class in the error's MRO decides. The body is the same everywhere: ``{"error": ...}``,
and for a 422 that names a field, the shape a validation error has
(``{"error": "invalid request", "details": [{"field": ..., "error": ...}]}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """A request or command refused by a service's rules.

    ``field`` names the offending input when there is one; ``retry_after`` (seconds)
    tells a refused caller when to try again.
    """

    field: str | None = None
    retry_after: int | None = None

    @property
    def message(self) -> str:
        """What the caller is told."""
        return str(self)

    def extra(self) -> dict[str, Any]:
        """More of the answer's body, for an error that carries more than its message."""
        return {}


ErrorMap = Mapping[type[DomainError], int]
"""A service's error classes and the HTTP status each one means."""


def status_of(exc: DomainError, errors: ErrorMap) -> int:
    """The status of the nearest class in the error's MRO that ``errors`` names; 400
    for a refusal the service did not classify."""
    for cls in type(exc).__mro__:
        if cls in errors:
            return errors[cls]
    return 400


def refusal(exc: DomainError, status: int) -> tuple[dict[str, Any], dict[str, str]]:
    """The body and headers of the answer to ``exc`` with ``status``."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
    if status == 422 and exc.field:
        details = [{"field": exc.field, "error": exc.message}]
        return {"error": "invalid request", "details": details}, headers
    body: dict[str, Any] = {"error": exc.message}
    if exc.field:
        body["field"] = exc.field
    return body | exc.extra(), headers
