"""The ``Idempotency-Key`` request header, declared the same way by every service that
takes one, so that its OpenAPI parameter states exactly what the service accepts."""

from __future__ import annotations

from typing import Any

from fastapi import Header

# Printable ASCII without spaces: a proxy may trim a header's surrounding spaces, which
# would make the key the server sees differ from the one the client retried with.
PATTERN = r"^[!-~]+$"


def idempotency_key(min_length: int, max_length: int, description: str) -> Any:
    """``key: Annotated[str | None, idempotency_key(8, 128, "...")] = None`` in a route's
    signature: an optional header, documented as a plain string with its lengths and
    pattern (never ``null``: a header is either absent or text)."""

    def as_string(schema: dict[str, Any]) -> None:
        schema.pop("anyOf", None)
        schema.update(type="string", minLength=min_length, maxLength=max_length, pattern=PATTERN)

    return Header(
        alias="Idempotency-Key",
        min_length=min_length,
        max_length=max_length,
        pattern=PATTERN,
        description=description,
        json_schema_extra=as_string,
    )
