"""Poison and garbage on every topic, and the accounting of where each one ended.

An event consumer must dead-letter what it cannot parse (``<topic>.dlq``, one
copy per consumer group that read it, with the error and the original
coordinates in the headers) and ignore well-formed events of a type or version
it does not know. Intake's command consumer answers a bad command with one
``command.rejected`` instead. Topics that no service consumes keep their garbage
untouched.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from motcua.devtools import bus
from motcua.devtools.stack import CENTER, token
from motcua.shared.events import catalog
from motcua.shared.events.access import READS, WRITERS
from motcua.shared.events.envelope import MAX_EVENT_BYTES, Payload, new_event
from motcua.shared.events.topics import INTAKE_COMMANDS, INTAKE_RESULTS, STREAMS, Stream
from motcua.shared.settings import KafkaSettings

FAR = "0001-01-01T00:00:00+07:00"  # no such instant once converted to UTC

# What each consumer is called in the DLQ headers, by the group that reads a stream: the
# services that read it (the bus grants, access.READS). Intake answers a bad command with
# command.rejected instead of dead-lettering it; the clerk apps are not ours.
CONSUMERS: dict[str, tuple[str, ...]] = {
    s.name: ()
    if s is INTAKE_COMMANDS
    else tuple(o for o in WRITERS if o != "clerk-apps" and s in READS[o])
    for s in STREAMS
}


@dataclass(frozen=True)
class Poison:
    label: str
    value: bytes | None
    malformed: bool  # must be dead-lettered (vs. ignored as unknown)
    command_id: str | None = None  # intake.commands: the id its rejection names


def _sample(stream: Stream) -> dict[str, Any]:
    """A valid event of the stream's first type, as JSON, to mutate."""
    payload: Payload
    dossier = uuid.uuid4()
    samples: dict[str, Payload] = {
        "queue.events": catalog.TicketCancelled(
            ticket_id=uuid.uuid4(), number="Z001", line_code="other", lookup_code="ZZZZ"
        ),
        "dossier.events": catalog.DossierWithdrawn(
            dossier_id=dossier, dossier_code="POISON", procedure_code="CT-BANSAO", status=8
        ),
        "deadline.events": catalog.DeadlineSet(
            dossier_id=dossier,
            dossier_code="POISON",
            procedure_code="CT-BANSAO",
            due_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
        ),
        "notification.events": catalog.FeedbackReceived(dossier_id=dossier, rating=3),
        "intake.results": catalog.CommandRejected(command_id="poison", reason="poison"),
        "registry.events": catalog.CenterConfigured(
            center_id=CENTER,
            name="Poison",
            name_en="Poison",
            code="PZ",
            lines=[catalog.CenterLine(code="other", prefix="Z")],
            counters=[catalog.CenterCounter(counter_id="Z1", name="Z1", line_codes=["other"])],
            revision=1,
        ),
        "staff.events": catalog.StaffConfigured(
            staff_id="poison", role="officer", active=False, revision=1
        ),
    }
    payload = samples[stream.name]
    event = new_event(payload, center_id=CENTER, producer="chaos")
    raw: dict[str, Any] = json.loads(event.to_bytes())
    return raw


def corpus(stream: Stream) -> list[Poison]:
    """The garbage for one topic: undecodable, invalid, oversized, unknown."""
    if stream.name == INTAKE_COMMANDS.name:
        return _commands()
    garbage = [
        Poison("binary", b"\x00\x01\xfe\xff\x80garbage", True),
        Poison("not JSON", b"<html><body>oops</body></html>", True),
        Poison("JSON array", b"[1, 2, 3]", True),
        Poison("empty object", b"{}", True),
        Poison("null value", None, True),
    ]
    sample = _sample(stream)
    wrong = json.loads(json.dumps(sample))
    wrong["occurred_at"] = "yesterday"
    wrong["data"] = {k: [1, 2] for k in wrong["data"]}  # every field the wrong type
    garbage.append(Poison("wrong types", json.dumps(wrong).encode(), True))
    huge = json.loads(json.dumps(sample))
    huge["producer"] = "x" * (MAX_EVENT_BYTES + 10)
    garbage.append(Poison("oversized", json.dumps(huge).encode(), True))
    unknown = json.loads(json.dumps(sample)) | {"event_type": "chaos.unheard_of"}
    garbage.append(Poison("unknown type", json.dumps(unknown).encode(), False))
    newer = json.loads(json.dumps(sample)) | {"schema_version": 99}
    garbage.append(Poison("future version", json.dumps(newer).encode(), False))
    # Two that once stalled the consumers (the parsers raised instead of refusing).
    garbage.append(Poison("JSON nested 4000 deep", b"[" * 4000, True))
    far = json.loads(json.dumps(sample)) | {"occurred_at": FAR}
    garbage.append(Poison("time out of range in UTC", json.dumps(far).encode(), True))
    return garbage


def _commands() -> list[Poison]:
    def command(**fields: Any) -> dict[str, Any]:
        return {
            "command_id": str(uuid.uuid4()),
            "command_type": "dossier.assign",
            "center_id": CENTER,
            "issued_by": "chaos",
            "issued_at": datetime.now(UTC).isoformat(),
            "dossier_id": str(uuid.uuid4()),
            "token": token(CENTER, subject="chaos"),  # a clerk's faulty command, not a forgery
            "data": {"assignee": "nobody"},
        } | fields

    unknown_type = command(command_type="dossier.teleport")
    far = command(issued_at=FAR)
    bad_data = command(data={"assignee": 42, "colour": "blue"})
    missing = command(dossier_id=str(uuid.uuid4()))  # a dossier that does not exist
    huge = command(data={"assignee": "x" * (MAX_EVENT_BYTES + 10)})
    return [
        Poison("binary", b"\x00\x01\xfe\xff\x80garbage", True),
        Poison("not JSON", b"<html>oops</html>", True),
        Poison("JSON array", b"[1, 2, 3]", True),
        Poison("null value", None, True),
        Poison("JSON nested 4000 deep", b"[" * 4000, True),
        *(
            Poison(label, json.dumps(c).encode(), True, c["command_id"])
            for label, c in (
                ("time out of range in UTC", far),
                ("unknown command type", unknown_type),
                ("wrong types", bad_data),
                ("unknown dossier", missing),
                ("oversized", huge),
            )
        ),
    ]


@dataclass
class TopicAccount:
    topic: str
    injected: int = 0
    malformed: int = 0
    ignored: int = 0  # well-formed but unknown: no consumer may dead-letter them
    consumers: tuple[str, ...] = ()
    dead_lettered: int = 0  # distinct (consumer, original offset) in the DLQ
    expected_dead_letters: int = 0
    rejected: int = 0  # intake.commands: command.rejected answers found
    misplaced: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.dead_lettered == self.expected_dead_letters and not self.misplaced


@dataclass
class Injection:
    sent: dict[str, list[tuple[Poison, bus.Sent]]] = field(default_factory=dict)


async def inject(
    kafka: KafkaSettings, corpus_of: Callable[[Stream], list[Poison]] | None = None
) -> Injection:
    """Produce a corpus (by default :func:`corpus`) to every topic, over its partitions."""
    batch: list[tuple[str, Poison]] = []
    messages: list[tuple[str, bytes | None, bytes | None, int | None]] = []
    for stream in STREAMS:
        for i, poison in enumerate((corpus_of or corpus)(stream)):
            batch.append((stream.name, poison))
            topic = stream.topic(kafka.topic_prefix)
            messages.append((topic, poison.value, b"poison", i % stream.partitions))
    injection = Injection()
    for (stream_name, poison), where in zip(batch, await bus.send(kafka, messages), strict=True):
        injection.sent.setdefault(stream_name, []).append((poison, where))
    return injection


async def account(kafka: KafkaSettings, injection: Injection) -> list[TopicAccount]:
    """Where every injected message ended."""
    out = []
    results = await bus.read_topic(kafka, INTAKE_RESULTS.topic(kafka.topic_prefix))
    dead_letters = await bus.read_topics(kafka, [s.dlq(kafka.topic_prefix) for s in STREAMS])
    rejected_ids: Counter[str] = Counter()
    for r in results:
        try:
            event = json.loads(r.value)
            command_id = event["data"]["command_id"]
        except (ValueError, KeyError, TypeError, RecursionError):
            continue  # our own garbage on this topic
        if event.get("event_type") == "command.rejected" and isinstance(command_id, str):
            rejected_ids[command_id] += 1
    for stream in STREAMS:
        sent = injection.sent.get(stream.name, [])
        acc = TopicAccount(stream.topic(kafka.topic_prefix), consumers=CONSUMERS[stream.name])
        acc.injected = len(sent)
        acc.malformed = sum(p.malformed for p, _ in sent)
        acc.ignored = acc.injected - acc.malformed
        dlq = dead_letters[stream.dlq(kafka.topic_prefix)]
        seen = {
            (
                r.headers.get("x-consumer"),
                r.headers.get("x-original-partition"),
                r.headers.get("x-original-offset"),
            )
            for r in dlq
            if r.headers.get("x-original-topic") == acc.topic
        }
        coordinates = {(str(s.partition), str(s.offset)): p for p, s in sent}
        for consumer in acc.consumers:
            for (partition, offset), poison in coordinates.items():
                hit = (consumer, partition, offset) in seen
                if poison.malformed:
                    acc.expected_dead_letters += 1
                    acc.dead_lettered += hit
                    if not hit:
                        acc.misplaced.append(f"{poison.label}: not dead-lettered by {consumer}")
                elif hit:
                    acc.misplaced.append(f"{poison.label}: dead-lettered by {consumer}")
        if stream.name == INTAKE_COMMANDS.name:
            for poison, s in sent:
                name = poison.command_id or f"{acc.topic}@{s.partition}:{s.offset}"
                found = rejected_ids.get(name, 0)
                acc.rejected += min(found, 1)
                if found != 1:
                    acc.misplaced.append(f"{poison.label}: {found} command.rejected (wanted 1)")
        out.append(acc)
    return out
