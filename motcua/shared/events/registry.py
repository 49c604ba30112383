"""Parse any event: one concrete envelope model per event type, and a
discriminated union over ``event_type`` that validates the right payload.

Unknown event types are not an error for a consumer (it must ignore them), so
parsing reports them separately from malformed messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from motcua.shared.events.catalog import ALL_EVENTS
from motcua.shared.events.envelope import MAX_EVENT_BYTES, Envelope, Payload


class EventError(ValueError):
    """Base of the errors raised when a message cannot become an event."""


class MalformedEvent(EventError):
    """Not JSON, too large, or not valid against its schema: dead-letter it."""


class UnknownEventType(EventError):
    """A well-formed envelope of a type this code does not know: ignore it."""


def _concrete(payload: type[Payload]) -> type[Envelope[Any]]:
    name = "".join(part.title() for part in payload.EVENT_TYPE.replace(".", "_").split("_"))
    model: Any = create_model(
        f"{name}Event",
        __base__=Envelope[payload],  # type: ignore[valid-type]
        __doc__=payload.__doc__ or f"The `{payload.EVENT_TYPE}` event.",
        event_type=(Literal[payload.EVENT_TYPE], ...),  # type: ignore[arg-type]
    )
    return model  # type: ignore[return-value]


ENVELOPES: dict[str, type[Envelope[Any]]] = {p.EVENT_TYPE: _concrete(p) for p in ALL_EVENTS}
PAYLOADS: dict[str, type[Payload]] = {p.EVENT_TYPE: p for p in ALL_EVENTS}

AnyEvent: Any = Annotated[
    Union[tuple(ENVELOPES.values())],  # noqa: UP007
    Field(discriminator="event_type"),
]
_any_event: TypeAdapter[Envelope[Any]] = TypeAdapter(AnyEvent)

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""(event_type, from_version) -> function turning that version's ``data`` into the next."""


class _Head(BaseModel):
    event_type: str
    schema_version: int = 1


def _upcast(raw: dict[str, Any]) -> dict[str, Any]:
    head = _Head.model_validate(raw)
    payload = PAYLOADS[head.event_type]
    version = head.schema_version
    data = raw.get("data")
    while version < payload.SCHEMA_VERSION:
        step = UPCASTERS.get((head.event_type, version))
        if step is None or not isinstance(data, dict):
            raise MalformedEvent(f"no upcaster for {head.event_type} v{version}")
        data, version = step(data), version + 1
    return {**raw, "data": data, "schema_version": version}


def parse_event(raw: bytes | str | dict[str, Any]) -> Envelope[Any]:
    """Bytes (or decoded JSON) to a typed envelope, or a clear ``EventError``."""
    if isinstance(raw, bytes | str):
        if len(raw) > MAX_EVENT_BYTES:
            raise MalformedEvent(f"event is {len(raw)} bytes; the limit is {MAX_EVENT_BYTES}")
        current = _current(raw)
        if current is not None:
            return current
        try:
            raw = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedEvent(f"not JSON: {exc}") from None
        except RecursionError:  # nesting deeper than the decoder allows: garbage, not data
            raise MalformedEvent("not JSON: nested too deeply") from None
    if not isinstance(raw, dict):
        raise MalformedEvent(f"an event is a JSON object, got {type(raw).__name__}")
    try:
        head = _Head.model_validate(raw)
    except ValidationError as exc:
        raise MalformedEvent(_describe(exc)) from None
    if head.event_type not in ENVELOPES:
        raise UnknownEventType(f"unknown event type {head.event_type!r}")
    if head.schema_version > PAYLOADS[head.event_type].SCHEMA_VERSION:
        raise UnknownEventType(f"{head.event_type} v{head.schema_version} is newer than this code")
    try:
        return _any_event.validate_python(_upcast(raw))
    except ValidationError as exc:
        raise MalformedEvent(_describe(exc)) from None


def _current(raw: bytes | str) -> Envelope[Any] | None:
    """The usual message, a known type at this code's version, validated straight from
    its JSON (no Python objects built only to be validated); None for anything else,
    which the full path then upcasts, classifies or refuses with its reason. Whatever
    pydantic's JSON parser refuses and ``json.loads`` takes (deeper nesting, a BOM,
    UTF-16) goes that way too, so it is read as before."""
    try:
        event = _any_event.validate_json(raw)
    except Exception:  # whatever it is, the full path says what it always said
        return None
    if event.schema_version != PAYLOADS[event.event_type].SCHEMA_VERSION:
        return None
    return event


def _describe(exc: ValidationError) -> str:
    """A short, field-naming description of a validation error."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def event_json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every event envelope, by event type."""
    return {name: model.model_json_schema() for name, model in sorted(ENVELOPES.items())}
