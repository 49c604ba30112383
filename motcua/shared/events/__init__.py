"""Event contracts: the envelope, the catalog of payloads, the topic registry."""

from motcua.shared.events.catalog import *  # noqa: F403
from motcua.shared.events.envelope import (
    MAX_EVENT_BYTES,
    Envelope,
    Payload,
    new_event,
    ticket_correlation,
    utcnow,
)
from motcua.shared.events.registry import (
    ENVELOPES,
    EventError,
    MalformedEvent,
    UnknownEventType,
    parse_event,
)
from motcua.shared.events.topics import STREAMS, Stream, key_of, stream_of

__all__ = [  # noqa: RUF022
    "MAX_EVENT_BYTES",
    "Envelope",
    "Payload",
    "new_event",
    "ticket_correlation",
    "utcnow",
    "ENVELOPES",
    "EventError",
    "MalformedEvent",
    "UnknownEventType",
    "parse_event",
    "STREAMS",
    "Stream",
    "key_of",
    "stream_of",
]
