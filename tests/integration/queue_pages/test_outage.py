"""While the queue's database is away, every page says so plainly with a 503, never a trace,
and comes back by itself once the database is back."""

from __future__ import annotations

import httpx

from tests.integration.queue_pages.conftest import PagesEnv
from tests.integration.queue_pages.dom import Page
from tests.support.waiting import eventually


async def test_pages_say_service_unavailable_while_the_database_is_away(
    client: httpx.AsyncClient, center: str, pages_env: PagesEnv
) -> None:
    r = await client.post("/kiosk", data={"center": center, "line_code": "justice"})
    assert r.status_code == 303
    ticket = r.headers["location"].split("?")[0]

    await pages_env.proxy.cut()
    try:
        for method, path, params in [
            ("GET", "/kiosk", {"center": center}),
            ("GET", "/board", {"center": center}),
            ("GET", "/counter", {"center": center, "lang": "en"}),
            ("GET", ticket, {}),
            ("POST", "/kiosk", {}),
        ]:
            data = {"center": center, "line_code": "justice"} if method == "POST" else None
            r = await client.request(method, path, params=params, data=data)
            assert r.status_code == 503, (path, r.text)
            assert r.headers["retry-after"] == "10"
            assert r.headers["content-type"].startswith("text/html")
            page = Page(r.text)
            notice = page.one("service-unavailable").text
            assert "Dịch vụ tạm thời gián đoạn" in notice
            assert "Service temporarily unavailable" in notice
            assert "Traceback" not in r.text
            assert "asyncpg" not in r.text
            # An unattended screen reloads by itself, with a GET of the same address.
            retry = page.one("retry-link").attrs["href"]
            assert retry.startswith(path)
            assert f'<meta http-equiv="refresh" content="10; url={retry}">' in r.text.replace(
                "&amp;", "&"
            )
        for panel in (f"/board/panel?center={center}", f"{ticket}/panel"):
            r = await client.get(panel)
            assert r.status_code == 503, panel
            assert r.text == ""
    finally:
        await pages_env.proxy.restore()

    r = await eventually(
        lambda: client.get("/board", params={"center": center}),
        until=lambda r: r.status_code == 200,
        what="the board once the database is back",
    )
    assert Page(r.text).has("board-panel")
    count = await eventually(
        lambda: client.post("/kiosk", data={"center": center, "line_code": "justice"}),
        until=lambda r: r.status_code == 303,
        what="a ticket once the database is back",
    )
    assert count.headers["location"].startswith("/ticket/")
