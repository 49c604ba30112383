"""The leaders' dashboard on the running deadlines service: the on-time table with a known
answer, the worklist's order, the weekly chart, signing in, and the 401 and 403 pages.

The state is built through the service's real path: dossier events on the topic, applied
by its consumer.
"""

from __future__ import annotations

import functools
import re
import uuid
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import asyncpg
import httpx
import pytest

from motcua.services.deadlines.sign_in import COOKIE
from tests.integration.pages.conftest import DeadlinesApp
from tests.integration.pages.history import history
from tests.support.waiting import eventually

SVG = "{http://www.w3.org/2000/svg}"


class Elements(HTMLParser):
    """Every element with a ``data-testid``: its attributes and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[dict[str, str], list[str]]] = []
        self._open: list[tuple[str, list[str] | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        text: list[str] | None = None
        if "data-testid" in a:
            text = []
            self.found.append((a, text))
        if tag not in {"input", "br", "meta", "link", "img", "rect", "line"}:
            self._open.append((tag, text))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, text in self._open:
            if text is not None:
                text.append(data)


def elements(html: str, testid: str) -> list[tuple[dict[str, str], str]]:
    parser = Elements()
    parser.feed(html)
    return [
        (a, " ".join("".join(t).split())) for a, t in parser.found if a["data-testid"] == testid
    ]


def value(html: str, testid: str) -> str:
    [(attrs, _)] = elements(html, testid)
    return attrs["data-value"]


def row_cells(html: str, row_testid: str) -> dict[str, dict[str, str]]:
    """``{row key: {cell testid: data-value}}`` of one kind of table row."""
    out: dict[str, dict[str, str]] = {}
    for block in re.findall(rf'<tr data-testid="{row_testid}".*?</tr>', html, re.S):
        key = re.search(r'data-key="([^"]*)"', block)
        assert key is not None
        cells = re.findall(r'data-testid="(cell-[a-z-]+)" data-value="([^"]*)"', block)
        out[key[1]] = dict(cells)
    return out


@pytest.fixture(scope="module")
async def center(deadlines_app: DeadlinesApp) -> str:
    """A center with the known history, once the service has applied every event of it."""
    center = f"c{uuid.uuid4().hex[:8]}"
    _, events = history(center)
    await deadlines_app.publish(*events)
    ids = [e.event_id for e in events]
    conn = await asyncpg.connect(deadlines_app.database.url)
    try:

        async def applied() -> int:
            n: int = await conn.fetchval(
                "SELECT count(*) FROM deadlines.inbox WHERE event_id = ANY($1::uuid[])", ids
            )
            return n

        await eventually(applied, until=lambda n: n == len(ids), what="every event applied")
    finally:
        await conn.close()
    return center


async def test_the_on_time_table_gives_the_known_answer(
    deadlines_app: DeadlinesApp, browser: httpx.AsyncClient, center: str
) -> None:
    r = await deadlines_app.dashboard(browser, center)
    assert r.status_code == 200, r.text
    page = r.text
    assert '<html lang="vi">' in page
    assert "01/03/2026 – 31/03/2026" in page  # the current month by default
    kpis = {
        k: value(page, f"kpi-{k}")
        for k in ("received", "on-time", "late", "in-progress", "within", "overdue")
    }
    assert kpis == {
        "received": "9",
        "on-time": "2",
        "late": "1",
        "in-progress": "4",
        "within": "3",
        "overdue": "1",
    }
    assert value(page, "kpi-withdrawn") == "2"
    assert value(page, "kpi-on-time-rate") == "0.6667"
    [(_, rate)] = elements(page, "kpi-on-time-rate")
    assert rate == "66,7%"
    [(_, sentence)] = elements(page, "headline")
    assert sentence == (
        "9 hồ sơ tiếp nhận, 2 giải quyết đúng hạn và trước hạn, 1 giải quyết trễ hạn, "
        "2 rút hoặc dừng xử lý, 4 đang giải quyết (1 quá hạn)."
    )

    cells = ("cell-received", "cell-on-time", "cell-late", "cell-withdrawn")
    cells += ("cell-within", "cell-overdue", "cell-rate")

    def figures(*values: str) -> dict[str, str]:
        return dict(zip(cells, values, strict=True))

    assert row_cells(page, "row-line") == {
        "justice": figures("6", "2", "1", "1", "2", "0", "0.6667"),
        "other": figures("3", "0", "0", "1", "1", "1", ""),
    }
    assert row_cells(page, "row-procedure") == {
        "CUTRU-TAMTRU": figures("3", "0", "0", "1", "1", "1", ""),
        "HT-KHAISINH": figures("6", "2", "1", "1", "2", "0", "0.6667"),
    }
    assert row_cells(page, "row-total")["total"] == figures("9", "2", "1", "2", "3", "1", "0.6667")


async def test_the_page_agrees_with_the_json_api(
    deadlines_app: DeadlinesApp, browser: httpx.AsyncClient, center: str
) -> None:
    headers = deadlines_app.bearer(center)
    api = await browser.get(
        "/v1/statistics/on-time",
        params={"center": center, "from": "2026-03-01", "to": "2026-03-31"},
        headers=headers,
    )
    total = api.json()["total"]
    page = (await deadlines_app.dashboard(browser, center)).text
    assert value(page, "kpi-received") == str(total["received"])
    assert value(page, "kpi-on-time") == str(total["resolved_on_time_or_early"])
    assert value(page, "kpi-overdue") == str(total["in_progress_overdue"])


async def test_the_worklist_puts_overdue_first_then_least_time_left(
    deadlines_app: DeadlinesApp, browser: httpx.AsyncClient, center: str
) -> None:
    dossiers, _ = history(center)
    page = (await deadlines_app.dashboard(browser, center)).text
    rows = elements(page, "worklist-row")
    assert [(a["data-code"], a["data-state"]) for a, _ in rows] == [
        (dossiers["feb"].code, "overdue"),
        (dossiers["overdue"].code, "overdue"),
        (dossiers["paused"].code, "near_due"),
        (dossiers["soon"].code, "near_due"),
    ]
    left = [text for _, text in elements(page, "worklist-left")]
    assert left[1:] == ["Quá hạn 5 ngày 2 giờ 30 phút", "Còn 1 giờ", "Còn 5 giờ"]
    assert "Tạm dừng" in rows[2][1]  # the paused clock says so
    assert "Yêu cầu bổ sung hồ sơ" in rows[2][1]  # its current step
    [(_, overdue)] = elements(page, "worklist-overdue-count")
    [(_, near)] = elements(page, "worklist-near-count")
    assert (overdue, near) == ("2", "2")


async def test_the_weekly_chart_is_inline_svg_with_the_rate_of_each_week(
    deadlines_app: DeadlinesApp, browser: httpx.AsyncClient, center: str
) -> None:
    page = (await deadlines_app.dashboard(browser, center)).text
    svg = re.search(r'<svg[^>]*data-testid="chart-on-time-weekly".*?</svg>', page, re.S)
    assert svg is not None
    root = ET.fromstring(svg[0])
    bars = [e for e in root.iter() if e.get("data-testid") == "chart-bar"]
    # Weeks of receipt from Monday to Sunday, cut at the period; none after "now".
    assert [(b.get("data-label"), b.get("data-value")) for b in bars] == [
        ("01/03", ""),
        ("02/03", "66.67"),
        ("09/03", ""),
        ("16/03", ""),
    ]
    assert "Tỷ lệ đúng hạn theo tuần tiếp nhận" in svg[0]
    assert "<script" not in svg[0]
    assert elements(page, "queue-stats-unavailable")


async def test_a_past_instant_and_a_chosen_period_change_the_figures(
    deadlines_app: DeadlinesApp, browser: httpx.AsyncClient, center: str
) -> None:
    # As of Wed 4 March 17:00 only four dossiers exist; "early" is resolved.
    dashboard = functools.partial(deadlines_app.dashboard, browser, center)
    r = await dashboard(**{"from": "2026-03-01", "to": "2026-03-31", "as_of": "2026-03-04T17:00"})
    assert r.status_code == 200
    assert (value(r.text, "kpi-received"), value(r.text, "kpi-on-time")) == ("4", "1")
    assert value(r.text, "kpi-within") == "3"
    assert "<script" not in r.text  # a fixed instant needs no refreshing
    february = await dashboard(**{"from": "2026-02-01"})
    assert "01/02/2026 – 28/02/2026" in february.text
    assert value(february.text, "kpi-overdue") == "1"
    bad = await dashboard(**{"from": "2026-13-01"})
    assert bad.status_code == 422
    assert elements(bad.text, "bad-period")
    backwards = await dashboard(**{"from": "2026-03-10", "to": "2026-03-01"})
    assert backwards.status_code == 422


async def test_only_the_pages_own_script_may_run(
    deadlines_app: DeadlinesApp, browser: httpx.AsyncClient, center: str
) -> None:
    r = await deadlines_app.dashboard(browser, center)
    policy = r.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    # Only this service's own static script: no inline code, so no nonce or hash either.
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert "nonce-" not in policy
    scripts = re.findall(r"<script([^>]*)>", r.text)
    assert len(scripts) == 1
    src = re.fullmatch(r' src="(/static/dashboard\.js\?v=\w+)" defer', scripts[0])
    assert src is not None, scripts
    script = await browser.get(src[1])
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]


async def test_english_on_request(
    deadlines_app: DeadlinesApp, browser: httpx.AsyncClient, center: str
) -> None:
    r = await browser.get(
        f"/dashboard?center={center}&lang=en", headers=deadlines_app.bearer(center)
    )
    assert '<html lang="en">' in r.text
    [(_, sentence)] = elements(r.text, "headline")
    assert sentence.startswith("9 dossiers received, 2 resolved on time or early")
    [(_, rate)] = elements(r.text, "kpi-on-time-rate")
    assert rate == "66.7%"
    [(switch, label)] = elements(r.text, "lang-switch")
    assert label == "Tiếng Việt"
    assert "lang=en" not in switch["href"]
    assert f"center={center}" in switch["href"]
    assert "On-time rate by week of receipt" in r.text
    steps = [text for _, text in elements(r.text, "worklist-row")]
    assert "Supplement requested" in steps[2]
    assert "Tạm dừng" not in r.text


# ------------------------------------------------------------- the center's name

NAM_CUONG = "Trung tâm Phục vụ hành chính công phường Nam Cường"


async def test_the_header_names_the_center_though_none_is_stored(
    deadlines_app: DeadlinesApp, browser: httpx.AsyncClient
) -> None:
    """The deployment's name of the center; one stored with its calendar goes first; a
    center named nowhere is shown by its id."""
    headers = deadlines_app.bearer("nam-cuong")

    async def header() -> str:
        r = await browser.get("/dashboard?center=nam-cuong", headers=headers)
        assert r.status_code == 200, r.text
        [(_, name)] = elements(r.text, "center-name")
        assert f"<title>{name} – " in r.text
        return name

    assert await header() == NAM_CUONG  # the configured name: nothing is stored yet
    calendar = "/v1/centers/nam-cuong/calendar"
    stored = await browser.put(calendar, json={"name": "Bộ phận Một cửa"}, headers=headers)
    assert stored.status_code == 200, stored.text
    try:
        assert await header() == "Bộ phận Một cửa"
    finally:
        assert (await browser.put(calendar, json={}, headers=headers)).status_code == 200
    assert await header() == NAM_CUONG

    nowhere = f"c{uuid.uuid4().hex[:8]}"
    r = await browser.get(f"/dashboard?center={nowhere}", headers=deadlines_app.bearer(nowhere))
    [(_, name)] = elements(r.text, "center-name")
    assert name == f"Trung tâm {nowhere}"


# ---------------------------------------------------------------------- access


async def test_without_a_token_the_page_asks_to_sign_in(browser: httpx.AsyncClient) -> None:
    r = await browser.get("/dashboard?center=nam-cuong")
    assert r.status_code == 401
    assert elements(r.text, "sign-in-form")
    assert not elements(r.text, "sign-in-error")
    assert r.headers["www-authenticate"] == "Bearer"
    [(form, _)] = elements(r.text, "sign-in-form")
    assert (form["method"], form["action"]) == ("post", "/dashboard/sign-in")
    # Once signed in, the browser comes back to the page it asked for.
    assert 'name="next" value="/dashboard?center=nam-cuong"' in r.text
    assert not elements(r.text, "kpi-received")
    forged = await browser.get(
        "/dashboard", headers={"Authorization": "Bearer v1.e30.forged-signature"}
    )
    assert forged.status_code == 401
    assert elements(forged.text, "sign-in-error")


async def test_signing_in_keeps_the_token_in_a_strict_http_only_cookie(
    deadlines_app: DeadlinesApp, browser: httpx.AsyncClient, center: str
) -> None:
    form = await browser.get("/dashboard/sign-in")
    [(field, _)] = elements(form.text, "sign-in-csrf")
    csrf = field["value"]
    bad = await browser.post(
        "/dashboard/sign-in", data={"token": "nonsense", "next": "/dashboard", "csrf": csrf}
    )
    assert bad.status_code == 401
    assert elements(bad.text, "sign-in-error")
    assert COOKIE not in browser.cookies

    r = await browser.post(
        "/dashboard/sign-in",
        data={
            "token": deadlines_app.token(center, role="clerk"),
            "next": "https://evil.example/",
            "csrf": csrf,
        },
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/dashboard?center={center}"  # never another site
    cookie = r.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/dashboard"):
        assert attribute.lower() in cookie.lower()

    page = await browser.get(r.headers["location"])
    assert page.status_code == 200
    assert value(page.text, "kpi-received") == "9"

    out = await browser.post("/dashboard/sign-out")
    assert out.status_code == 303
    assert (await browser.get(f"/dashboard?center={center}")).status_code == 401


async def test_another_centers_token_gets_a_clear_403_page(
    deadlines_app: DeadlinesApp, browser: httpx.AsyncClient, center: str
) -> None:
    r = await browser.get(f"/dashboard?center={center}", headers=deadlines_app.bearer("nam-cuong"))
    assert r.status_code == 403
    [(_, own)] = elements(r.text, "own-center")
    assert own == "nam-cuong"
    assert elements(r.text, "forbidden")
    assert not elements(r.text, "kpi-received")  # not one figure of the other center
    # A cookie from another deployment (another secret) is refused and cleared.
    stranger = deadlines_app.token(center, secret="another-deployment")
    browser.cookies.set(COOKIE, stranger, path="/dashboard")
    again = await browser.get(f"/dashboard?center={center}")
    assert again.status_code == 401
    assert COOKIE in again.headers.get("set-cookie", "")


async def test_metrics_count_open_and_overdue_dossiers(
    deadlines_app: DeadlinesApp, browser: httpx.AsyncClient, center: str
) -> None:
    """Open and overdue dossiers as Prometheus gauges, counted as the worklist counts them:
    every open dossier of the center, whatever the period (history.py: the four open ones
    received in March plus "feb"; "feb" and "overdue" are past due, "paused" is not)."""

    async def gauges() -> dict[str, float]:
        text = (await browser.get("/metrics")).text
        found = {}
        for name in ("motcua_dossiers_open", "motcua_dossiers_overdue"):
            series = f'{name}{{center="{center}"}}'
            for line in text.splitlines():
                if line.startswith(series):
                    found[name] = float(line.rsplit(" ", 1)[1])
        return found

    figures = await eventually(gauges, until=lambda g: len(g) == 2, what="both gauges sampled")
    assert figures == {"motcua_dossiers_open": 5, "motcua_dossiers_overdue": 2}
    r = await deadlines_app.dashboard(browser, center)
    [(_, overdue_on_page)] = elements(r.text, "worklist-overdue-count")
    assert float(overdue_on_page) == figures["motcua_dossiers_overdue"]
