"""What every page of the queue shares: templates, languages, static files, security
headers, the plain 503 and 404 pages, and how pages name lines, counters and statuses."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode

import jinja2
import segno
from fastapi import Request
from fastapi.responses import HTMLResponse

from motcua.services.queue.directory import Center
from motcua.shared.db import UNAVAILABLE
from motcua.shared.logging import get_logger
from motcua.shared.page_headers import page_headers

log = get_logger(__name__)

Lang = Literal["vi", "en"]
T = TypeVar("T")

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"
RETRY_AFTER_SECONDS = 10

PRIORITY_LABELS: dict[str, tuple[str, str]] = {
    "elderly": ("Người cao tuổi", "Elderly person"),
    "disability": ("Người khuyết tật", "Person with a disability"),
    "pregnancy": ("Phụ nữ mang thai", "Pregnant woman"),
    "young_child": ("Người đi cùng trẻ nhỏ", "With a young child"),
    "meritorious": ("Người có công với cách mạng", "Person of meritorious service"),
}
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "waiting": ("Đang chờ", "Waiting"),
    "called": ("Mời đến quầy", "Called to the counter"),
    "serving": ("Đang được phục vụ", "Being served"),
    "served": ("Đã phục vụ xong", "Served"),
    "no_show": ("Vắng mặt khi được gọi", "Missed the call"),
    "cancelled": ("Đã hủy", "Cancelled"),
}

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class Unavailable(Exception):
    """The database is out of reach: the page answers 503."""


# ----------------------------------------------------------------- rendering


def language(request: Request) -> Lang:
    return "en" if request.query_params.get("lang") == "en" else "vi"


def page_url(path: str, lang: Lang, **params: str) -> str:
    query = {k: v for k, v in params.items() if v} | ({"lang": "en"} if lang == "en" else {})
    return path + (f"?{urlencode(query)}" if query else "")


@functools.cache
def _fingerprint(name: str) -> str:
    """A content hash in each static URL, so that kiosks and TVs never run a stale script."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    return f"/static/{name}?v={_fingerprint(name)}"


def content_security_policy(connect: str = "", framed: bool = False) -> str:
    # Framed receipts (intake's HTML shown in a sandboxed srcdoc frame) carry inline styles.
    style = "'self' 'unsafe-inline'" if framed else "'self'"
    return (
        f"default-src 'none'; script-src 'self'; style-src {style}; img-src 'self' data:; "
        f"connect-src 'self'{connect}; frame-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )


def render(
    request: Request,
    name: str,
    *,
    status: int = 200,
    csp: str | None = None,
    **context: Any,
) -> HTMLResponse:
    lang = language(request)

    def t(vi: str, en: str) -> str:
        return en if lang == "en" else vi

    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    other: Lang = "en" if lang == "vi" else "vi"
    page = _templates.get_template(name).render(
        lang=lang,
        t=t,
        static=static_url,
        switch_url=page_url(request.url.path, other, **params),
        url=lambda path, **p: page_url(path, lang, **p),
        **context,
    )
    headers = page_headers(csp or content_security_policy(), referrer="same-origin")
    return HTMLResponse(page, status_code=status, headers=headers)


def unavailable_page(request: Request) -> HTMLResponse:
    """503 in both languages; it reloads itself, so an unattended screen comes back alone."""
    # Always a GET of the same address: a kiosk's failed POST must not be sent again.
    retry_url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = render(
        request,
        "unavailable.html",
        status=503,
        refresh_seconds=RETRY_AFTER_SECONDS,
        retry_url=retry_url,
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def not_found_page(request: Request, what: str, key: str) -> HTMLResponse:
    return render(request, "not_found.html", status=404, what=what, key=key)


def fragment_unavailable() -> HTMLResponse:
    return HTMLResponse("", status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


async def guarded(read: Callable[[], Awaitable[T]]) -> T:
    try:
        return await read()
    except UNAVAILABLE as exc:
        log.warning("page.database_unavailable", error=repr(exc))
        raise Unavailable from exc


def line_name(center: Center, code: str, lang: Lang) -> str:
    line = center.lines.get(code)
    if line is None:
        return code
    return line.name_en if lang == "en" else line.name


def counter_name(center: Center, counter_id: str | None) -> str:
    if counter_id is None:
        return ""
    spec = center.counters.get(counter_id)
    return spec.name if spec else counter_id


def minutes(seconds: int | None) -> int | None:
    """A wait as whole minutes, rounded up: never promise less than the estimate."""
    return None if seconds is None else -(-seconds // 60)


def local_time(center: Center, at: datetime | None) -> str:
    return "" if at is None else f"{at.astimezone(center.tz):%H:%M}"


def helpers(center: Center, lang: Lang) -> dict[str, Any]:
    def pick(pair: tuple[str, str]) -> str:
        return pair[1] if lang == "en" else pair[0]

    return {
        "center": center,
        "line_name": lambda code: line_name(center, code, lang),
        "counter_name": lambda cid: counter_name(center, cid),
        "status_label": lambda s: pick(STATUS_LABELS.get(s, (s, s))),
        "priority_label": lambda r: pick(PRIORITY_LABELS.get(r, (r, r))),
        "minutes": minutes,
        "clock": lambda at: local_time(center, at),
    }


def qr_svg(url: str, lang: Lang) -> str:
    """The status page's address as an inline SVG QR code, made here without any network."""
    title = "Mã QR trang theo dõi số" if lang == "vi" else "QR code of the ticket's status page"
    return segno.make(url, error="m").svg_inline(
        scale=5, border=2, dark="#000", light="#fff", title=title, omitsize=True
    )
