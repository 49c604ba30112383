"""What the dashboard's pages share: templates, the language, security headers, and the
403, 422 and 503 pages. Vietnamese by default, ``?lang=en`` for English."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from motcua.shared.page_headers import page_headers

Lang = Literal["vi", "en"]
PATH = "/dashboard"
RETRY_AFTER_UNAVAILABLE = 5

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def language(request: Request) -> Lang:
    return "en" if request.query_params.get("lang") == "en" else "vi"


def translator(lang: Lang) -> Any:
    def t(vi: str, en: str) -> str:
        return en if lang == "en" else vi

    return t


def with_lang(url: str, lang: Lang) -> str:
    return url + (("&" if "?" in url else "?") + "lang=en" if lang == "en" else "")


def here(request: Request) -> str:
    """The address asked for, to come back to after signing in or an outage."""
    return str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")


def render(
    name: str,
    request: Request,
    *,
    status: int = 200,
    nonce: str = "",
    connect: str = "",
    **context: Any,
) -> HTMLResponse:
    lang = language(request)
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    other: Lang = "en" if lang == "vi" else "vi"
    switch = request.url.path + "?" + urlencode(params | ({"lang": "en"} if other == "en" else {}))
    page = _templates.get_template(f"pages/{name}").render(
        lang=lang,
        t=translator(lang),
        switch_url=switch.rstrip("?"),
        nonce=nonce,
        with_lang=lambda url: with_lang(url, lang),
        **context,
    )
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    headers = page_headers(
        f"default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src {script}; connect-src 'self' {connect}; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        referrer="same-origin",
    )
    return HTMLResponse(page, status_code=status, headers=headers)


def message(
    request: Request, status: int, kind: str, retry_url: str = PATH, **context: Any
) -> HTMLResponse:
    """The 403, 422 and 503 pages."""
    response = render(
        "message.html", request, status=status, kind=kind, retry_url=retry_url, **context
    )
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
    return response
