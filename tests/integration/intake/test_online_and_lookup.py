"""Online submission (consent, sealed contact, idempotency) and citizen lookup
(no personal data, no enumeration, rate limit)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from motcua.devtools.bus import read_all
from motcua.shared import crypto
from motcua.shared.events.topics import DOSSIERS, INTAKE_RESULTS, QUEUE
from tests.integration.intake.conftest import LOOKUP_BURST
from tests.integration.intake.support import CENTER, Intake

PHONE = "0912 345 678"
PHONE_DIGITS = "912345678"
NAME = "Trần Văn Bình"


def submission(center: str = CENTER, **over: Any) -> dict[str, Any]:
    return {
        "center_id": center,
        "procedure_code": "CUTRU-TAMTRU",
        "applicant_name": NAME,
        "contact": {"kind": "phone", "value": PHONE},
        "consent_notifications": True,
    } | over


async def submit(intake: Intake, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return await intake.http.post("/v1/public/dossiers", json=body, headers=headers)


async def test_with_consent_the_contact_travels_sealed_and_only_sealed(
    intake: Intake, capfd: pytest.CaptureFixture[str]
) -> None:
    r = await submit(intake, submission(), key=f"k-{uuid.uuid4()}")
    assert r.status_code == 201, r.text
    out = r.json()
    # Filed, not yet received: it waits for a clerk to accept it (portal 1).
    assert (out["status"]["code"], out["status"]["portal"]) == (1, 1)
    dossier_id = out["dossier_id"]
    [submitted] = await intake.wait_events(dossier_id, 1)
    assert submitted["event_type"] == "dossier.submitted"
    # With consent the citizen is told at once (notify): the contact travels, sealed.
    key = intake.settings.contact_key.get_secret_value()
    filed = submitted["data"]
    assert crypto.unseal(key, filed["contact"]["sealed"], dossier_id) == "+84912345678"
    assert crypto.unseal(key, filed["sealed_secret"], dossier_id) == out["secret"]

    accepted = await intake.op(dossier_id, "accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"]["code"] == 2
    [_, received] = await intake.wait_events(dossier_id, 2)
    data = received["data"]
    assert received["event_type"] == "dossier.received"
    assert data["channel"] == "online"
    assert data["contact"]["kind"] == "phone"
    assert crypto.unseal(key, data["contact"]["sealed"], dossier_id) == "+84912345678"
    assert crypto.unseal(key, data["sealed_secret"], dossier_id) == out["secret"]

    # Nowhere in clear: not on any topic, not in intake's tables.
    for stream in (DOSSIERS, INTAKE_RESULTS, QUEUE):
        for m in await read_all(intake.bootstrap, intake.topic(stream)):
            assert PHONE_DIGITS.encode() not in m.value
    row = await intake.pg.fetchrow("SELECT * FROM dossiers WHERE id = $1", uuid.UUID(dossier_id))
    assert PHONE_DIGITS not in str(dict(row))
    assert row["contact_consent"] is True
    logged = capfd.readouterr()
    assert out["code"] in logged.out + logged.err  # the receipt was logged...
    assert PHONE_DIGITS not in logged.out + logged.err  # ...without the contact


async def test_without_consent_the_contact_stays_out_of_the_event(intake: Intake) -> None:
    r = await submit(intake, submission(consent_notifications=False), key=f"k-{uuid.uuid4()}")
    assert r.status_code == 201, r.text
    await intake.drive(r.json()["dossier_id"], ["accept"])
    [submitted, received] = await intake.wait_events(r.json()["dossier_id"], 2)
    for event in (submitted, received):
        assert event["data"]["contact"] is None
        assert event["data"]["sealed_secret"] is None


async def test_the_same_idempotency_key_returns_the_same_dossier(intake: Intake) -> None:
    center = f"c{uuid.uuid4().hex[:8]}"
    key = f"k-{uuid.uuid4()}"
    first = await submit(intake, submission(center), key=key)
    # Retries, some of them racing each other, and one giving the key as a field.
    retries = await asyncio.gather(*(submit(intake, submission(center), key=key) for _ in range(4)))
    by_field = await submit(intake, submission(center, idempotency_key=key))
    assert first.status_code == 201
    for again in [*retries, by_field]:
        assert again.status_code == 200, again.text
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
    count = await intake.pg.fetchval("SELECT count(*) FROM dossiers WHERE center_id = $1", center)
    assert count == 1

    other = await submit(intake, submission(center, procedure_code="CUTRU-THUONGTRU"), key=key)
    assert other.status_code == 409


async def test_online_submission_refuses_what_it_cannot_honour(intake: Intake) -> None:
    no_key = await submit(intake, submission())
    assert no_key.status_code == 422
    assert no_key.json()["details"][0]["field"] == "Idempotency-Key"
    body = submission()
    del body["consent_notifications"]
    no_consent = await submit(intake, body, key=f"k-{uuid.uuid4()}")
    assert no_consent.status_code == 422
    assert no_consent.json()["details"][0]["field"] == "consent_notifications"
    bad_phone = await submit(
        intake, submission(contact={"kind": "phone", "value": "12"}), key=f"k-{uuid.uuid4()}"
    )
    assert bad_phone.status_code == 422
    assert bad_phone.json()["details"][0]["field"].startswith("contact")
    unknown = await submit(intake, submission(procedure_code="NOPE"), key=f"k-{uuid.uuid4()}")
    assert unknown.status_code == 422
    assert unknown.json()["details"][0]["field"] == "procedure_code"


LOOKUP_FIELDS = {
    "code",
    "procedure",
    "current_step",
    "received_at",
    "appointment_at",
    "appointment_local",
    "outcome",
    "timeline",
}


async def test_lookup_gives_timeline_step_and_appointment_and_no_personal_data(
    intake: Intake,
) -> None:
    r = await submit(intake, submission(), key=f"k-{uuid.uuid4()}")
    out = r.json()
    dossier_id = out["dossier_id"]
    await intake.drive(dossier_id, ["accept", "assign"])
    reason = f"Cần bản sao giấy tờ của ông {NAME}"
    s = await intake.op(
        dossier_id, "request_supplement", body={"reason": reason, "missing_documents": []}
    )
    assert s.status_code == 200
    await intake.drive(dossier_id, ["provide_supplement"])

    typed = out["secret"].lower().replace("-", " ")  # as a citizen might type it
    found = await intake.lookup(out["code"].lower(), typed)
    assert found.status_code == 200, found.text
    view = found.json()
    assert set(view) == LOOKUP_FIELDS
    assert view["current_step"]["code"] == 3
    assert [t["status"]["code"] for t in view["timeline"]] == [1, 2, 3, 5, 3]
    assert view["timeline"][3]["label_vi"] == "Yêu cầu bổ sung hồ sơ"
    # The appointment counts from acceptance, when the legal clock started.
    assert view["appointment_at"] == (await intake.dossier(dossier_id))["appointment_at"]
    text = found.text
    for personal in (NAME, "Bình", PHONE_DIGITS, "officer-1", "tu-phap", "clerk-1", dossier_id):
        assert personal not in text


async def test_wrong_secret_and_unknown_code_are_the_same_404(intake: Intake) -> None:
    real = await intake.receive()
    code = real["dossier"]["code"]
    wrong = await intake.lookup(code, "AAAAA-AAAAA")
    unknown = await intake.lookup("NC-19990101-0001", "AAAAA-AAAAA")
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.content == unknown.content
    drop = {"date", "content-length"}
    assert {k: v for k, v in wrong.headers.items() if k not in drop} == {
        k: v for k, v in unknown.headers.items() if k not in drop
    }


async def test_guessing_codes_yields_only_identical_404s_then_429(intake: Intake) -> None:
    real = await intake.receive()
    code, secret = real["dossier"]["code"], real["secret"]
    prefix, _, seq = code.rpartition("-")
    guesses = [f"{prefix}-{int(seq) + d:04d}" for d in range(-2, LOOKUP_BURST - 2)]
    answers = [await intake.lookup(g, "ZZZZZ-ZZZZZ") for g in guesses]
    assert {a.status_code for a in answers} == {404}
    assert len({a.content for a in answers}) == 1

    limited = await intake.lookup(code, secret)  # even the right pair, from this address
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1

    elsewhere = await intake.http.post(
        "/v1/public/lookup",
        json={"code": code, "secret": secret},
        headers={"X-Forwarded-For": f"192.0.2.{uuid.uuid4().int % 250}"},
    )
    assert elsewhere.status_code == 200


async def test_public_receipt_reprint_needs_the_secret_and_omits_the_name(intake: Intake) -> None:
    r = await submit(intake, submission(), key=f"k-{uuid.uuid4()}")
    out = r.json()
    page = await intake.http.post(
        "/v1/public/receipt", json={"code": out["code"], "secret": out["secret"]}
    )
    assert page.status_code == 200
    assert out["code"] in page.text
    assert out["secret"] in page.text
    assert NAME not in page.text
    # Not yet accepted: the lookup page says the date is provisional...
    form = {"code": out["code"], "secret": out["secret"]}
    waiting = await intake.http.post("/lookup", data=form)
    assert 'data-testid="appointment-provisional">dự kiến' in waiting.text
    # ...and so does the receipt, and that the date is counted at acceptance.
    assert "đang chờ Bộ phận Một cửa kiểm tra và tiếp nhận" in page.text
    assert "dự kiến, tính lại khi tiếp nhận" in page.text
    await intake.drive(out["dossier_id"], ["accept"])
    accepted = await intake.http.post(
        "/v1/public/receipt", json={"code": out["code"], "secret": out["secret"]}
    )
    assert "Bộ phận Tiếp nhận và Trả kết quả đã tiếp nhận hồ sơ" in accepted.text
    assert "dự kiến" not in accepted.text
    assert "appointment-provisional" not in (await intake.http.post("/lookup", data=form)).text
    denied = await intake.http.post(
        "/v1/public/receipt", json={"code": out["code"], "secret": "AAAAA-AAAAA"}
    )
    assert denied.status_code == 404


async def _wrong_lookups(intake: Intake, forwarded_for: Callable[[int], str]) -> list[int]:
    """One more lookup than the burst allows, each with a wrong secret, the ``n``-th from
    ``forwarded_for(n)`` as the proxy reports it; the status codes."""
    real = await intake.receive()
    code = real["dossier"]["code"]
    answers = [
        await intake.http.post(
            "/v1/public/lookup",
            json={"code": code, "secret": "ZZZZZ-ZZZZZ"},
            headers={"X-Forwarded-For": forwarded_for(n)},
        )
        for n in range(LOOKUP_BURST + 1)
    ]
    return [a.status_code for a in answers]


async def test_a_client_cannot_escape_the_limit_by_writing_x_forwarded_for(
    intake: Intake,
) -> None:
    """The proxy (here the test client) appends the client's address; whatever the client
    wrote before it is not believed, so it keeps its one bucket."""
    client = f"198.51.100.{uuid.uuid4().int % 250}"
    answers = await _wrong_lookups(intake, lambda n: f"203.0.113.{n}, {client}")
    assert answers == [404] * LOOKUP_BURST + [429]


async def test_an_ipv6_client_is_one_bucket_per_64(intake: Intake) -> None:
    prefix = f"2001:db8:{uuid.uuid4().int % 65000:x}:1"
    answers = await _wrong_lookups(intake, lambda n: f"{prefix}::{n + 1:x}")
    assert answers == [404] * LOOKUP_BURST + [429]
