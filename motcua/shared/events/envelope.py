"""The versioned envelope every message on the bus travels in.

The envelope is the same for every event; what varies is ``event_type`` and the
typed ``data`` payload. Consumers key idempotency on ``event_id`` and must ignore
fields they do not know, so payload models allow extra fields on input.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

MAX_EVENT_BYTES = 64 * 1024
"""Largest serialised event accepted anywhere on the bus (a clear error, not a crash)."""


class Payload(BaseModel):
    """Base of every event payload.

    ``EVENT_TYPE`` names the event (a past-tense noun such as ``dossier.received``)
    and ``SCHEMA_VERSION`` its version; changes within a version are additive only.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    EVENT_TYPE: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 1


P = TypeVar("P", bound=Payload)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel, Generic[P]):
    """One event as it travels: identity, provenance, time and a typed payload."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # Required on the wire: consumers dedupe on it, so an id made up on reading would
    # apply every redelivery of the event again.
    event_id: uuid.UUID
    event_type: str = Field(min_length=1, max_length=100)
    schema_version: int = Field(default=1, ge=1)
    # Required on the wire too: deadline clocks run from when things happened, so an
    # event without its time is refused rather than dated to whenever it was read.
    occurred_at: AwareDatetime
    center_id: str = Field(min_length=1, max_length=64)
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    producer: str = Field(min_length=1, max_length=64)
    data: P

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00+07:00: no such instant in UTC
            raise ValueError("the time is out of range once converted to UTC") from None

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    def caused(
        self, payload: Payload, *, producer: str, center_id: str | None = None
    ) -> Envelope[Any]:
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
    payload: Payload,
    *,
    center_id: str,
    producer: str,
    correlation_id: uuid.UUID | None = None,
    causation_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> Envelope[Any]:
    """Wrap ``payload`` in a fresh envelope; the event id doubles as correlation id
    when the event starts a new chain."""
    from motcua.shared.events.registry import ENVELOPES  # the concrete model of this type

    eid = event_id or uuid.uuid4()
    model: Any = ENVELOPES.get(payload.EVENT_TYPE) or Envelope[type(payload)]  # type: ignore[misc]
    envelope: Envelope[Any] = model(
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
