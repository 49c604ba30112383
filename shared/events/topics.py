"""The topic registry: every stream, its partition count, its key and its events.

Keys keep one aggregate's events in order: queue events by ``center_id``,
dossier-related events by ``dossier_id``. Every topic has a dead-letter twin
``<topic>.dlq``. A prefix isolates deployments (and tests) sharing a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from shared.events import catalog
from shared.events.envelope import Envelope, Payload

KeyField = Literal["center_id", "dossier_id", "command_id"]
DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Stream:
    name: str
    partitions: int
    key: KeyField
    events: tuple[type[Payload], ...]
    description: str

    def topic(self, prefix: str = "") -> str:
        return f"{prefix}{self.name}"

    def dlq(self, prefix: str = "") -> str:
        return f"{prefix}{self.name}{DLQ_SUFFIX}"


QUEUE = Stream(
    "queue.events", 6, "center_id", catalog.QUEUE_EVENTS, "Tickets and counters of each center"
)
DOSSIERS = Stream("dossier.events", 12, "dossier_id", catalog.DOSSIER_EVENTS, "Dossier lifecycle")
DEADLINES = Stream(
    "deadline.events", 6, "dossier_id", catalog.DEADLINE_EVENTS, "Legal clocks and lateness"
)
NOTIFICATIONS = Stream(
    "notification.events",
    3,
    "center_id",
    catalog.NOTIFICATION_EVENTS,
    "Notification outcomes and citizen feedback",
)
INTAKE_COMMANDS = Stream(
    "intake.commands",
    6,
    "dossier_id",
    (),
    "Commands from clerk apps to intake (JSON per docs/events/commands)",
)
INTAKE_RESULTS = Stream(
    "intake.results",
    3,
    "command_id",
    catalog.INTAKE_RESULT_EVENTS,
    "Outcomes of clerk-app commands that intake refused",
)

STREAMS: tuple[Stream, ...] = (
    QUEUE,
    DOSSIERS,
    DEADLINES,
    NOTIFICATIONS,
    INTAKE_COMMANDS,
    INTAKE_RESULTS,
)
_BY_EVENT: dict[str, Stream] = {p.EVENT_TYPE: s for s in STREAMS for p in s.events}


def stream_of(event_type: str) -> Stream:
    """The stream an event type is published on."""
    try:
        return _BY_EVENT[event_type]
    except KeyError:
        raise KeyError(f"event type {event_type!r} belongs to no stream") from None


def key_of(event: Envelope[Any]) -> str:
    """The partition key of an event, per its stream's key rule."""
    stream = stream_of(event.event_type)
    if stream.key == "center_id":
        return event.center_id
    value = getattr(event.data, stream.key, None)
    if value is None:
        raise ValueError(f"{event.event_type} has no {stream.key} to key on")
    return str(value)


def all_topics(prefix: str = "") -> list[tuple[str, int]]:
    """Every topic with its partition count, dead-letter topics included."""
    out: list[tuple[str, int]] = []
    for s in STREAMS:
        out.append((s.topic(prefix), s.partitions))
        out.append((s.dlq(prefix), 1))
    return out
