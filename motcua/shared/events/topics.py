"""The topic registry: every stream, its partition count, its key, its events and
the one writer that owns it.

Keys keep one aggregate's events in order: queue events by ``center_id``,
dossier-related events by ``dossier_id``. Every topic has a dead-letter twin
``<topic>.dlq``. A prefix isolates deployments (and tests) sharing a cluster.

Ownership is a security rule, not only documentation: each event type lives on
exactly one stream, written by exactly one service (``owner``), so a consumer
believes an event only on its owner's topic (``belongs_on``), and the broker's
ACLs (``motcua.shared.events.access``) let only that owner's principal write there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from motcua.shared.events import catalog
from motcua.shared.events.envelope import Envelope, Payload

KeyField = Literal["center_id", "dossier_id", "command_id"]
Owner = Literal["queue", "intake", "deadlines", "notify", "registry", "clerk-apps"]
DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Stream:
    name: str
    partitions: int
    key: KeyField
    events: tuple[type[Payload], ...]
    description: str
    owner: Owner  # the one writer; "clerk-apps" only for the command topic

    def topic(self, prefix: str = "") -> str:
        return f"{prefix}{self.name}"

    def dlq(self, prefix: str = "") -> str:
        return f"{prefix}{self.name}{DLQ_SUFFIX}"


QUEUE = Stream(
    "queue.events",
    6,
    "center_id",
    catalog.QUEUE_EVENTS,
    "Tickets and counters of each center",
    owner="queue",
)
DOSSIERS = Stream(
    "dossier.events",
    12,
    "dossier_id",
    catalog.DOSSIER_EVENTS + catalog.DOCUMENT_EVENTS,
    "Dossier lifecycle",
    owner="intake",
)
DEADLINES = Stream(
    "deadline.events",
    6,
    "dossier_id",
    catalog.DEADLINE_EVENTS,
    "Legal clocks and lateness",
    owner="deadlines",
)
NOTIFICATIONS = Stream(
    "notification.events",
    3,
    "center_id",
    catalog.NOTIFICATION_EVENTS,
    "Notification outcomes and citizen feedback",
    owner="notify",
)
# The centers' staff directories, kept by notify (docs/staff.md): each member after a
# change, without name or contact, keyed by center so one center's revisions stay in
# order. A stream of its own, so that intake reads the directory and not every
# notification outcome.
STAFF = Stream(
    "staff.events",
    12,  # as the registry: never the smallest count a follower reads, so never its cap
    "center_id",
    catalog.STAFF_EVENTS,
    "Centers' staff directories (who may be assigned a dossier), by revision",
    owner="notify",
)
INTAKE_COMMANDS = Stream(
    "intake.commands",
    6,
    "dossier_id",
    (),
    "Commands from clerk apps to intake (JSON per docs/events/commands), each carrying "
    "its author's clerk token",
    owner="clerk-apps",
)
INTAKE_RESULTS = Stream(
    "intake.results",
    3,
    "command_id",
    catalog.INTAKE_RESULT_EVENTS,
    "Outcomes of clerk-app commands that intake refused",
    owner="intake",
)

# The center registry: each center's whole configuration after a change, and each
# procedure of the catalog after a change, keyed by center so that one center's (and one
# procedure's) revisions stay in order (followers still refuse an older one).
REGISTRY = Stream(
    "registry.events",
    12,  # as many as the most any follower reads, so it never caps their replicas
    "center_id",
    catalog.REGISTRY_EVENTS,
    "Centers' configuration (names, code, lines, counters, calendar) and the procedure "
    "catalog, by revision",
    owner="registry",
)

STREAMS: tuple[Stream, ...] = (
    QUEUE,
    DOSSIERS,
    DEADLINES,
    NOTIFICATIONS,
    INTAKE_COMMANDS,
    INTAKE_RESULTS,
    REGISTRY,
    STAFF,
)
_BY_EVENT: dict[str, Stream] = {p.EVENT_TYPE: s for s in STREAMS for p in s.events}
assert len(_BY_EVENT) == sum(len(s.events) for s in STREAMS), "an event type on two streams"


def stream_of(event_type: str) -> Stream:
    """The stream an event type is published on."""
    try:
        return _BY_EVENT[event_type]
    except KeyError:
        raise KeyError(f"event type {event_type!r} belongs to no stream") from None


def belongs_on(event_type: str, topic: str) -> bool:
    """Whether an event of this type may come from ``topic`` (``<prefix><stream>``): only
    its owner's topic. Anything else is a forgery or a misrouted write, never applied."""
    try:
        stream = stream_of(event_type)
    except KeyError:
        return False
    return topic.endswith(stream.name)


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
