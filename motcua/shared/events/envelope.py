"""The versioned envelope every message on the bus travels in.

The envelope is the same for every event; what varies is ``event_type`` and the
typed ``data`` payload. Consumers key idempotency on ``event_id`` and must ignore
fields they do not know, so payload models allow extra fields on input.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

MAX_EVENT_BYTES = 64 * 1024
"""Largest serialised event accepted anywhere on the bus (a clear error, not a crash)."""


class Payload(BaseModel):
    """Base of every event payload.

    An event's class names its type once, in its header, e.g.
    ``class DossierReceived(DossierFacts, event_type="dossier.received")``: a past-tense
    noun that the envelope, the registry, the topics and the documents all read from
    ``EVENT_TYPE``. ``SCHEMA_VERSION`` is its version; changes within a version are
    additive only. A base that only shares fields (``DossierFacts``) names no type.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    EVENT_TYPE: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 1

    def __init_subclass__(cls, *, event_type: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if event_type:
            cls.EVENT_TYPE = event_type


P = TypeVar("P", bound=Payload, covariant=True)
"""Covariant: an envelope is frozen, so an ``Envelope[DossierReceived]`` is an
``Envelope[DossierFacts]`` and one handler may take every event sharing a base."""


Q = TypeVar("Q", bound=Payload)
"""A payload's own class, for functions that wrap it (invariant, unlike ``P``)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+07:00: no such instant in UTC
        raise ValueError("the time is out of range once converted to UTC") from None


UtcTime = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""An aware time, kept in UTC: the bus compares and stores instants, not local times."""


class Message(BaseModel):
    """What travels on the bus (an event or a command): frozen, tolerant of fields it
    does not know, written as JSON bytes."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class Envelope(Message, Generic[P]):
    """One event as it travels: identity, provenance, time and a typed payload."""

    # Required on the wire: consumers dedupe on it, so an id made up on reading would
    # apply every redelivery of the event again.
    event_id: uuid.UUID
    event_type: str = Field(min_length=1, max_length=100)
    schema_version: int = Field(default=1, ge=1)
    # Required on the wire too: deadline clocks run from when things happened, so an
    # event without its time is refused rather than dated to whenever it was read.
    occurred_at: UtcTime
    center_id: str = Field(min_length=1, max_length=64)
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    producer: str = Field(min_length=1, max_length=64)
    data: P

    def caused(self, payload: Q, *, producer: str, center_id: str | None = None) -> Envelope[Q]:
        """A new event caused by this one: same correlation, causation = this event."""
        return new_event(
            payload,
            center_id=center_id or self.center_id,
            producer=producer,
            correlation_id=self.correlation_id or self.event_id,
            causation_id=self.event_id,
        )


_TICKET_CHAIN = uuid.UUID("6d6f7463-7561-4b74-8963-6b6574636861")


def ticket_correlation(ticket_id: uuid.UUID) -> uuid.UUID:
    """The correlation id of everything that follows from one queue ticket: its own
    events, the dossier received from it, and the notifications about either. Derived,
    not looked up, so services agree on it without calling each other."""
    return uuid.uuid5(_TICKET_CHAIN, str(ticket_id))


def new_event(
    payload: Q,
    *,
    center_id: str,
    producer: str,
    correlation_id: uuid.UUID | None = None,
    causation_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> Envelope[Q]:
    """Wrap ``payload`` in a fresh envelope of its class's event type; the event id
    doubles as correlation id when the event starts a new chain."""
    from motcua.shared.events.registry import ENVELOPES  # the concrete model of this type

    eid = event_id or uuid.uuid4()
    model: Any = ENVELOPES.get(payload.EVENT_TYPE) or Envelope[type(payload)]  # type: ignore[misc]
    envelope: Envelope[Q] = model(
        event_id=eid,
        event_type=payload.EVENT_TYPE,
        schema_version=payload.SCHEMA_VERSION,
        occurred_at=occurred_at or utcnow(),
        center_id=center_id,
        correlation_id=correlation_id or eid,
        causation_id=causation_id,
        producer=producer,
        data=payload,
    )
    return envelope
