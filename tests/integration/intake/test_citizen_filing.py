"""A citizen files from home: the components of their own online submission, attached
with its code and secret while it waits for a clerk, and never after."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from motcua.shared import crypto
from tests.integration.intake.support import CENTER, Intake

PDF = b"%PDF-1.7\n" + os.urandom(20_000) + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(5_000)


def client() -> dict[str, str]:
    """A client address of its own, so that the lookup limit of other tests stays apart."""
    return {"X-Forwarded-For": f"192.0.2.{uuid.uuid4().int % 250 + 1}"}


async def citizen_attach(
    intake: Intake,
    code: str,
    secret: str,
    component: int | str,
    data: bytes,
    media_type: str = "application/pdf",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await intake.http.put(
        f"/v1/public/dossiers/{code}/documents/{component}",
        content=data,
        params={"file_name": "to-khai.pdf"},
        headers={"Content-Type": media_type, "X-Dossier-Secret": secret} | (headers or client()),
    )


async def clerk_listing(intake: Intake, dossier_id: str) -> list[dict[str, Any]]:
    r = await intake.http.get(f"/v1/dossiers/{dossier_id}/documents", headers=intake.auth())
    assert r.status_code == 200, r.text
    out: list[dict[str, Any]] = r.json()
    return out


async def test_the_citizen_attaches_components_of_their_waiting_submission(
    intake: Intake,
) -> None:
    out = await intake.submit_online()
    code, secret, dossier_id = out["code"], out["secret"], out["dossier_id"]
    me = client()
    first = await citizen_attach(intake, code, secret, 1, PDF, headers=me)
    assert first.status_code == 200, first.text
    second = await citizen_attach(intake, code, secret, 2, PNG, "image/png", headers=me)
    assert second.status_code == 200, second.text

    docs = await clerk_listing(intake, dossier_id)
    assert sorted((d["component"], d["sha256"], d["digitised"]) for d in docs) == [
        (1, hashlib.sha256(PDF).hexdigest(), False),  # filed as a file, not scanned
        (2, hashlib.sha256(PNG).hexdigest(), False),
    ]


async def test_a_wrong_secret_is_the_lookups_404_and_attaches_nothing(intake: Intake) -> None:
    out = await intake.submit_online()
    other = await intake.submit_online()
    wrong = await citizen_attach(intake, out["code"], other["secret"], 1, PDF)
    assert wrong.status_code == 404, wrong.text
    assert await clerk_listing(intake, out["dossier_id"]) == []


async def test_a_component_the_procedure_does_not_ask_for_is_refused(intake: Intake) -> None:
    out = await intake.submit_online()
    r = await citizen_attach(intake, out["code"], out["secret"], 9, PDF)
    assert r.status_code == 422, r.text
    assert "component" in r.text
    assert await clerk_listing(intake, out["dossier_id"]) == []


async def test_once_a_clerk_has_decided_the_citizen_attaches_nothing_more(
    intake: Intake,
) -> None:
    out = await intake.submit_online()
    await intake.drive(out["dossier_id"], ["accept"])
    late = await citizen_attach(intake, out["code"], out["secret"], 1, PDF)
    assert late.status_code == 409, late.text
    assert await clerk_listing(intake, out["dossier_id"]) == []


async def test_the_filing_page_lists_the_chosen_procedures_components_and_runs_its_script(
    intake: Intake,
) -> None:
    page = await intake.http.get(
        "/file", params={"center": CENTER, "procedure": "HT-XNTTHN", "lang": "en"}
    )
    assert page.status_code == 200, page.text
    assert page.text.count('data-testid="filing-component"') == 3
    assert "(if any)" in page.text  # proof of divorce: only if the applicant has one
    assert "/static/filing.js?v=" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = await intake.http.get("/static/filing.js")
    assert script.status_code == 200
    unknown = await intake.http.get("/file", params={"center": CENTER, "procedure": "NOPE"})
    assert 'data-testid="filing-form"' not in unknown.text


async def test_a_refusal_carries_the_sealed_contact_only_with_consent(intake: Intake) -> None:
    """The citizen of a refused submission never had a receipt event: the refusal itself
    carries the contact for notify, sealed, and only with consent."""
    key = intake.settings.contact_key.get_secret_value()
    for consent in (True, False):
        out = await intake.submit_online(consent=consent)
        await intake.drive(out["dossier_id"], ["not_accept"])
        [_, refused] = await intake.wait_events(out["dossier_id"], 2)
        assert refused["event_type"] == "dossier.not_accepted"
        contact = refused["data"]["contact"]
        if consent:
            assert crypto.unseal(key, contact["sealed"], out["dossier_id"]) == "+84912345678"
        else:
            assert contact is None


async def test_the_acceptance_screen_is_a_shell_that_holds_no_dossier(intake: Intake) -> None:
    """Anyone may load the screen: its data comes from the clerk API, with a token."""
    out = await intake.submit_online()
    page = await intake.http.get("/console/submissions")
    assert page.status_code == 200
    assert out["code"] not in page.text
    assert "/static/submissions.js?v=" in page.text
    assert (await intake.http.get("/v1/dossiers", params={"status": 1})).status_code == 401


# ---------------------------------------------------------------- reuse by reference


async def reuse(
    intake: Intake, target: dict[str, Any], component: int, **body: Any
) -> httpx.Response:
    return await intake.http.post(
        f"/v1/public/dossiers/{target['code']}/documents/{component}/reuse",
        json=body,
        headers={"X-Dossier-Secret": target["secret"]} | client(),
    )


async def reused_count(intake: Intake) -> int:
    now = datetime.now(UTC)
    r = await intake.http.get(
        "/v1/documents/digitisation",
        params={
            "since": (now - timedelta(days=1)).isoformat(),
            "until": (now + timedelta(days=1)).isoformat(),
        },
        headers=intake.auth(),
    )
    assert r.status_code == 200, r.text
    count: int = r.json()["components_reused"]
    return count


async def test_a_component_of_an_earlier_dossier_is_reused_by_reference_and_counted(
    intake: Intake,
) -> None:
    earlier = await intake.submit_online()
    r = await citizen_attach(intake, earlier["code"], earlier["secret"], 2, PNG, "image/png")
    assert r.status_code == 200, r.text
    sha = hashlib.sha256(PNG).hexdigest()
    blobs = await intake.pg.fetchval("SELECT count(*) FROM document_blobs")
    before = await reused_count(intake)

    now = await intake.submit_online()
    proof = {"from_code": earlier["code"], "from_secret": earlier["secret"], "sha256": sha}
    done = await reuse(intake, now, 2, consent=True, **proof)
    assert done.status_code == 200, done.text
    assert (done.json()["stored_new"], done.json()["recorded_new"]) == (False, True)
    again = await reuse(intake, now, 2, consent=True, **proof)
    assert again.json()["recorded_new"] is False  # the same reference twice: once

    assert [
        (d["component"], d["sha256"]) for d in await clerk_listing(intake, now["dossier_id"])
    ] == [(2, sha)]
    assert await intake.pg.fetchval("SELECT count(*) FROM document_blobs") == blobs  # no copy
    assert await reused_count(intake) == before + 1
    events = await intake.wait_events(now["dossier_id"], 2)
    assert events[-1]["event_type"] == "dossier.document_attached"
    assert events[-1]["data"]["reused"] is True  # the scorecard's indicator 4.3


async def test_a_bad_reuse_is_refused_by_name_and_attaches_nothing(intake: Intake) -> None:
    earlier = await intake.submit_online()
    stranger = await intake.submit_online()
    r = await citizen_attach(intake, earlier["code"], earlier["secret"], 1, PDF)
    assert r.status_code == 200, r.text
    sha = hashlib.sha256(PDF).hexdigest()
    now = await intake.submit_online()
    proof = {"from_code": earlier["code"], "from_secret": earlier["secret"], "sha256": sha}

    # Someone else's dossier: its code with a secret that is not its own.
    wrong = await reuse(
        intake, now, 1, consent=True, **(proof | {"from_secret": stranger["secret"]})
    )
    assert wrong.status_code == 404, wrong.text
    not_held = await reuse(
        intake,
        now,
        1,
        consent=True,
        **(proof | {"from_code": stranger["code"], "from_secret": stranger["secret"]}),
    )
    assert not_held.status_code == 422
    assert "sha256" in not_held.text
    no_consent = await reuse(intake, now, 1, consent=False, **proof)
    assert no_consent.status_code == 422
    assert "consent" in no_consent.text
    not_asked = await reuse(intake, now, 9, consent=True, **proof)
    assert not_asked.status_code == 422
    assert "component" in not_asked.text
    itself = await reuse(intake, earlier, 1, consent=True, **proof)
    assert itself.status_code == 422
    assert "from_code" in itself.text
    bad_target = await intake.http.post(
        f"/v1/public/dossiers/{now['code']}/documents/1/reuse",
        json=proof | {"consent": True},
        headers={"X-Dossier-Secret": stranger["secret"]} | client(),
    )
    assert bad_target.status_code == 404

    assert await clerk_listing(intake, now["dossier_id"]) == []
