"""The display board and the counter console pages, over HTTP."""

from __future__ import annotations

import re

import httpx

from motcua.services.queue.pages import PAGES
from tests.integration.queue_pages.conftest import INTAKE_URL, PagesEnv
from tests.integration.queue_pages.dom import Page


async def _ticket(client: httpx.AsyncClient, center: str, line: str) -> None:
    r = await client.post(f"/centers/{center}/tickets", json={"line_code": line})
    assert r.status_code == 201, r.text


async def test_board_shows_now_serving_last_calls_and_waiting(
    client: httpx.AsyncClient, center: str, pages_env: PagesEnv
) -> None:
    headers = pages_env.auth(center)
    for counter in ("Q1", "Q2"):
        r = await client.post(f"/centers/{center}/counters/{counter}/open", headers=headers)
        assert r.status_code == 200
    for line in ("justice", "justice", "other", "other"):
        await _ticket(client, center, line)
    for counter in ("Q1", "Q2"):
        r = await client.post(f"/centers/{center}/counters/{counter}/call-next", headers=headers)
        assert r.status_code == 200

    r = await client.get("/board", params={"center": center})
    assert r.status_code == 200
    page = Page(r.text)
    cards = {e.attrs["data-counter"]: e.text for e in page.all("board-counter")}
    assert list(cards) == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    assert cards["Q1"].startswith("Quầy 1 A001")
    assert cards["Q2"].startswith("Quầy 2 A002")
    assert "Tạm đóng" in cards["Q3"]
    calls = [(e.attrs["data-number"], e.attrs["data-counter"]) for e in page.all("board-call")]
    assert calls == [("A002", "Q2"), ("A001", "Q1")]
    waiting = {e.attrs["data-line"]: e.text for e in page.all("board-line")}
    # 2 waiting on one open counter: a ticket taken now is 3rd, 600 s each.
    assert waiting["other"].split()[-3:] == ["2", "30", "phút"]
    assert [e.text for e in page.all("board-line-waiting")] == ["0", "0", "0", "0", "2"]
    assert page.has("speech-toggle")
    assert page.has("call-banner")
    config = page.data["page-config"]
    assert isinstance(config, dict)
    assert config["counters"]["Q3"] == "Quầy 3"
    assert config["lang"] == "vi"
    speech = page.data["speech-text"]
    assert isinstance(speech, dict)
    assert speech["vi"] == "Mời số {number} đến {counter}"

    panel = await client.get(config["panelUrl"])
    assert panel.status_code == 200
    assert "<html" not in panel.text
    assert [e.attrs["data-counter"] for e in Page(panel.text).all("board-counter")] == list(cards)


async def test_board_in_english(client: httpx.AsyncClient, center: str) -> None:
    r = await client.get("/board", params={"center": center, "lang": "en"})
    page = Page(r.text)
    assert "Now serving" in r.text
    assert page.one("board-calls-empty").text == "No number called yet today."
    assert page.one("speech-toggle").text == "Turn on announcements"
    config = page.data["page-config"]
    assert isinstance(config, dict)
    assert config["panelUrl"] == f"/board/panel?center={center}&lang=en"


async def test_counter_console_is_wired_to_both_services(
    client: httpx.AsyncClient, center: str
) -> None:
    r = await client.get("/counter", params={"center": center})
    assert r.status_code == 200
    page = Page(r.text)
    for testid in (
        "signin-form",
        "signin-token",
        "counter-select",
        "counter-open",
        "call-next",
        "recall",
        "no-show",
        "start-service",
        "finish-service",
        "transfer",
        "procedure-select",
        "document-checklist",
        "receive-dossier",
        "receipt-frame",
        "intake-message",
    ):
        assert page.has(testid), testid
    config = page.data["page-config"]
    assert isinstance(config, dict)
    assert config["center"] == center
    assert config["intakeUrl"] == INTAKE_URL
    assert [c["id"] for c in config["counters"]] == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    text = page.data["page-text"]
    assert isinstance(text, dict)
    assert "CORS" in text["intakeBlocked"]
    csp = r.headers["content-security-policy"]
    assert f"connect-src 'self' {INTAKE_URL};" in csp
    assert "script-src 'self';" in csp
    # The receipt frame runs no script of intake's, yet can be printed from the console.
    assert page.one("receipt-frame").attrs["sandbox"] == "allow-same-origin allow-modals"
    assert 'type="password"' in r.text  # the token is not shown while typed


async def test_pages_load_only_this_services_own_assets(client: httpx.AsyncClient) -> None:
    for path in ("/kiosk", "/board", "/counter"):
        r = await client.get(path)
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text)
        assert assets, path
        assert r.headers["content-security-policy"] == (
            PAGES.csp(connect=f" {INTAKE_URL}", framed=True) if path == "/counter" else PAGES.csp()
        ), path
        assert re.findall(r'(?:src|href)="(?:https?:)?//', r.text) == [], path
        for asset in assets:
            got = await client.get(asset)
            assert got.status_code == 200, asset
            kinds = {".js": "javascript", ".css": "text/css", ".svg": "image/svg+xml"}
            suffix = asset.split("?")[0].rsplit("/", 1)[1]
            kind = next(v for k, v in kinds.items() if suffix.endswith(k))
            assert kind in got.headers["content-type"], asset
