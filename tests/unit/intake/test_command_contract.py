"""The clerk-app command contract (``motcua.shared.events.commands``)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from motcua.shared.events.commands import (
    COMMANDS,
    MAX_COMMAND_BYTES,
    AssignDossier,
    CommandError,
    ReceiveDossier,
    command_json_schemas,
    parse_command,
)

SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "dossier.receive": {"procedure_code": "CT-BANSAO", "ticket_id": str(uuid.uuid4())},
    "dossier.assign": {"assignee": "officer-1", "department": "tu-phap"},
    "dossier.request_supplement": {"reason": "thiếu", "missing_documents": ["Tờ khai"]},
    "dossier.provide_supplement": {},
    "dossier.notify_financial_obligation": {"amount_vnd": 15000},
    "dossier.fulfil_financial_obligation": {},
    "dossier.resolve": {"outcome": "refused", "reason": "không đủ điều kiện"},
    "dossier.return_result": {},
    "dossier.withdraw": {"reason": "không còn nhu cầu"},
    "dossier.stop": {"reason": "sai thẩm quyền"},
    "dossier.accept": {},
    "dossier.not_accept": {"reason": "hồ sơ không đúng thủ tục"},
    "dossier.transfer": {"to_agency": "Công an phường"},
    "dossier.transfer_back": {"from_agency": "Công an phường"},
    "dossier.return_for_rework": {"reason": "sai thông tin"},
}


def raw(kind: str, **over: Any) -> dict[str, Any]:
    return {
        "command_id": str(uuid.uuid4()),
        "command_type": kind,
        "center_id": "nam-cuong",
        "issued_by": "clerk-1",
        "issued_at": "2026-03-02T09:00:00+07:00",
        "dossier_id": str(uuid.uuid4()),
        "data": SAMPLE_DATA[kind],
    } | over


@pytest.mark.parametrize("command_type", sorted(COMMANDS))
def test_every_command_type_parses_to_its_model_and_round_trips(command_type: str) -> None:
    command = parse_command(json.dumps(raw(command_type)).encode())
    assert type(command) is COMMANDS[command_type]
    assert command.issued_at == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert parse_command(command.to_bytes()) == command


def test_documentation_covers_every_command_and_requires_its_type() -> None:
    schemas = command_json_schemas()
    assert set(schemas) == {f"command.{t}" for t in COMMANDS}
    for name, schema in schemas.items():
        assert schema["required"][0] == "command_type", name
        assert schema["properties"]["command_type"]["const"] == name.removeprefix("command.")
    assert "dossier_id" not in schemas["command.dossier.receive"]["required"]
    assert "dossier_id" in schemas["command.dossier.assign"]["required"]
    assert schemas["command.dossier.assign"]["$defs"]["AssignData"]["additionalProperties"] is False


def test_receive_may_leave_the_dossier_id_to_intake_but_others_may_not() -> None:
    receive = parse_command(json.dumps(raw("dossier.receive", dossier_id=None)).encode())
    assert isinstance(receive, ReceiveDossier)
    with pytest.raises(CommandError, match="dossier_id"):
        parse_command(json.dumps(raw("dossier.assign", dossier_id=None)).encode())


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        (b"{nope", "not JSON"),
        (b"[1, 2]", "a command is a JSON object"),
        (json.dumps(raw("dossier.assign", command_type="dossier.fly")).encode(), "unknown"),
        (json.dumps(raw("dossier.assign", data={"assignee": ""})).encode(), "data.assignee"),
        (
            json.dumps(raw("dossier.assign", data={"assignee": "a", "typo": 1})).encode(),
            "data.typo",
        ),
        (
            json.dumps(raw("dossier.resolve", data={"outcome": "refused"})).encode(),
            "a refusal needs a reason",
        ),
        (json.dumps(raw("dossier.assign", issued_at="2026-03-02T09:00:00")).encode(), "issued_at"),
        (json.dumps(raw("dossier.assign", schema_version=2)).encode(), "schema_version"),
    ],
)
def test_bad_commands_say_why_and_name_the_command(message: bytes, fragment: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(message)
    assert fragment in caught.value.reason
    if message.startswith(b'{"'):
        assert caught.value.command_id == json.loads(message)["command_id"]
        assert caught.value.center_id == "nam-cuong"


def test_an_oversized_command_is_refused_before_validation_but_still_named() -> None:
    doc = raw("dossier.receive")
    doc["data"] = {"procedure_code": "X", "note": "x" * MAX_COMMAND_BYTES}
    with pytest.raises(CommandError, match=f"the limit is {MAX_COMMAND_BYTES}") as caught:
        parse_command(json.dumps(doc).encode())
    assert caught.value.command_id == doc["command_id"]
    assert str(caught.value.dossier_id) == doc["dossier_id"]


def test_issued_at_is_normalised_to_utc() -> None:
    ict = timezone(timedelta(hours=7))
    c = AssignDossier(
        command_id=uuid.uuid4(),
        center_id="c",
        issued_by="u",
        issued_at=datetime(2026, 3, 2, 9, tzinfo=ict),
        dossier_id=uuid.uuid4(),
        data={"assignee": "a"},  # type: ignore[arg-type]
    )
    assert c.issued_at.tzinfo == UTC
    assert json.loads(c.to_bytes())["command_type"] == "dossier.assign"
