"""The citizen lookup page on the running intake service: the timeline of a dossier received
through intake's API, one "not found" page for a wrong secret and an unknown code, the
shared rate limit's 429 page, no personal data, and English on request."""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from motcua.services.intake.receipt import vi_datetime
from tests.integration.pages.conftest import LOOKUP_BURST, clerk_headers, client_address

NAME = "Trần Thị Hoa"
PHONE_DIGITS = "912345678"
REASON = f"Cần bản sao căn cước của bà {NAME}"


async def received_dossier(http: httpx.AsyncClient, *, steps: bool = True) -> dict[str, Any]:
    """A dossier received at the counter, assigned, then sent for and given a supplement."""
    r = await http.post(
        "/v1/dossiers",
        json={
            "procedure_code": "HT-XNTTHN",
            "applicant_name": NAME,
            "contact": {"kind": "phone", "value": f"0{PHONE_DIGITS}"},
            "consent_notifications": True,
        },
        headers=clerk_headers(),
    )
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    if steps:
        dossier = out["dossier"]["id"]
        for path, body in (
            ("assign", {"assignee": "can-bo-tu-phap-2", "department": "phong-tu-phap"}),
            ("request-supplement", {"reason": REASON, "missing_documents": ["Căn cước"]}),
            ("provide-supplement", {}),
        ):
            step = await http.post(
                f"/v1/dossiers/{dossier}/{path}", json=body, headers=clerk_headers()
            )
            assert step.status_code == 200, step.text
    return out


def texts_of(html: str, testid: str) -> list[str]:
    """The text of each element carrying ``data-testid`` (no nesting of the same id)."""
    pattern = rf'<(\w+)[^>]*data-testid="{testid}"[^>]*>(.*?)</\1>'
    return [
        " ".join(unescape(re.sub("<[^>]+>", " ", m[1])).split())
        for m in re.findall(pattern, html, re.S)
    ]


def attribute(html: str, testid: str, name: str) -> list[str]:
    tags = re.findall(rf'<[^>]*data-testid="{testid}"[^>]*>', html)
    return [m[1] for tag in tags if (m := re.search(rf'{name}="([^"]*)"', tag))]


async def test_the_page_shows_the_timeline_step_and_appointment_without_personal_data(
    citizen: httpx.AsyncClient,
) -> None:
    out = await received_dossier(citizen)
    code, secret = out["dossier"]["code"], out["secret"]

    form = await citizen.get("/lookup", params={"code": code})
    assert form.status_code == 200
    assert '<html lang="vi">' in form.text
    assert attribute(form.text, "lookup-code", "value") == [code]
    assert attribute(form.text, "lookup-secret", "value") == [""]
    assert re.search(r'<form method="post" action="/lookup"', form.text)  # works without JS

    typed = secret.lower().replace("-", "")  # as a citizen might type it
    page = await citizen.post("/lookup", data={"code": code.lower(), "secret": typed})
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    assert texts_of(page.text, "dossier-code") == [code]
    assert attribute(page.text, "timeline-entry", "data-status") == ["2", "3", "5", "3"]
    entries = texts_of(page.text, "timeline-entry")
    assert "Yêu cầu bổ sung hồ sơ" in entries[2]
    assert texts_of(page.text, "current-step") == ["Đang xử lý"]
    appointment = datetime.fromisoformat(out["dossier"]["appointment_at"])
    assert texts_of(page.text, "appointment") == [
        vi_datetime(appointment, ZoneInfo("Asia/Ho_Chi_Minh"))
    ]
    text = unescape(page.text)
    for personal in (NAME, "Hoa", PHONE_DIGITS, "can-bo-tu-phap-2", "phong-tu-phap", "clerk-7"):
        assert personal not in text
    assert out["dossier"]["id"] not in text
    assert secret not in text.upper()
    assert typed not in text


async def test_a_wrong_secret_and_an_unknown_code_get_one_not_found_page(
    citizen: httpx.AsyncClient,
) -> None:
    out = await received_dossier(citizen, steps=False)
    code = out["dossier"]["code"]
    unknown_code = "NC-19990101-0001"
    wrong = await citizen.post("/lookup", data={"code": code, "secret": "AAAAA-AAAAA"})
    unknown = await citizen.post("/lookup", data={"code": unknown_code, "secret": "AAAAA-AAAAA"})
    assert wrong.status_code == unknown.status_code == 404
    assert texts_of(wrong.text, "lookup-not-found")
    # The same page but for the code the citizen typed, which it keeps in the form.
    assert wrong.text.replace(code, "CODE") == unknown.text.replace(unknown_code, "CODE")
    drop = {"date", "content-length"}
    assert {k: v for k, v in wrong.headers.items() if k not in drop} == {
        k: v for k, v in unknown.headers.items() if k not in drop
    }
    assert "AAAAA" not in wrong.text


async def test_too_many_attempts_get_a_429_page_saying_when_to_retry(
    intake_app: Any, citizen: httpx.AsyncClient
) -> None:
    out = await received_dossier(citizen, steps=False)
    code, secret = out["dossier"]["code"], out["secret"]
    # The API and the page spend the same per-address allowance.
    for _ in range(LOOKUP_BURST - 1):
        r = await citizen.post("/v1/public/lookup", json={"code": code, "secret": "ZZZZZ-ZZZZZ"})
        assert r.status_code == 404
    last = await citizen.post("/lookup", data={"code": code, "secret": "ZZZZZ-ZZZZZ"})
    assert last.status_code == 404
    limited = await citizen.post("/lookup", data={"code": code, "secret": secret})
    assert limited.status_code == 429
    seconds = int(limited.headers["Retry-After"])
    assert seconds >= 1
    assert texts_of(limited.text, "retry-after-seconds") == [str(seconds)]
    assert texts_of(limited.text, "lookup-rate-limited")
    assert not texts_of(limited.text, "lookup-result")
    api = await citizen.post("/v1/public/lookup", json={"code": code, "secret": secret})
    assert api.status_code == 429
    # Another address is not held back.
    elsewhere = await citizen.post(
        "/lookup",
        data={"code": code, "secret": secret},
        headers={"X-Forwarded-For": client_address()},
    )
    assert elsewhere.status_code == 200


async def test_empty_fields_are_named_and_cost_no_attempt(citizen: httpx.AsyncClient) -> None:
    for _ in range(LOOKUP_BURST + 1):
        r = await citizen.post("/lookup", data={"code": "  ", "secret": ""})
        assert r.status_code == 422
    assert texts_of(r.text, "lookup-invalid")
    assert attribute(r.text, "lookup-code", "aria-invalid") == ["true"]
    assert attribute(r.text, "lookup-secret", "aria-invalid") == ["true"]
    out = await received_dossier(citizen, steps=False)
    ok = await citizen.post(
        "/lookup", data={"code": out["dossier"]["code"], "secret": out["secret"]}
    )
    assert ok.status_code == 200


async def test_english_on_request_and_the_switch_keeps_the_code_not_the_secret(
    citizen: httpx.AsyncClient,
) -> None:
    out = await received_dossier(citizen)
    code, secret = out["dossier"]["code"], out["secret"]
    form = await citizen.get("/lookup", params={"code": code, "lang": "en", "secret": secret})
    assert '<html lang="en">' in form.text
    assert "Look up your dossier" in form.text
    assert attribute(form.text, "lookup-secret", "value") == [""]  # never from a URL
    assert secret not in form.text
    assert attribute(form.text, "lookup-form", "action") == ["/lookup?lang=en"]

    page = await citizen.post("/lookup?lang=en", data={"code": code, "secret": secret})
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert texts_of(page.text, "current-step") == ["Processing"]
    assert "Supplement requested" in texts_of(page.text, "timeline-entry")[2]
    assert re.match(r"\d\d:\d\d, \w+day \d+ \w+ 20\d\d$", texts_of(page.text, "appointment")[0])
    [switch] = attribute(page.text, "lang-switch", "href")
    assert switch == f"/lookup?code={code}"
    assert texts_of(page.text, "lang-switch") == ["Tiếng Việt"]

    resolved = await citizen.post(
        f"/v1/dossiers/{out['dossier']['id']}/resolve",
        json={"outcome": "approved"},
        headers=clerk_headers(role="officer"),
    )
    assert resolved.status_code == 200, resolved.text
    done = await citizen.post("/lookup?lang=en", data={"code": code, "secret": secret})
    assert texts_of(done.text, "current-step") == ["Resolved"]
    assert texts_of(done.text, "outcome") == ["Approved"]
    assert attribute(done.text, "timeline-entry", "data-status")[-1] == "9"
