"""Hypothesis-generated malformed and adversarial events at every consumer, on the real broker.

For each topic a service consumes, hypothesis builds a corpus from valid events
of the topic's types and breaks them: wrong types, missing fields, huge strings,
timestamps far in the past and future (and without a time zone), unknown event
types and versions, truncated, non-JSON and deeply nested bytes, and pairs of
events sharing one ``event_id`` with different content. The corpus goes to one partition,
followed by a valid marker event. Then:

* every consumer of the topic applied the marker (the partition kept flowing);
* every malformed message is in ``<topic>.dlq`` once per consumer, with its
  original coordinates; no unknown-type message is;
* every well-formed one was either applied (its id is in the consumer's inbox)
  or dead-lettered after its retries: accounted for, nothing stuck;
* of two events with one id, only the first had an effect;
* every service still answers ready.

Intake's clerk-app commands get the same treatment on ``intake.commands``: every
message is filed once (applied or rejected), each rejection is answered by exactly
one ``command.rejected``, a reused command id has no second effect, and a valid
command after the corpus is applied.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from motcua.devtools import bus
from motcua.devtools.stack import AUTH_SECRET, CONTACT_KEY, Stack, token
from motcua.shared.auth import AuthError, verify_token
from motcua.shared.crypto import seal
from motcua.shared.events import catalog
from motcua.shared.events.envelope import MAX_EVENT_BYTES, Payload, new_event
from motcua.shared.events.registry import MalformedEvent, UnknownEventType, parse_event
from motcua.shared.events.topics import (
    DEADLINES,
    DOSSIERS,
    INTAKE_COMMANDS,
    INTAKE_RESULTS,
    QUEUE,
    Stream,
)
from motcua.shared.settings import KafkaSettings
from tests.fuzz.conftest import receipt, replayable
from tests.support.examples import examples
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

# Consumers (inbox name, schema) of each topic.
CONSUMERS: dict[str, tuple[tuple[str, str], ...]] = {
    QUEUE.name: (("intake", "intake"), ("notify", "notify")),
    DOSSIERS.name: (("deadlines", "deadlines"), ("notify", "notify")),
    DEADLINES.name: (("notify", "notify"),),
}
# A center of its own, so that the sample center's state, which the other fuzz modules
# compare before and after their requests, does not move while this corpus drains.
FUZZ_CENTER = "fuzz-events"
CORPUS = 45  # adversarial messages per topic
PAIRS = 4  # events sharing an id with an earlier one, per topic

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
moments = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@st.composite
def payloads(draw: st.DrawFn, stream: Stream) -> Payload:
    """A valid payload of one of the types the stream's consumers handle."""
    ticket = {
        "ticket_id": draw(st.uuids()),
        "number": draw(st.from_regex(r"[A-E][0-9]{3}", fullmatch=True)),
        "line_code": draw(st.sampled_from(["justice", "land", "other"])),
        "lookup_code": draw(st.from_regex(r"[A-Z0-9]{6}", fullmatch=True)),
    }
    dossier = {
        "dossier_id": draw(st.uuids()),
        "dossier_code": draw(text),
        "procedure_code": draw(st.sampled_from(["HT-XNTTHN", "CT-BANSAO", "NO-SUCH"])),
    }
    if stream is QUEUE:
        kind = draw(st.sampled_from(["issued", "called", "completed", "counter"]))
        if kind == "issued":
            contact = None
            if draw(st.booleans()):
                phone = draw(st.from_regex(r"09[0-9]{8}", fullmatch=True))
                contact = catalog.SealedContact(
                    kind="phone", sealed=seal(CONTACT_KEY, phone, str(ticket["ticket_id"]))
                )
            return catalog.TicketIssued(**ticket, issued_at=draw(moments), contact=contact)
        if kind == "called":
            return catalog.TicketCalled(**ticket, counter_id="Q1")
        if kind == "completed":
            return catalog.TicketServiceCompleted(**ticket, counter_id="Q2")
        return catalog.CounterOpened(counter_id=draw(text), line_codes=["justice"])
    if stream is DOSSIERS:
        kind = draw(st.sampled_from(["received", "supplement", "resolved", "returned"]))
        if kind == "received":
            received = draw(moments)
            return catalog.DossierReceived(
                **dossier,
                status=2,
                received_at=received,
                channel=draw(st.sampled_from(["counter", "online"])),
                time_limit=catalog.TimeLimitSnapshot(
                    amount=draw(st.integers(0, 1000)),
                    unit=draw(st.sampled_from(["working_days", "working_hours"])),
                ),
                appointment_at=received + timedelta(days=draw(st.integers(0, 400))),
            )
        if kind == "supplement":
            return catalog.DossierSupplementRequested(**dossier, status=5, reason=draw(text))
        if kind == "resolved":
            return catalog.DossierResolved(**dossier, status=9, outcome="approved")
        return catalog.DossierReturned(**dossier, status=10)
    due = draw(moments)
    if draw(st.booleans()):
        return catalog.DeadlineOverdue(
            **dossier, due_at=due, new_appointment_at=due + timedelta(days=draw(st.integers(0, 60)))
        )
    return catalog.DeadlineApproaching(
        **dossier, due_at=due, threshold="80%", working_seconds_left=draw(st.integers(-1, 10**7))
    )


def _event(payload: Payload, occurred_at: datetime | None = None) -> dict[str, Any]:
    event = new_event(payload, center_id=FUZZ_CENTER, producer="fuzz", occurred_at=occurred_at)
    raw: dict[str, Any] = json.loads(event.to_bytes())
    return raw


junk = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(st.integers(0, 9), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 9), max_size=2),
    text,
)


def break_field(draw: st.DrawFn, how: str, target: dict[str, Any]) -> None:
    """The damage events and commands share, done to one field of ``target``."""
    field = draw(st.sampled_from(sorted(target)))
    if how == "wrong type":
        target[field] = draw(junk)
    elif how == "missing field":
        del target[field]
    elif how == "huge string":
        target[field] = "Ư" * draw(st.integers(100, 40_000))


def encode_broken(draw: st.DrawFn, how: str, raw: dict[str, Any], nest: bytes) -> bytes:
    """``raw`` as bytes, cut short, replaced by garbage or by ``nest`` repeated, per ``how``."""
    encoded = json.dumps(raw, ensure_ascii=False).encode()
    if how == "truncated":
        return encoded[: draw(st.integers(0, len(encoded) - 1))]
    if how == "not JSON":
        return draw(st.binary(min_size=0, max_size=300))
    if how == "deeply nested":
        return nest * draw(st.integers(1_000, 10_000))
    return encoded


@st.composite
def adversarial(draw: st.DrawFn, stream: Stream) -> bytes:
    """One message a consumer of ``stream`` must survive."""
    raw = _event(draw(payloads(stream)), draw(st.one_of(st.none(), moments)))
    how = draw(
        st.sampled_from(
            [
                "wrong type",
                "missing field",
                "huge string",
                "far timestamp",
                "naive timestamp",
                "unknown type",
                "newer version",
                "truncated",
                "not JSON",
                "deeply nested",
                "extra fields",
                "valid",
            ]
        )
    )
    where = draw(st.sampled_from(["envelope", "data"]))
    target = raw if where == "envelope" or not isinstance(raw.get("data"), dict) else raw["data"]
    break_field(draw, how, target)
    if how == "far timestamp":
        times = [k for k in target if k.endswith("_at")] or ["occurred_at"]
        moment = draw(
            st.datetimes(
                min_value=datetime(1, 1, 2),
                max_value=datetime(9999, 12, 30),
                timezones=st.just(UTC),
            )
        )
        target[draw(st.sampled_from(sorted(times)))] = moment.isoformat()
    elif how == "naive timestamp":
        raw["occurred_at"] = "2026-03-02T09:00:00"
    elif how == "unknown type":
        raw["event_type"] = "fuzz." + draw(st.from_regex(r"[a-z_]{1,20}", fullmatch=True))
    elif how == "newer version":
        raw["schema_version"] = draw(st.integers(2, 10**6))
    elif how == "extra fields":
        target[draw(st.from_regex(r"[a-z_]{1,12}", fullmatch=True))] = draw(junk)
    return encode_broken(draw, how, raw, b"[")


def _read(value: bytes, parse: Callable[[bytes], Any] = parse_event) -> tuple[str, Any]:
    # An event that came without its time is given the time of reading.
    timed = b'"occurred_at"' in value
    try:
        return "valid", parse(value).model_dump(exclude=None if timed else {"occurred_at"})
    except UnknownEventType:
        return "unknown", None
    except MalformedEvent:
        return "malformed", None


def _decoded_first(value: bytes) -> tuple[str, Any]:
    """What ``parse_event`` makes of a message by way of ``json.loads`` (the path of
    decoded JSON, never validated from the bytes)."""
    if len(value) > MAX_EVENT_BYTES:
        return "malformed", None
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError):
        return "malformed", None
    return _read(value, lambda _: parse_event(decoded))


_VALID = _event(receipt("HS-00000001"))
_VALID_JSON = json.dumps(_VALID)


@pytest.mark.parametrize(
    "value",
    [
        _VALID_JSON.encode(),
        _VALID_JSON.encode("utf-16"),  # json.loads detects it; pydantic reads UTF-8 alone
        b"\xef\xbb\xbf" + _VALID_JSON.encode(),  # a byte order mark
        json.dumps(_VALID | {"x": json.loads("[" * 300 + "]" * 300)}).encode(),
        _VALID_JSON[:-1].encode() + b', "center_id": "other"}',  # the last one wins
        _VALID_JSON[:-1].encode() + b', "event_type": "ticket.called"}',
        _VALID_JSON.replace('"fuzz"', '"fu\tzz"').encode(),  # a raw control character
        _VALID_JSON.replace('"fuzz"', '"fu\\ud800zz"').encode(),  # a lone surrogate
        _VALID_JSON.encode() + b" x",
        _VALID_JSON.replace('"status": 2', '"status": 02').encode(),
        _VALID_JSON.replace('"status": 2', '"status": "2"').encode(),
        _VALID_JSON.replace('"schema_version": 1', '"schema_version": 2').encode(),
    ],
)
def test_an_event_reads_the_same_from_its_bytes_as_from_decoded_json(value: bytes) -> None:
    """Bytes are validated as JSON directly, falling back to ``json.loads`` and the
    decoded path for anything that way refuses: the answer is always the decoded one."""
    assert _read(value) == _decoded_first(value)


@replayable(examples(400))
@given(st.sampled_from([QUEUE, DOSSIERS, DEADLINES]).flatmap(adversarial))
def test_adversarial_events_read_the_same_from_bytes_as_decoded(value: bytes) -> None:
    assert _read(value) == _decoded_first(value)


def collect(strategy: st.SearchStrategy[Any], n: int) -> list[Any]:
    """``n`` examples of ``strategy``, the same ones on every run."""
    found: list[Any] = []

    @replayable(n)
    @given(strategy)
    def take(example: Any) -> None:
        found.append(example)

    take()
    return found[:n]


def classify(value: bytes) -> tuple[str, uuid.UUID | None]:
    """What a consumer must do with it: ``malformed`` (dead-letter), ``unknown``
    (ignore) or ``valid`` (apply, or dead-letter if its handler keeps failing)."""
    try:
        return "valid", parse_event(value).event_id
    except UnknownEventType:
        return "unknown", None
    except MalformedEvent:
        return "malformed", None


async def inboxed(conn: asyncpg.Connection, schema: str, consumer: str) -> set[uuid.UUID]:
    rows = await conn.fetch(f'SELECT event_id FROM "{schema}".inbox WHERE consumer = $1', consumer)
    return {r["event_id"] for r in rows}


async def unaccounted(
    kafka: KafkaSettings,
    conn: asyncpg.Connection,
    stream: Stream,
    values: list[bytes],
    sent: list[bus.Sent],
) -> list[str]:
    """Messages not (yet) where they belong: the DLQ, the inbox, or nowhere (unknown)."""
    topic = stream.topic(kafka.topic_prefix)
    dead = {
        (r.headers.get("x-consumer"), int(r.headers.get("x-original-offset", -1)))
        for r in await bus.read_topic(kafka, stream.dlq(kafka.topic_prefix))
        if r.headers.get("x-original-topic") == topic
        and r.headers.get("x-original-partition") == "0"
    }
    left: list[str] = []
    for consumer, schema in CONSUMERS[stream.name]:
        applied = await inboxed(conn, schema, consumer)
        for value, where in zip(values, sent, strict=True):
            kind, event_id = classify(value)
            hit = (consumer, where.offset) in dead
            if kind == "malformed" and not hit:
                left.append(f"{consumer}: malformed @{where.offset} not dead-lettered")
            if kind == "unknown" and hit:
                left.append(f"{consumer}: unknown type @{where.offset} dead-lettered")
            if kind == "valid" and not (event_id in applied or hit):
                left.append(f"{consumer}: valid @{where.offset} neither applied nor in DLQ")
    return left


def one_id(first: Payload, second: Payload) -> tuple[bytes, bytes]:
    """Two events, the second reusing the first's id."""
    a, b = _event(first), _event(second)
    b["event_id"] = a["event_id"]
    return json.dumps(a).encode(), json.dumps(b).encode()


def random_pairs(stream: Stream, n: int) -> list[tuple[bytes, bytes]]:
    """Events of the stream, each followed by another that reuses its id."""
    drawn = collect(payloads(stream), 2 * n)
    return [one_id(a, b) for a, b in zip(drawn[::2], drawn[1::2], strict=False)]


Counts = Callable[[asyncpg.Connection], Awaitable[list[int]]]


def effect_pair(stream: Stream) -> tuple[bytes, bytes, Counts] | None:
    """Two events with one id whose effects can be told apart: only the first may show.
    Also how many rows each has made, in each table it touches, in that order."""
    pair: list[Payload]
    if stream is DOSSIERS:
        received = [receipt(f"DUP-{i}") for i in range(2)]
        pair, ids = list(received), [r.dossier_id for r in received]
        where = [("deadlines.clocks", "dossier_id"), ("notify.dossiers", "dossier_id")]
    elif stream is QUEUE:
        served = [
            catalog.TicketServiceCompleted(
                ticket_id=uuid.uuid4(), number=f"A90{i}", line_code="justice", lookup_code="DUPDUP"
            )
            for i in range(2)
        ]
        pair, ids = list(served), [t.ticket_id for t in served]
        where = [("intake.served_tickets", "ticket_id")]
    else:
        return None

    async def counts(conn: asyncpg.Connection) -> list[int]:
        return [
            await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", i)
            for table, column in where
            for i in ids
        ]

    return *one_id(*pair), counts


def marker_of(stream: Stream) -> Any:
    payload: Payload
    if stream is DOSSIERS:
        payload = catalog.DossierReturned(
            dossier_id=uuid.uuid4(), dossier_code="MARK", procedure_code="CT-BANSAO", status=10
        )
    elif stream is QUEUE:
        payload = catalog.CounterClosed(counter_id="marker")
    else:
        payload = catalog.DeadlineSet(
            dossier_id=uuid.uuid4(),
            dossier_code="MARK",
            procedure_code="CT-BANSAO",
            due_at=datetime(2026, 6, 1, tzinfo=UTC),
        )
    return new_event(payload, center_id=FUZZ_CENTER, producer="fuzz")


@pytest.mark.parametrize("stream", [QUEUE, DOSSIERS, DEADLINES], ids=lambda s: s.name)
async def test_adversarial_events_are_dead_lettered_and_the_partition_flows_on(
    stack: Stack, stream: Stream
) -> None:
    assert stack.kafka is not None
    kafka = stack.kafka
    topic = stream.topic(kafka.topic_prefix)
    corpus = collect(adversarial(stream), CORPUS)
    pairs = random_pairs(stream, PAIRS)
    dup = effect_pair(stream)
    if dup is not None:
        pairs.append(dup[:2])
    marker = marker_of(stream)
    values = [*corpus, *(v for pair in pairs for v in pair), marker.to_bytes()]
    sent = await bus.send(kafka, [(topic, v, b"fuzz", 0) for v in values])

    conn = await asyncpg.connect(stack.db_url)
    try:
        for consumer, schema in CONSUMERS[stream.name]:
            await eventually(
                lambda c=consumer, s=schema: inboxed(conn, s, c),
                until=lambda ids: marker.event_id in ids,
                timeout=90,
                interval=0.3,
                what=f"{consumer} applied the marker after the corpus",
            )
        # A batch's bad messages are dead-lettered after its good ones commit: poll.
        stuck = await eventually(
            lambda: unaccounted(kafka, conn, stream, values, sent),
            until=lambda left: not left,
            timeout=30,
            interval=0.5,
            what="every message applied or dead-lettered",
        )
        assert not stuck
        kinds = [classify(v)[0] for v in corpus]
        assert kinds.count("malformed") >= 10, kinds
        assert kinds.count("valid") >= 3, kinds
        if dup is not None:
            counts = await dup[2](conn)
            half = len(counts) // 2
            # The first of each kind of effect is there once, the second not at all.
            assert counts == [1, 0] * half, counts
    finally:
        await conn.close()
    async with httpx.AsyncClient(timeout=10) as client:
        for proc in stack.processes.values():
            assert (await client.get(f"{proc.url}/readyz")).status_code == 200, proc.label


# ------------------------------------------------------------ intake.commands


@st.composite
def commands(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed clerk-app command: a receipt, or a step on some dossier."""
    kind = draw(st.sampled_from(["dossier.receive", "dossier.assign", "dossier.resolve"]))
    data: dict[str, Any] = {"assignee": draw(text)}
    if kind == "dossier.receive":
        data = {"procedure_code": draw(st.sampled_from(["HT-XNTTHN", "CT-BANSAO", "NOPE"]))}
    elif kind == "dossier.resolve":
        data = {"outcome": draw(st.sampled_from(["approved", "refused"]))}
    author = draw(text)
    return {
        "command_id": str(draw(st.uuids())),
        "command_type": kind,
        "center_id": FUZZ_CENTER,
        "issued_by": author,
        "token": token(FUZZ_CENTER, subject=author),
        "issued_at": draw(moments).isoformat(),
        "dossier_id": str(draw(st.uuids())),
        "data": data,
    }


@st.composite
def adversarial_commands(draw: st.DrawFn) -> bytes:
    raw = draw(commands())
    how = draw(
        st.sampled_from(
            ["wrong type", "missing field", "huge string", "far timestamp", "naive timestamp",
             "unknown type", "extra field", "truncated", "not JSON", "deeply nested", "valid"]
        )
    )  # fmt: skip
    break_field(draw, how, raw if draw(st.booleans()) else raw["data"])
    if how == "far timestamp":
        moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
        raw["issued_at"] = moment.replace(tzinfo=UTC).isoformat()
    elif how == "naive timestamp":
        raw["issued_at"] = "2026-03-02T09:00:00"
    elif how == "unknown type":
        raw["command_type"] = "dossier." + draw(st.from_regex(r"[a-z_]{1,20}", fullmatch=True))
    elif how == "extra field":
        raw["data"][draw(st.from_regex(r"[a-z_]{1,12}", fullmatch=True))] = draw(junk)
    return encode_broken(draw, how, raw, b'{"a":')


def command_key(value: bytes, topic: str, partition: int, offset: int) -> tuple[str, str]:
    """The idempotency key intake files a command under, and the command id its answer
    names. The key is the id if the command carries a valid clerk token, else (unreadable,
    or its author unproven) its coordinates; the answer names the id whenever it can be
    read, so a clerk app that forgot its token still learns which command failed."""
    try:
        decoded = json.loads(value)
    except (ValueError, UnicodeDecodeError, RecursionError):
        decoded = None
    fields = decoded if isinstance(decoded, dict) else {}
    where = f"{topic}@{partition}:{offset}"[-128:]
    command_id, proof = fields.get("command_id"), fields.get("token")
    readable = isinstance(command_id, str) and bool(command_id)
    named = command_id[:128] if readable else where
    if readable and isinstance(proof, str) and proof:
        try:
            verify_token(AUTH_SECRET, proof[:4096])
            return f"bus:{named}", named
        except AuthError:
            pass
    return f"bus:{where}", named


def clerk_command(command_id: str, kind: str, dossier_id: uuid.UUID, data: dict[str, Any]) -> bytes:
    """A command as a clerk app sends it now, on the fuzzing's center."""
    command = {
        "command_id": command_id,
        "command_type": kind,
        "center_id": FUZZ_CENTER,
        "issued_by": "clerk-app",
        "issued_at": datetime.now(UTC).isoformat(),
        "dossier_id": str(dossier_id),
        "token": token(FUZZ_CENTER, subject="clerk-app"),
        "data": data,
    }
    return json.dumps(command).encode()


async def test_adversarial_commands_are_each_answered_once_and_the_topic_flows_on(
    stack: Stack,
) -> None:
    assert stack.kafka is not None
    kafka = stack.kafka
    topic = INTAKE_COMMANDS.topic(kafka.topic_prefix)

    corpus = collect(adversarial_commands(), CORPUS)
    twins = [uuid.uuid4(), uuid.uuid4()]  # two dossiers, one command id
    twin_id = str(uuid.uuid4())
    first, second = (
        clerk_command(twin_id, "dossier.receive", d, {"procedure_code": "HT-XNTTHN"}) for d in twins
    )
    # Two commands with one id that is not a UUID: the id is still readable, so both are
    # filed under it and the second, a retry by the contract, gets no second rejection.
    odd_twins = [
        clerk_command("not-a-uuid", "dossier.assign", uuid.uuid4(), {"assignee": assignee})
        for assignee in ("officer-1", "officer-2")
    ]
    marker_dossier = uuid.uuid4()
    marker = clerk_command(
        str(uuid.uuid4()), "dossier.receive", marker_dossier, {"procedure_code": "CT-BANSAO"}
    )
    values = [*corpus, first, second, *odd_twins, marker]
    sent = await bus.send(kafka, [(topic, v, b"fuzz", 0) for v in values])
    conn = await asyncpg.connect(stack.db_url)
    try:
        await eventually(
            lambda: conn.fetchval(
                "SELECT count(*) FROM intake.dossiers WHERE id = $1", marker_dossier
            ),
            until=lambda n: n == 1,
            timeout=90,
            interval=0.3,
            what="the marker command applied after the corpus",
        )
        filed = [
            command_key(v, topic, s.partition, s.offset) for v, s in zip(values, sent, strict=True)
        ]
        keys = [key for key, _ in filed]
        answer_of = dict(filed)
        outcomes = {
            r["command_key"]: r["outcome"]
            for r in await conn.fetch(
                "SELECT command_key, outcome FROM intake.processed_commands"
                " WHERE command_key = ANY($1::text[])",
                keys,
            )
        }
        unanswered = [k for k in keys if k not in outcomes]
        assert not unanswered, unanswered
        # One answer per refused key (an id, or the coordinates of an unproven message).
        expected = Counter(answer_of[k] for k, o in outcomes.items() if o == "rejected")
        assert expected.total() >= 10

        def named(records: list[Any]) -> Counter[str]:
            return Counter(json.loads(r.value)["data"]["command_id"] for r in records)

        answers = await eventually(
            lambda: bus.read_topic(kafka, INTAKE_RESULTS.topic(kafka.topic_prefix)),
            until=lambda records: not expected - named(records),
            what="a command.rejected for each refused command",
        )
        got = named(answers)
        assert {c: got[c] for c in expected} == dict(expected)  # once each, never twice
        assert outcomes["bus:not-a-uuid"] == "rejected"
        assert got["not-a-uuid"] == 1
        # The twin reused an applied command's id: no second dossier.
        created = [
            await conn.fetchval("SELECT count(*) FROM intake.dossiers WHERE id = $1", d)
            for d in twins
        ]
        assert created == [1, 0]
    finally:
        await conn.close()
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{stack.url('intake')}/readyz")).status_code == 200
