"""The clerk API: receipts, codes, idempotency, center scoping, backdating, snapshots."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

from motcua.services.intake import domain
from motcua.services.intake.catalog import TimeLimitSpec
from motcua.shared.calendar import TimeUnit
from tests.integration.intake.support import CENTER, Intake


async def test_receipt_is_a_printable_vietnamese_page_with_code_secret_and_appointment(
    intake: Intake,
) -> None:
    received = await intake.receive(
        "HT-KHAISINH",
        applicant_name="Nguyễn Thị <b>Lan</b>",
        documents_received=["Giấy chứng sinh hoặc giấy tờ thay thế"],
        received_at="2026-03-02T14:10:00+07:00",
        role="admin",
    )
    d = received["dossier"]
    r = await intake.http.get(f"/v1/dossiers/{d['id']}/receipt", headers=intake.auth())
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "PHIẾU TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in page
    assert d["code"] in page
    assert received["secret"] in page
    assert "Nguyễn Thị &lt;b&gt;Lan&lt;/b&gt;" in page  # typed text is never markup
    assert "14 giờ 10 phút, Thứ Hai ngày 02 tháng 03 năm 2026" in page
    assert "17 giờ 00 phút, Thứ Hai ngày 02 tháng 03 năm 2026" in page  # same day, before 15:00
    assert "Đăng ký khai sinh" in page
    assert "✓</span>Giấy chứng sinh hoặc giấy tờ thay thế" in page


async def test_codes_are_unique_and_sequential_under_concurrent_receipts(intake: Intake) -> None:
    center = f"c{uuid.uuid4().hex[:8]}"
    results = await asyncio.gather(*(intake.receive(center=center) for _ in range(30)))
    codes = sorted(r["dossier"]["code"] for r in results)
    day = datetime.now(UTC).astimezone(intake.wiring.intake.calendar.tz)
    assert codes == [f"{center.upper()}-{day:%Y%m%d}-{n:04d}" for n in range(1, 31)]
    assert len({r["secret"] for r in results}) == 30


async def test_idempotency_key_makes_a_retried_write_answer_the_first_result(
    intake: Intake,
) -> None:
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = await intake.http.post(
        "/v1/dossiers", json={"procedure_code": "CUTRU-TAMTRU"}, headers=intake.auth() | key
    )
    again = await intake.http.post(
        "/v1/dossiers", json={"procedure_code": "CUTRU-TAMTRU"}, headers=intake.auth() | key
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["dossier"]["code"] == first.json()["dossier"]["code"]
    assert again.json()["secret"] == first.json()["secret"]
    dossier_id = first.json()["dossier"]["id"]

    op_key = {"Idempotency-Key": f"assign-{uuid.uuid4()}"}
    a = await intake.op(dossier_id, "assign", headers=op_key)
    b = await intake.op(dossier_id, "assign", headers=op_key)
    assert (a.status_code, b.status_code) == (200, 200)
    assert await intake.history_types(dossier_id) == ["dossier.received", "dossier.assigned"]
    # The same key for another operation is a conflict, not a silent replay.
    c = await intake.op(dossier_id, "resolve", headers=op_key)
    assert c.status_code == 409
    assert "Idempotency-Key" in c.json()["error"]


async def test_another_centers_token_can_neither_read_nor_change_the_dossier(
    intake: Intake,
) -> None:
    dossier_id = (await intake.receive())["dossier"]["id"]
    before = await intake.state(dossier_id)
    r = await intake.op(dossier_id, "assign", center="other-ward")
    assert r.status_code == 403
    assert "another center" in r.json()["error"]
    r = await intake.http.get(f"/v1/dossiers/{dossier_id}", headers=intake.auth("other-ward"))
    assert r.status_code == 403
    r = await intake.http.get(
        f"/v1/dossiers/{dossier_id}/receipt", headers=intake.auth("other-ward")
    )
    assert r.status_code == 403
    assert await intake.state(dossier_id) == before


async def test_writes_need_a_token(intake: Intake) -> None:
    r = await intake.http.post("/v1/dossiers", json={"procedure_code": "HT-XNTTHN"})
    assert r.status_code == 401
    r = await intake.http.post(
        f"/v1/dossiers/{uuid.uuid4()}/assign",
        json={"assignee": "x"},
        headers={"Authorization": "Bearer v1.forged.token"},
    )
    assert r.status_code == 401


async def test_bad_input_is_a_4xx_naming_the_field(intake: Intake) -> None:
    r = await intake.http.post(
        "/v1/dossiers", json={"procedure_code": "NO-SUCH"}, headers=intake.auth()
    )
    assert r.status_code == 422
    assert r.json()["details"] == [
        {"field": "procedure_code", "error": "unknown procedure 'NO-SUCH'"}
    ]
    dossier_id = (await intake.receive())["dossier"]["id"]
    r = await intake.op(dossier_id, "resolve", body={"outcome": "refused"})
    assert r.status_code == 422
    assert "a refusal needs a reason" in r.text
    r = await intake.op(dossier_id, "assign", body={"assignee": "x", "surprise": 1})
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "surprise"
    r = await intake.http.get(f"/v1/dossiers/{uuid.uuid4()}", headers=intake.auth())
    assert r.status_code == 404


async def test_backdating_is_for_admin_tokens_and_future_times_are_refused(
    intake: Intake,
) -> None:
    past = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    r = await intake.http.post(
        "/v1/dossiers",
        json={"procedure_code": "HT-XNTTHN", "received_at": past},
        headers=intake.auth(),
    )
    assert r.status_code == 403
    assert r.json()["field"] == "occurred_at"
    admin = await intake.receive("HT-XNTTHN", received_at=past, role="admin")
    assert admin["dossier"]["received_at"] == past.replace("+00:00", "Z")
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = await intake.http.post(
        "/v1/dossiers",
        json={"procedure_code": "HT-XNTTHN", "received_at": future},
        headers=intake.auth(role="admin"),
    )
    assert r.status_code == 422


async def test_a_receipt_dated_outside_the_calendar_is_a_422_naming_the_time(
    intake: Intake,
) -> None:
    r = await intake.http.post(
        "/v1/dossiers",
        json={"procedure_code": "HT-XNTTHN", "received_at": "1850-03-02T09:00:00+07:00"},
        headers=intake.auth(role="admin"),
    )
    assert r.status_code == 422, r.text
    assert "outside the years" in r.text


async def test_a_catalog_change_never_alters_a_dossier_already_received(intake: Intake) -> None:
    w = intake.wiring
    original = w.intake
    before = await intake.receive(
        "CUTRU-TAMTRU", received_at="2026-03-02T09:00:00+07:00", role="admin"
    )
    changed = [
        p.model_copy(update={"time_limit": TimeLimitSpec(amount=10, unit=TimeUnit.WORKING_DAYS)})
        if p.code == "CUTRU-TAMTRU"
        else p
        for p in original.catalog.procedures
    ]
    w.intake = dataclasses.replace(
        original, catalog=original.catalog.model_copy(update={"procedures": changed})
    )
    try:
        after = await intake.receive(
            "CUTRU-TAMTRU", received_at="2026-03-02T09:00:00+07:00", role="admin"
        )
        kept = await intake.dossier(before["dossier"]["id"])
    finally:
        w.intake = original
    assert kept["time_limit"] == {"amount": 3, "unit": "working_days", "rollover": False}
    assert kept["appointment_local"] == "17:00 05/03/2026"
    assert after["dossier"]["time_limit"]["amount"] == 10
    assert after["dossier"]["appointment_local"] == "17:00 16/03/2026"


async def test_reference_data_is_served(intake: Intake) -> None:
    procedures = (await intake.http.get("/v1/procedures")).json()
    codes = {p["code"] for p in procedures}
    assert {
        "CT-BANSAO",
        "HT-TRICHLUC",
        "HT-KHAISINH",
        "HT-KETHON",
        "HT-XNTTHN",
        "LT-KHAISINH-THUONGTRU-BHYT",
        "CUTRU-THUONGTRU",
        "CUTRU-TAMTRU",
    } <= codes
    statuses = (await intake.http.get("/v1/statuses")).json()
    assert [s["code"] for s in statuses] == list(range(1, 13))
    # Each lifecycle status names the national portal's code it reports as.
    assert {s["portal"] for s in statuses} == set(range(1, 11))
    listed = await intake.http.get("/v1/dossiers?status=2&limit=5", headers=intake.auth(CENTER))
    assert listed.status_code == 200
    assert all(d["status"] == 2 for d in listed.json())


async def test_codes_past_the_ten_thousandth_of_a_day_keep_the_domain_format(
    intake: Intake,
) -> None:
    center = f"c{uuid.uuid4().hex[:8]}"
    day = datetime.now(UTC).astimezone(intake.wiring.intake.calendar.tz)
    prefix = domain.code_prefix(center.upper(), day.date())
    await intake.pg.execute("INSERT INTO dossier_sequences VALUES ($1, 9998)", prefix)
    codes = [(await intake.receive(center=center))["dossier"]["code"] for _ in range(2)]
    assert codes == [domain.dossier_code(prefix, 9999), domain.dossier_code(prefix, 10000)]
    assert codes[1].endswith("-10000")
