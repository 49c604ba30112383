"""The procedure catalog in the registry, against a real database and broker: a change
is audited and published; intake takes a new procedure and a changed time limit without
a restart; a stale or duplicate event changes nothing; a retired procedure is refused."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from motcua.devtools.bus import produce
from motcua.services.intake.catalog import load_catalog
from motcua.services.registry.usecases import CATALOG_KEY
from motcua.shared.events import new_event
from motcua.shared.events.catalog import ProcedureConfigured
from motcua.shared.events.topics import REGISTRY
from tests.integration.registry.conftest import Stack
from tests.support.waiting import eventually

CENTER = "nam-cuong"  # configured from the files at start


def procedure_document(code: str, **fields: Any) -> dict[str, Any]:
    """A valid procedure: the packaged HT-XNTTHN under another code."""
    packaged = load_catalog().get("HT-XNTTHN")
    assert packaged is not None
    return {**packaged.model_dump(mode="json"), "code": code, **fields}


def days(amount: int) -> dict[str, Any]:
    return {"amount": amount, "unit": "working_days", "rollover": False}


async def published(stack: Stack, code: str, count: int) -> list[dict[str, Any]]:
    async def found() -> list[dict[str, Any]]:
        events = await stack.published(CATALOG_KEY)
        return [e for e in events if e["data"]["code"] == code]

    return await eventually(
        found, until=lambda f: len(f) >= count, what=f"{count} procedure.configured of {code}"
    )


async def intake_holds(stack: Stack, code: str, revision: int) -> None:
    async def held() -> int | None:
        value: int | None = await stack.db.fetchval(
            "SELECT revision FROM intake.registry_procedures WHERE code = $1", code
        )
        return value

    await eventually(held, until=lambda r: r == revision, what=f"intake at {code} r{revision}")


async def receive(stack: Stack, code: str) -> tuple[int, dict[str, Any]]:
    async with stack.client("intake") as http:
        r = await http.post(
            "/v1/dossiers",
            json={"procedure_code": code, "applicant_name": "Nguyễn Văn A"},
            headers=stack.auth(CENTER, role="clerk", subject="clerk-1"),
        )
    body: dict[str, Any] = r.json()
    return r.status_code, body


async def test_a_put_is_audited_and_published(stack: Stack) -> None:
    code = "TEST-PUT"
    admin = stack.auth(CENTER, role="province_admin", subject="admin-7")
    async with stack.client("registry") as http:
        r = await http.put(f"/v1/procedures/{code}", json=procedure_document(code), headers=admin)
        assert r.status_code == 200, r.text
        assert r.json() == {"code": code, "revision": 1, "changed": True}
        assert r.headers["ETag"] == '"1"'
        longer = procedure_document(code, time_limit=days(12))
        r = await http.put(
            f"/v1/procedures/{code}?reason=decree",
            json=longer,
            headers=admin | {"If-Match": '"1"'},
        )
        assert r.json()["revision"] == 2, r.text
        # The same document again changes nothing.
        r = await http.put(f"/v1/procedures/{code}", json=longer, headers=admin | {"If-Match": "2"})
        assert r.json() == {"code": code, "revision": 2, "changed": False}
        got = await http.get(f"/v1/procedures/{code}", headers=stack.auth(CENTER, role="clerk"))
        assert got.headers["ETag"] == '"2"'
        assert got.json()["document"]["time_limit"]["amount"] == 12
        listed = await http.get("/v1/procedures", headers=stack.auth(CENTER, role="province"))
        assert [(p["revision"], p["active"]) for p in listed.json() if p["code"] == code] == [
            (2, True)
        ]
        page = (await http.get(f"/v1/procedures/{code}/audit", headers=admin)).json()
        newest, oldest = page["entries"]
        assert (newest["revision"], newest["actor"], newest["role"]) == (
            2,
            "admin-7",
            "province_admin",
        )
        assert newest["reason"] == "decree"
        assert (
            newest["before"]["time_limit"]["amount"],
            newest["after"]["time_limit"]["amount"],
        ) == (
            3,
            12,
        )
        assert (oldest["revision"], oldest["before"]) == (1, None)
    events = await published(stack, code, 2)
    assert [(e["event_type"], e["data"]["revision"]) for e in events] == [
        ("procedure.configured", 1),
        ("procedure.configured", 2),
    ]
    assert events[1]["data"]["time_limit"]["amount"] == 12
    assert "admin-7" not in str(events)  # who changed it stays in the audit, off the bus


async def test_bad_input_is_refused_by_name_and_changes_nothing(stack: Stack) -> None:
    code = "TEST-BAD"
    admin = stack.auth(CENTER, role="province_admin")
    async with stack.client("registry") as http:
        r = await http.put(f"/v1/procedures/{code}", json=procedure_document(code), headers=admin)
        assert r.status_code == 200, r.text
        changed = procedure_document(code, time_limit=days(9))
        stale = await http.put(
            f"/v1/procedures/{code}", json=changed, headers=admin | {"If-Match": '"0"'}
        )
        assert stale.status_code == 409, stale.text
        assert stale.json()["current_revision"] == 1
        missing = await http.put(f"/v1/procedures/{code}", json=changed, headers=admin)
        assert missing.status_code == 428
        assert missing.json()["field"] == "If-Match"
        r = await http.put(
            f"/v1/procedures/{code}",
            json=procedure_document(code, line_code="lands"),
            headers=admin | {"If-Match": "1"},
        )
        assert r.status_code == 422, r.text
        assert r.json()["details"][0]["field"] == "line_code", r.text
        r = await http.put(
            f"/v1/procedures/{code}",
            json=procedure_document(code, colour="red"),
            headers=admin | {"If-Match": "1"},
        )
        assert r.status_code == 422
        assert "colour" in r.text
        r = await http.put(
            f"/v1/procedures/{code}",
            json=procedure_document("OTHER"),
            headers=admin | {"If-Match": "1"},
        )
        assert r.status_code == 422
        assert r.json()["details"][0]["field"] == "code", r.text
        r = await http.put(
            f"/v1/procedures/{code}",
            json=procedure_document(code, legal_basis="x" * 2_000_000),
            headers=admin | {"If-Match": "1"},
        )
        assert r.status_code == 413
        clerk = await http.put(
            f"/v1/procedures/{code}",
            json=changed,
            headers=stack.auth(CENTER, role="clerk") | {"If-Match": "1"},
        )
        assert clerk.status_code == 403
        # The catalog is every center's: a center's own admin may not change it.
        center_admin = await http.put(
            f"/v1/procedures/{code}",
            json=changed,
            headers=stack.auth(CENTER, role="admin") | {"If-Match": "1"},
        )
        assert center_admin.status_code == 403
        assert center_admin.json()["error"] == (
            "role 'admin' may not registry.procedures.write; it needs one of: province_admin"
        )
        unknown = await http.get("/v1/procedures/NOPE", headers=admin)
        assert unknown.status_code == 404
        got = await http.get(f"/v1/procedures/{code}", headers=admin)
        assert got.json()["revision"] == 1
        audit = (await http.get(f"/v1/procedures/{code}/audit", headers=admin)).json()
        assert len(audit["entries"]) == 1


async def test_intake_takes_a_new_procedure_and_a_changed_time_limit_without_restart(
    stack: Stack,
) -> None:
    code = "TEST-FOLLOW"
    admin = stack.auth(CENTER, role="province_admin")
    status, body = await receive(stack, code)
    assert status == 422, body  # not in the packaged catalog
    async with stack.client("registry") as http:
        r = await http.put(
            f"/v1/procedures/{code}",
            json=procedure_document(code, time_limit=days(3)),
            headers=admin,
        )
        assert r.status_code == 200, r.text
    await intake_holds(stack, code, 1)
    status, first = await receive(stack, code)
    assert status in (200, 201), first
    async with stack.client("registry") as http:
        r = await http.put(
            f"/v1/procedures/{code}",
            json=procedure_document(code, time_limit=days(20)),
            headers=admin | {"If-Match": "1"},
        )
        assert r.json()["revision"] == 2, r.text
    await intake_holds(stack, code, 2)
    status, second = await receive(stack, code)
    assert status in (200, 201), second
    # Twenty working days from (nearly) the same moment end weeks after three do.
    gap = datetime.fromisoformat(second["dossier"]["appointment_at"]) - datetime.fromisoformat(
        first["dossier"]["appointment_at"]
    )
    assert gap.days >= 17
    async with stack.client("intake") as http:
        listed = await http.get(f"/v1/procedures/{code}")
        assert listed.json()["time_limit"]["amount"] == 20


async def test_a_stale_or_duplicate_event_changes_nothing(stack: Stack) -> None:
    code = "TEST-STALE"
    admin = stack.auth(CENTER, role="province_admin")
    async with stack.client("registry") as http:
        await http.put(f"/v1/procedures/{code}", json=procedure_document(code), headers=admin)
        current = procedure_document(code, time_limit=days(7))
        r = await http.put(
            f"/v1/procedures/{code}", json=current, headers=admin | {"If-Match": "1"}
        )
        assert r.json()["revision"] == 2, r.text
    await intake_holds(stack, code, 2)
    applied_at = await stack.db.fetchval(
        "SELECT applied_at FROM intake.registry_procedures WHERE code = $1", code
    )
    late = ProcedureConfigured.model_validate({**procedure_document(code), "revision": 1})
    again = ProcedureConfigured.model_validate(
        {**procedure_document(code, time_limit=days(99)), "revision": 2}
    )
    events = [new_event(p, center_id=CATALOG_KEY, producer="registry") for p in (late, again)]
    await produce(
        stack.kafka.bootstrap_servers,
        REGISTRY.topic(stack.kafka.topic_prefix),
        [e.to_bytes() for e in events],
        key=CATALOG_KEY.encode(),
    )
    ids = [e.event_id for e in events]
    await eventually(
        lambda: stack.db.fetchval(
            "SELECT count(*) FROM intake.inbox WHERE event_id = ANY($1::uuid[])", ids
        ),
        until=lambda n: n == 2,
        what="both events consumed",
    )
    row = await stack.db.fetchrow(
        "SELECT revision, applied_at, config->'time_limit'->>'amount' AS amount "
        "FROM intake.registry_procedures WHERE code = $1",
        code,
    )
    assert (row["revision"], row["applied_at"], row["amount"]) == (2, applied_at, "7")
    async with stack.client("intake") as http:
        assert (await http.get(f"/v1/procedures/{code}")).json()["time_limit"]["amount"] == 7


async def test_retiring_refuses_new_filings_and_keeps_received_dossiers(stack: Stack) -> None:
    code = "TEST-RETIRE"
    admin = stack.auth(CENTER, role="province_admin")
    async with stack.client("registry") as http:
        await http.put(f"/v1/procedures/{code}", json=procedure_document(code), headers=admin)
    await intake_holds(stack, code, 1)
    status, received = await receive(stack, code)
    assert status in (200, 201), received
    async with stack.client("registry") as http:
        missing = await http.post(
            f"/v1/procedures/{code}/retire", json={"reason": "repealed"}, headers=admin
        )
        assert missing.status_code == 428
        r = await http.post(
            f"/v1/procedures/{code}/retire",
            json={"reason": "repealed"},
            headers=admin | {"If-Match": "1"},
        )
        assert r.json() == {"code": code, "revision": 2, "changed": True}, r.text
        unknown = await http.post(
            "/v1/procedures/NOPE/retire", json={"reason": "x"}, headers=admin | {"If-Match": "1"}
        )
        assert unknown.status_code == 404
    await intake_holds(stack, code, 2)
    status, refused = await receive(stack, code)
    assert status == 422, refused
    assert refused["details"][0]["field"] == "procedure_code", refused
    assert "is retired" in str(refused)
    events = await published(stack, code, 2)
    assert events[-1]["data"]["active"] is False
    # The dossier received before keeps its procedure as it stood.
    dossier_id = received["dossier"]["id"]
    async with stack.client("intake") as http:
        r = await http.get(
            f"/v1/dossiers/{dossier_id}",
            headers=stack.auth(CENTER, role="clerk", subject="clerk-1"),
        )
    assert r.status_code == 200, r.text
