"""The client library cannot drift from the committed contracts.

The command builders of ``clients/python`` are generated from the committed schemas
(the generated file must be what the generator gives now), and they and the HTTP
calls are checked against the documents a vendor reads, not the server's classes:
``docs/events/command.*.json`` for the bus and ``docs/openapi/{intake,queue}.json``
for HTTP. A new command type, a new field, a renamed path or a new clerk operation
in those documents fails here until the client offers it.
"""

from __future__ import annotations

import inspect
import json
import runpy
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from motcua_client import ApiError, ClerkClient, ClerkCredentials, Commands
from motcua_client.builders import BUILDERS
from motcua_client.commands import ENVELOPE_PARAMETERS, Envelope
from motcua_client.http import IDEMPOTENCY_KEY_LENGTH, OPERATIONS, WriteOptions

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "docs" / "events"
# The operations a clerk app uses, by their OpenAPI tags.
CLERK_TAGS = {"intake": {"clerk"}, "queue": {"counter"}}
# Parameters filled in by the client itself, never asked of the caller.
HTTP_OWN = {"center_id", "Idempotency-Key"}

TOKEN = (
    "v1.eyJjIjoibmFtLWN1b25nIiwicyI6ImNsZXJrLTEiLCJyIjoiY2xlcmsiLCJhIjoxLCJlIjo0MTAyNDQ0ODAwLCJpIjoieCJ9"
    ".sig"
)
"""Claims: center ``nam-cuong``, subject ``clerk-1``, role ``clerk``, expiring in 2100."""
CREDS = ClerkCredentials.from_token(TOKEN)
DOSSIER = uuid.UUID("00000000-0000-4000-8000-000000000001")
TICKET = uuid.UUID("00000000-0000-4000-8000-000000000002")


def command_schemas() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(EVENTS.glob("command.*.json")):
        schema = json.loads(path.read_text())
        if "command_type" in schema.get("properties", {}):  # not command.rejected, an event
            out[schema["properties"]["command_type"]["const"]] = schema
    return out


def data_properties(schema: dict[str, Any]) -> set[str]:
    ref = schema["properties"]["data"]["$ref"].rsplit("/", 1)[-1]
    return set(schema["$defs"][ref]["properties"])


def builder_parameters(method: Any) -> set[str]:
    params = inspect.signature(method).parameters
    return {n for n in params if n not in ENVELOPE_PARAMETERS}


# Every optional field filled, so that a field's type is checked too, not only its name.
FULL: dict[str, dict[str, Any]] = {
    "dossier.receive": {
        "procedure_code": "CUTRU-TAMTRU", "channel": "counter", "ticket_id": TICKET,
        "applicant_name": "Nguyễn Văn A", "documents_received": ["CCCD"], "note": "n",
    },
    "dossier.assign": {"assignee": "officer-2", "department": "tư pháp"},
    "dossier.request_supplement": {"reason": "thiếu", "missing_documents": ["ảnh"]},
    "dossier.provide_supplement": {"note": "đủ"},
    "dossier.notify_financial_obligation": {"amount_vnd": 50_000, "note": "lệ phí"},
    "dossier.fulfil_financial_obligation": {"note": "đã nộp"},
    "dossier.resolve": {"outcome": "approved", "reason": "đủ điều kiện"},
    "dossier.return_result": {"note": "đã trả"},
    "dossier.withdraw": {"reason": "công dân rút"},
    "dossier.stop": {"reason": "dừng"},
    "dossier.accept": {"note": "đủ hồ sơ"},
    "dossier.not_accept": {"reason": "sai thủ tục"},
    "dossier.transfer": {"to_agency": "Công an phường", "note": "liên thông"},
    "dossier.transfer_back": {"from_agency": "Công an phường", "note": "đã xong"},
    "dossier.return_for_rework": {"reason": "sai tên"},
}  # fmt: skip


def test_every_committed_command_has_a_builder_and_no_builder_is_stale() -> None:
    assert set(BUILDERS) == set(command_schemas())
    assert set(FULL) == set(BUILDERS)


@pytest.mark.parametrize("command_type", sorted(BUILDERS))
def test_builder_parameters_are_the_schema_data_fields(command_type: str) -> None:
    schema = command_schemas()[command_type]
    method = getattr(Commands(CREDS), BUILDERS[command_type])
    assert builder_parameters(method) == data_properties(schema)
    assert set(Envelope.__annotations__) <= set(schema["properties"])


@pytest.mark.parametrize("command_type", sorted(BUILDERS))
def test_builder_output_validates_against_the_committed_schema(command_type: str) -> None:
    schema = command_schemas()[command_type]
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    method = getattr(Commands(CREDS), BUILDERS[command_type])
    target = () if command_type == "dossier.receive" else (DOSSIER,)
    required = {
        k: v for k, v in FULL[command_type].items()
        if k in schema["$defs"][schema["properties"]["data"]["$ref"].rsplit("/", 1)[-1]].get(
            "required", [])
    }  # fmt: skip
    for kwargs in (FULL[command_type], required):
        command = method(*target, **kwargs)
        body = json.loads(command.to_bytes())
        errors = [e.message for e in validator.iter_errors(body)]
        assert errors == [], (command_type, kwargs, errors)
        assert body["command_type"] == command.command_type == command_type
        # The proof of author, and the author and center it vouches for.
        assert body["token"] == TOKEN
        assert (body["center_id"], body["issued_by"]) == ("nam-cuong", "clerk-1")
        assert command.key == body["dossier_id"].encode()


def test_command_ids_are_new_per_command_and_kept_on_retry() -> None:
    commands = Commands(CREDS)
    first = commands.assign(DOSSIER, assignee="a")
    second = commands.assign(DOSSIER, assignee="a")
    assert first.command_id != second.command_id
    assert first.to_bytes() == first.to_bytes()  # publishing again sends the same id
    given = uuid.uuid4()
    assert commands.assign(DOSSIER, assignee="a", command_id=given).command_id == given
    receive = commands.receive(procedure_code="X")
    assert receive.dossier_id != commands.receive(procedure_code="X").dossier_id


def test_the_token_stays_out_of_reprs() -> None:
    command = Commands(CREDS).stop(DOSSIER, reason="r")
    assert TOKEN not in repr(command)
    assert TOKEN not in repr(CREDS)


def test_a_naive_business_time_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        Commands(CREDS).stop(DOSSIER, reason="r", issued_at=datetime(2026, 1, 1))


def test_the_committed_builders_are_what_the_committed_schemas_generate() -> None:
    generator = runpy.run_path(str(ROOT / "clients" / "python" / "generate.py"))
    committed = generator["TARGET"].read_text()
    assert generator["render"](EVENTS) == committed, (
        "clients/python/src/motcua_client/builders.py is stale: "
        "run `python clients/python/generate.py`"
    )


# ---------------------------------------------------------------------- HTTP


def openapi(service: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / "docs" / "openapi" / f"{service}.json").read_text()))


def clerk_operations() -> dict[tuple[str, str, str], dict[str, Any]]:
    """(service, METHOD, path) of every clerk operation in the committed documents."""
    out = {}
    for service, tags in CLERK_TAGS.items():
        for path, ops in openapi(service)["paths"].items():
            for method, op in ops.items():
                if tags & set(op.get("tags", [])):
                    out[(service, method.upper(), path)] = op
    return out


def body_schema(service: str, op: dict[str, Any]) -> dict[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    # Resolve the document's own references: the schema, with the components beside it.
    return {**content["schema"], "components": openapi(service)["components"]}


def schema_properties(schema: dict[str, Any], components: dict[str, Any]) -> set[str]:
    for branch in schema.get("anyOf", [schema]):
        if "$ref" in branch:
            return set(components["schemas"][branch["$ref"].rsplit("/", 1)[-1]]["properties"])
    return set()


def test_every_clerk_operation_has_a_call_and_every_call_is_documented() -> None:
    documented = set(clerk_operations())
    offered = {(op.service, op.method, op.path) for op in OPERATIONS.values()}
    assert offered == documented
    for name, op in OPERATIONS.items():
        assert callable(getattr(ClerkClient, name)), name
        spec = clerk_operations()[(op.service, op.method, op.path)]
        takes_key = any(p["name"] == "Idempotency-Key" for p in spec.get("parameters", []))
        assert op.idempotent == takes_key, name


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_call_parameters_are_the_documented_ones(name: str) -> None:
    op = OPERATIONS[name]
    spec = clerk_operations()[(op.service, op.method, op.path)]
    documented = {p["name"] for p in spec.get("parameters", [])}
    body = body_schema(op.service, spec)
    if body is not None:
        documented |= schema_properties(body, body["components"])
    if op.idempotent:
        documented.add("idempotency_key")
    documented -= HTTP_OWN
    offered = set(inspect.signature(getattr(ClerkClient, name)).parameters) - {"self"}
    if "write" in offered:  # **write: Unpack[WriteOptions]
        offered = offered - {"write"} | set(WriteOptions.__annotations__)
    assert offered == documented


# One call per operation with every parameter given.
CALLS: dict[str, dict[str, Any]] = {
    "receive_dossier": {
        "procedure_code": "CUTRU-TAMTRU", "ticket_id": TICKET, "applicant_name": "A",
        "documents_received": ["CCCD"], "note": "n", "consent_notifications": True,
        "contact": {"kind": "email", "value": "a@example.vn", "language": "vi"},
        "received_at": datetime(2026, 1, 5, 2, tzinfo=UTC),
    },
    "list_dossiers": {"status": 2, "limit": 10},
    "get_dossier": {"dossier_id": DOSSIER},
    "receipt_html": {"dossier_id": DOSSIER},
    "assign": {"dossier_id": DOSSIER, "assignee": "o", "department": "d"},
    "request_supplement": {"dossier_id": DOSSIER, "reason": "r", "missing_documents": ["x"]},
    "provide_supplement": {"dossier_id": DOSSIER, "note": "n"},
    "notify_financial_obligation": {"dossier_id": DOSSIER, "amount_vnd": 1, "note": "n"},
    "fulfil_financial_obligation": {"dossier_id": DOSSIER, "note": "n"},
    "resolve": {"dossier_id": DOSSIER, "outcome": "approved", "reason": "ok"},
    "return_result": {"dossier_id": DOSSIER, "note": "n"},
    "withdraw": {"dossier_id": DOSSIER, "reason": "r"},
    "stop": {"dossier_id": DOSSIER, "reason": "r",
             "occurred_at": datetime(2026, 1, 5, 2, tzinfo=UTC)},
    "accept_dossier": {"dossier_id": DOSSIER, "note": "n"},
    "not_accept_dossier": {"dossier_id": DOSSIER, "reason": "r"},
    "transfer_dossier": {"dossier_id": DOSSIER, "to_agency": "a", "note": "n"},
    "transfer_dossier_back": {"dossier_id": DOSSIER, "from_agency": "a", "note": "n"},
    "return_for_rework": {"dossier_id": DOSSIER, "reason": "r"},
    "open_counter": {"counter_id": "q1", "line_codes": ["TP"]},
    "close_counter": {"counter_id": "q1"},
    "call_next": {"counter_id": "q1"},
    "list_tickets": {"status": "waiting"},
    "recall": {"counter_id": "q1", "ticket_id": TICKET},
    "start_service": {"counter_id": "q1", "ticket_id": TICKET},
    "finish_service": {"counter_id": "q1", "ticket_id": TICKET, "dossier_id": DOSSIER},
    "no_show": {"counter_id": "q1", "ticket_id": TICKET},
    "transfer": {"counter_id": "q1", "ticket_id": TICKET, "line_code": "TP"},
    "cancel_ticket": {"ticket_id": TICKET, "reason": "r"},
    "requeue_ticket": {"ticket_id": TICKET},
}  # fmt: skip


def path_matches(template: str, path: str) -> bool:
    parts, given = template.split("/"), path.split("/")
    return len(parts) == len(given) and all(
        t == g or (t.startswith("{") and g) for t, g in zip(parts, given, strict=True)
    )


async def call(name: str, answer: httpx.Response | None = None) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer or httpx.Response(200, json={}, text=None)

    async with ClerkClient(
        CREDS, intake_url="http://intake", queue_url="http://queue",
        transport=httpx.MockTransport(respond),
    ) as api:  # fmt: skip
        # Path parameters are positional-or-keyword: every call can be made by name.
        await getattr(api, name)(**CALLS[name])
    return seen


def test_every_operation_has_a_sample_call() -> None:
    assert set(CALLS) == set(OPERATIONS)


@pytest.mark.parametrize("name", sorted(OPERATIONS))
async def test_requests_match_the_committed_openapi(name: str) -> None:
    op = OPERATIONS[name]
    spec = clerk_operations()[(op.service, op.method, op.path)]
    [request] = await call(name)
    assert request.method == op.method
    assert request.url.host == op.service
    assert path_matches(op.path, request.url.path), (op.path, request.url.path)
    assert "/centers/nam-cuong/" in request.url.path or op.service == "intake"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    if op.idempotent:
        assert len(request.headers["idempotency-key"]) >= 8  # the API's minimum
    schema = body_schema(op.service, spec)
    if schema is not None and request.content:
        body = json.loads(request.content)
        errors = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(body)]
        assert errors == [], errors
    for param in spec.get("parameters", []):
        if param["in"] == "query":
            assert param["name"] in request.url.params


async def test_a_retried_write_keeps_its_idempotency_key() -> None:
    answers = iter([httpx.Response(503), httpx.Response(201, json={"ok": True})])
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers)

    async with ClerkClient(
        CREDS, intake_url="http://intake", transport=httpx.MockTransport(respond)
    ) as api:
        assert await api.receive_dossier(procedure_code="X") == {"ok": True}
    assert len(seen) == 2
    assert seen[0].headers["idempotency-key"] == seen[1].headers["idempotency-key"]


async def test_a_write_without_a_key_is_sent_once_and_errors_are_raised() -> None:
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, json={"error": "busy"})

    async with ClerkClient(
        CREDS, intake_url="http://intake", queue_url="http://queue",
        transport=httpx.MockTransport(respond),
    ) as api:  # fmt: skip
        with pytest.raises(ApiError) as caught:
            await api.call_next("q1")
    assert len(seen) == 1  # a blind retry could call a second citizen
    assert caught.value.status == 503
    assert caught.value.detail == {"error": "busy"}


def test_idempotency_key_lengths_are_the_documented_ones() -> None:
    for op in OPERATIONS.values():
        if op.idempotent:
            spec = clerk_operations()[(op.service, op.method, op.path)]
            [header] = [p for p in spec["parameters"] if p["name"] == "Idempotency-Key"]
            schema = header["schema"]
            assert (schema["minLength"], schema["maxLength"]) == IDEMPOTENCY_KEY_LENGTH, op


async def test_a_key_the_api_would_refuse_is_refused_before_sending() -> None:
    async with ClerkClient(
        CREDS, intake_url="http://intake",
        transport=httpx.MockTransport(lambda r: httpx.Response(500)),
    ) as api:  # fmt: skip
        with pytest.raises(ValueError, match="Idempotency-Key"):
            await api.receive_dossier(procedure_code="X", idempotency_key="short")
