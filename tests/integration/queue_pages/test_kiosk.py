"""The kiosk page and the ticket it prints, over HTTP: rendering, languages, bad input."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import asyncpg
import httpx

from motcua.services.queue import labels
from motcua.services.queue.domain import PRIORITY_REASONS, Status
from motcua.services.queue.pages import PAGES
from tests.integration.queue_pages.conftest import PagesEnv
from tests.integration.queue_pages.dom import Page


async def issue(
    client: httpx.AsyncClient, center: str, line: str, expect: int = 303, **fields: str
) -> httpx.Response:
    r = await client.post(
        "/kiosk", data={"center": center, "line_code": line, "request_key": "", **fields}
    )
    assert r.status_code == expect, r.text
    return r


async def test_kiosk_offers_every_line_in_vietnamese_by_default(
    client: httpx.AsyncClient, center: str
) -> None:
    r = await client.get("/kiosk", params={"center": center})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    page = Page(r.text)
    assert '<html lang="vi">' in r.text
    assert "Tư pháp – Hộ tịch" in page.one("line-justice").text
    buttons = [e.attrs["data-testid"] for e in page.found if e.tag == "button"]
    assert [b for b in buttons if b.startswith("line-")] == [
        "line-justice",
        "line-land",
        "line-business",
        "line-labour",
        "line-other",
    ]
    # Beside the lines: a booking's check-in and a remote ticket's arrival, nothing else.
    assert [b for b in buttons if not b.startswith("line-")] == [
        "checkin-submit",
        "arrival-submit",
    ]
    assert page.one("line-waiting-justice").text.startswith("0 người đang chờ")
    assert page.one("lang-switch").attrs["href"] == f"/kiosk?center={center}&lang=en"
    assert page.one("contact-consent").attrs.get("checked") is None
    assert len(page.all("priority-elderly")) == 1


async def test_kiosk_in_english_switches_back_to_vietnamese(
    client: httpx.AsyncClient, center: str
) -> None:
    r = await client.get("/kiosk", params={"center": center, "lang": "en"})
    page = Page(r.text)
    assert '<html lang="en">' in r.text
    assert "Justice &amp; civil status" in r.text
    assert "Take a queue ticket" in r.text
    assert page.one("lang-switch").attrs["href"] == f"/kiosk?center={center}"
    assert page.one("lang-switch").text == "Tiếng Việt"


async def test_kiosk_without_a_center_shows_the_default_one(
    client: httpx.AsyncClient, pages_env: PagesEnv
) -> None:
    r = await client.get("/kiosk")
    page = Page(r.text)
    hidden = re.search(r'name="center" value="([^"]+)"', r.text)
    assert hidden is not None
    assert hidden.group(1) == pages_env.settings.default_center
    assert page.has("kiosk-form")


async def test_unknown_center_is_a_404_page(client: httpx.AsyncClient) -> None:
    for path in ("/kiosk", "/board", "/counter"):
        r = await client.get(path, params={"center": "nowhere"})
        assert r.status_code == 404, path
        assert Page(r.text).one("not-found-key").text == "nowhere"
    r = await client.post("/kiosk", data={"center": "nowhere", "line_code": "justice"})
    assert r.status_code == 404


async def test_taking_a_ticket_shows_it_ready_to_print_with_a_qr_code(
    client: httpx.AsyncClient, center: str, pages_env: PagesEnv
) -> None:
    await issue(client, center, "justice")
    r = await issue(client, center, "justice", priority_reason="elderly")
    target = urlsplit(r.headers["location"])
    assert re.fullmatch(r"/ticket/[A-Z0-9]{6}", target.path)
    assert target.query == "kiosk=1"

    r = await client.get(r.headers["location"])
    assert r.status_code == 200
    page = Page(r.text)
    code = target.path.rsplit("/", 1)[1]
    assert page.one("ticket-number").text == "A002"
    assert page.one("ticket-line").text == "Tư pháp – Hộ tịch"
    assert page.one("ticket-priority").text == "Ưu tiên: Người cao tuổi"
    assert page.one("ticket-lookup-code").text == code
    assert page.one("ticket-status").attrs["data-status"] == "waiting"
    # Priority first: the elderly citizen is next although issued second.
    assert page.one("ticket-position").text == "1"
    assert page.one("ticket-wait").attrs["data-seconds"].isdigit()
    assert page.has("print-ticket")
    assert page.one("new-ticket").attrs["href"] == f"/kiosk?center={center}"
    # The QR code is the public status page's address, drawn on the server.
    qr = page.one("ticket-qr")
    status_url = f"{pages_env.settings.public_url}/ticket/{code}"
    assert qr.attrs["data-url"] == status_url
    assert labels.qr_svg(status_url, PAGES.t("vi", "qr_title")) in r.text
    assert "<svg" in r.text
    # Nothing is loaded from elsewhere: scripts and styles come from this service.
    assert re.findall(r'(?:src|href)="(?:https?:)?//', r.text) == []


async def test_the_status_page_follows_the_ticket(
    client: httpx.AsyncClient, center: str, pages_env: PagesEnv
) -> None:
    location = (await issue(client, center, "land")).headers["location"]
    code = urlsplit(location).path.rsplit("/", 1)[1]
    r = await client.get(f"/ticket/{code.lower()}", params={"lang": "en"})
    page = Page(r.text)
    assert page.one("ticket-status-label").text == "Waiting"
    assert not page.has("print-ticket")
    assert page.has("live-status")
    config = page.data["page-config"]
    assert isinstance(config, dict)
    assert config["streamUrl"] == f"/centers/{center}/display/stream"
    assert config["panelUrl"] == f"/ticket/{code}/panel?lang=en"

    headers = pages_env.auth(center)
    opened = await client.post(f"/centers/{center}/counters/Q3/open", headers=headers)
    assert opened.status_code == 200
    called = await client.post(f"/centers/{center}/counters/Q3/call-next", headers=headers)
    assert called.json()["number"] == "B001"

    panel = await client.get(config["panelUrl"])
    assert panel.status_code == 200
    fragment = Page(panel.text)
    assert fragment.one("ticket-status").attrs["data-status"] == "called"
    assert fragment.one("ticket-counter").text == "Quầy 3"
    assert "<html" not in panel.text


async def test_a_double_tap_is_one_ticket(
    client: httpx.AsyncClient, center: str, pg: asyncpg.Connection
) -> None:
    form = {"center": center, "line_code": "business", "request_key": "tap-tap-1234"}
    first = await client.post("/kiosk", data=form)
    second = await client.post("/kiosk", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    count = await pg.fetchval("SELECT count(*) FROM queue.tickets WHERE center_id = $1", center)
    assert count == 1


async def test_a_contact_is_kept_sealed_only_with_consent(
    client: httpx.AsyncClient, center: str, pg: asyncpg.Connection
) -> None:
    phone = "0912 345 678"
    refused = await issue(client, center, "justice", 422, contact_value=phone)
    page = Page(refused.text)
    assert page.has("kiosk-error-contact-consent")
    assert page.one("contact-consent").attrs["aria-invalid"] == "true"
    assert page.one("contact-value").attrs["value"] == phone  # kept, to tick the box and retry
    assert "đồng ý" in page.one("kiosk-error").text
    assert await pg.fetchval("SELECT count(*) FROM queue.tickets WHERE center_id = $1", center) == 0

    r = await issue(client, center, "justice", contact_value=phone, consent="yes")
    assert "contact=1" in r.headers["location"]
    shown = await client.get(r.headers["location"])
    assert Page(shown.text).has("contact-noted")
    row = await pg.fetchrow("SELECT * FROM queue.tickets WHERE center_id = $1", center)
    assert row is not None
    assert row["contact"] is not None
    assert "912345678" not in str(dict(row))


async def test_bad_kiosk_input_names_the_problem_and_issues_nothing(
    client: httpx.AsyncClient, center: str, pg: asyncpg.Connection
) -> None:
    cases = [
        ({"line_code": ""}, "kiosk-error-line_code"),
        ({"line_code": "astrology"}, "kiosk-error-line_code"),
        ({"line_code": "justice", "priority_reason": "vip"}, "kiosk-error-priority_reason"),
        (
            {"line_code": "justice", "contact_value": "not-a-phone", "consent": "yes"},
            "kiosk-error-contact-value",
        ),
        (
            {
                "line_code": "justice",
                "contact_kind": "email",
                "contact_value": "x@",
                "consent": "yes",
            },
            "kiosk-error-contact-value",
        ),
    ]
    for fields, error in cases:
        r = await client.post("/kiosk", data={"center": center, **fields})
        assert r.status_code == 422, fields
        assert Page(r.text).has(error), (fields, r.text)
    # An oversized body is read as an empty form.
    r = await client.post(
        "/kiosk",
        content=f"center={center}&line_code=justice&pad={'x' * 5000}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 422
    count = await pg.fetchval("SELECT count(*) FROM queue.tickets WHERE center_id = $1", center)
    assert count == 0


async def test_a_key_reused_for_another_line_asks_to_choose_again(
    client: httpx.AsyncClient, center: str
) -> None:
    form = {"center": center, "request_key": "back-button-1"}
    await client.post("/kiosk", data=form | {"line_code": "justice"})
    r = await client.post("/kiosk", data=form | {"line_code": "land"})
    assert r.status_code == 409
    page = Page(r.text)
    assert page.has("kiosk-error-line_code")
    fresh = re.search(r'name="request_key" value="([^"]+)"', r.text)
    assert fresh is not None
    assert fresh.group(1) != "back-button-1"


async def test_a_wrong_ticket_code_is_a_404_page(client: httpx.AsyncClient) -> None:
    for code in ("ZZZZZZ", "bad-code!", "AB"):
        r = await client.get(f"/ticket/{code}")
        assert r.status_code == 404, code
        assert Page(r.text).has("not-found")
    assert (await client.get("/ticket/ZZZZZZ/panel")).status_code == 404


async def test_the_ticket_search_form_goes_to_the_ticket(client: httpx.AsyncClient) -> None:
    r = await client.get("/ticket")
    assert r.status_code == 200
    assert Page(r.text).has("ticket-search-form")
    r = await client.get("/ticket", params={"code": " abc234 ", "lang": "en"})
    assert r.status_code == 303
    assert r.headers["location"] == "/ticket/ABC234?lang=en"
    r = await client.get("/ticket", params={"code": "no!"})
    assert r.status_code == 422
    assert Page(r.text).has("ticket-search-error")


def test_every_priority_reason_and_status_has_both_labels() -> None:
    for lang in ("vi", "en"):
        texts = PAGES.catalog.texts[lang]
        priorities = {k.split(".", 1)[1]: v for k, v in texts.items() if k.startswith("priority.")}
        statuses = {k.split(".", 1)[1]: v for k, v in texts.items() if k.startswith("status.")}
        assert set(priorities) == set(PRIORITY_REASONS)
        assert set(statuses) == {s.value for s in Status}
        assert all([*priorities.values(), *statuses.values()])


async def test_a_kiosk_set_to_print_by_itself_stays_so(
    client: httpx.AsyncClient, center: str
) -> None:
    r = await client.get("/kiosk", params={"center": center, "autoprint": "1"})
    assert '<input type="hidden" name="autoprint" value="1">' in r.text
    r = await issue(client, center, "other", autoprint="1")
    assert "autoprint=1" in r.headers["location"]
    page = Page((await client.get(r.headers["location"])).text)
    config = page.data["page-config"]
    assert isinstance(config, dict)
    assert config["autoPrint"] is True
    assert config["kioskUrl"] == f"/kiosk?center={center}&autoprint=1"
    # Without it, a kiosk never prints unasked.
    r = await issue(client, center, "other")
    config = Page((await client.get(r.headers["location"])).text).data["page-config"]
    assert isinstance(config, dict)
    assert config["autoPrint"] is False
