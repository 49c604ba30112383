"""When the database is out of reach, each page says so in plain words with a 503 (and
``Retry-After``), never a trace; once it is back, the page works again.

The running apps reach PostgreSQL through a TCP proxy; the test cuts it (dropping every
open connection, refusing new ones) and restores it.
"""

from __future__ import annotations

import httpx

from tests.integration.pages.conftest import DeadlinesApp, IntakeApp
from tests.support.waiting import eventually


def assert_plain_503(r: httpx.Response, *, lang: str) -> None:
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("text/html")
    assert int(r.headers["Retry-After"]) >= 1
    assert f'<html lang="{lang}">' in r.text
    assert 'data-testid="service-unavailable"' in r.text
    assert "Dịch vụ tạm thời gián đoạn" in r.text
    assert "Service temporarily unavailable" in r.text
    for leak in ("Traceback", "asyncpg", "Error", "Exception", "postgres"):
        assert leak not in r.text


async def test_the_lookup_page_degrades_to_a_503_page_and_recovers(
    intake_app: IntakeApp, citizen: httpx.AsyncClient
) -> None:
    form = {"code": "NC-20260101-0001", "secret": "AAAAA-AAAAA"}
    assert (await citizen.post("/lookup", data=form)).status_code == 404
    await intake_app.database.proxy.cut()
    try:
        down = await citizen.post("/lookup", data=form)
        assert_plain_503(down, lang="vi")
        english = await citizen.post("/lookup?lang=en", data=form)
        assert_plain_503(english, lang="en")
        assert "NC-20260101-0001" in down.text  # the retry link keeps the code...
        assert "AAAAA" not in down.text  # ...never the secret
        assert (await citizen.get("/lookup")).status_code == 200  # the form needs no database
    finally:
        await intake_app.database.proxy.restore()

    async def status() -> int:
        return (await citizen.post("/lookup", data=form)).status_code

    await eventually(status, until=lambda s: s == 404, what="lookups answered again")


async def test_the_dashboard_degrades_to_a_503_page_and_recovers(
    deadlines_app: DeadlinesApp, browser: httpx.AsyncClient
) -> None:
    headers = deadlines_app.bearer("nam-cuong")
    assert (await browser.get("/dashboard", headers=headers)).status_code == 200
    await deadlines_app.database.proxy.cut()
    try:
        down = await browser.get("/dashboard?center=nam-cuong", headers=headers)
        assert_plain_503(down, lang="vi")
        assert 'href="/dashboard?center=nam-cuong"' in down.text  # try again, same page
        english = await browser.get("/dashboard?lang=en", headers=headers)
        assert_plain_503(english, lang="en")
    finally:
        await deadlines_app.database.proxy.restore()

    async def status() -> int:
        return (await browser.get("/dashboard", headers=headers)).status_code

    await eventually(status, until=lambda s: s == 200, what="the dashboard answered again")
