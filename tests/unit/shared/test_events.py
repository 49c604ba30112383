"""The envelope and the catalog: parsing, errors that name the field, keys, upcasting."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from motcua.shared.events import (
    ENVELOPES,
    MAX_EVENT_BYTES,
    MalformedEvent,
    UnknownEventType,
    key_of,
    new_event,
    parse_event,
    registry,
    stream_of,
)
from motcua.shared.events.catalog import (
    ALL_EVENTS,
    DossierReceived,
    TicketCalled,
    TimeLimitSnapshot,
)

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def received(**over: Any) -> DossierReceived:
    fields: dict[str, Any] = {
        "dossier_id": uuid.uuid4(),
        "dossier_code": "NC-20260302-0001",
        "procedure_code": "CT-BANSAO",
        "status": 2,
        "received_at": NOW,
        "channel": "counter",
        "time_limit": TimeLimitSnapshot(amount=0, unit="working_days", rollover=True),
        "appointment_at": NOW + timedelta(hours=8),
    } | over
    return DossierReceived(**fields)


def test_round_trip_gives_the_typed_payload() -> None:
    event = new_event(received(), center_id="nam-cuong", producer="intake")
    parsed = parse_event(event.to_bytes())
    assert isinstance(parsed.data, DossierReceived)
    assert parsed == event
    assert parsed.correlation_id == event.event_id  # a new chain correlates on itself


def test_caused_event_keeps_correlation_and_points_back() -> None:
    first = new_event(received(), center_id="c", producer="intake")
    second = first.caused(received(), producer="deadlines")
    assert second.correlation_id == first.correlation_id
    assert second.causation_id == first.event_id


def test_every_catalog_type_has_an_envelope_and_a_stream() -> None:
    assert set(ENVELOPES) == {p.EVENT_TYPE for p in ALL_EVENTS}
    for payload in ALL_EVENTS:
        assert stream_of(payload.EVENT_TYPE).events.count(payload) == 1


def test_dossier_events_key_on_the_dossier_and_queue_events_on_the_center() -> None:
    d = received()
    assert key_of(new_event(d, center_id="c1", producer="intake")) == str(d.dossier_id)
    t = TicketCalled(ticket_id=uuid.uuid4(), number="A001", line_code="TP", lookup_code="x1")
    assert key_of(new_event(t, center_id="c1", producer="queue")) == "c1"


def test_occurred_at_is_normalised_to_utc_and_must_be_aware() -> None:
    ict = timezone(timedelta(hours=7))
    event = new_event(received(), center_id="c", producer="p", occurred_at=NOW.astimezone(ict))
    assert parse_event(event.to_bytes()).occurred_at.utcoffset() == timedelta(0)
    raw = json.loads(event.to_bytes())
    raw["occurred_at"] = "2026-03-02T09:00:00"
    with pytest.raises(MalformedEvent, match="occurred_at"):
        parse_event(json.dumps(raw))


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"\xff\xfe not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b"{}", "event_type"),
        (b'{"event_type": "dossier.received", "center_id": "c", "producer": "p"}', "data"),
    ],
)
def test_malformed_messages_name_the_problem(raw: bytes, fragment: str) -> None:
    with pytest.raises(MalformedEvent, match=fragment):
        parse_event(raw)


def test_wrong_field_type_is_named() -> None:
    raw = json.loads(new_event(received(), center_id="c", producer="p").to_bytes())
    raw["data"]["status"] = "two"
    with pytest.raises(MalformedEvent, match=r"data\.status"):
        parse_event(json.dumps(raw))


def test_an_event_without_its_id_is_malformed() -> None:
    # Made up on reading, the id would differ on each delivery: no inbox could dedupe it.
    raw = json.loads(new_event(received(), center_id="c", producer="p").to_bytes())
    del raw["event_id"]
    with pytest.raises(MalformedEvent, match="event_id"):
        parse_event(json.dumps(raw))


def test_an_event_without_its_time_is_malformed() -> None:
    # Dated on reading, a late or replayed event would start its deadline clock late.
    raw = json.loads(new_event(received(), center_id="c", producer="p").to_bytes())
    del raw["occurred_at"]
    with pytest.raises(MalformedEvent, match="occurred_at: Field required"):
        parse_event(json.dumps(raw))
    raw["occurred_at"] = None
    with pytest.raises(MalformedEvent, match="occurred_at"):
        parse_event(json.dumps(raw))


def test_every_event_schema_requires_its_time() -> None:
    for event_type, model in ENVELOPES.items():
        assert "occurred_at" in model.model_json_schema()["required"], event_type


def test_a_new_event_is_dated_now_unless_told_otherwise() -> None:
    before = datetime.now(UTC)
    event = new_event(received(), center_id="c", producer="p")
    assert before <= event.occurred_at <= datetime.now(UTC)
    assert new_event(received(), center_id="c", producer="p", occurred_at=NOW).occurred_at == NOW


def test_oversized_message_is_refused_before_parsing() -> None:
    with pytest.raises(MalformedEvent, match="limit"):
        parse_event(b" " * (MAX_EVENT_BYTES + 1))


def test_unknown_type_and_future_version_are_not_malformed() -> None:
    with pytest.raises(UnknownEventType):
        parse_event(b'{"event_type": "ticket.teleported"}')
    raw = json.loads(new_event(received(), center_id="c", producer="p").to_bytes())
    raw["schema_version"] = 99
    with pytest.raises(UnknownEventType, match="newer"):
        parse_event(json.dumps(raw))


def test_unknown_fields_are_ignored() -> None:
    raw = json.loads(new_event(received(), center_id="c", producer="p").to_bytes())
    raw["added_later"] = 1
    raw["data"]["also_new"] = {"x": 1}
    assert isinstance(parse_event(json.dumps(raw)).data, DossierReceived)


def test_an_upcaster_lifts_an_old_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DossierReceived, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(
        registry.UPCASTERS,
        ("dossier.received", 1),
        lambda data: {**data, "procedure_code": data["procedure_code"].upper()},
    )
    raw = json.loads(
        new_event(received(procedure_code="ct-bansao"), center_id="c", producer="p").to_bytes()
    )
    raw["schema_version"] = 1
    parsed = parse_event(json.dumps(raw))
    assert parsed.data.procedure_code == "CT-BANSAO"
    assert parsed.schema_version == 2
