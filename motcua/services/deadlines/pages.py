"""The leaders' pages through the shared web kit: the dashboard (``dashboard``) and its
sign-in (``sign_in``), their 403, 422 and 503 pages. Vietnamese by default, ``?lang=en``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from motcua.shared.web import Pages, here

PATH = "/dashboard"
RETRY_AFTER_UNAVAILABLE = 5
PAGES = Pages("motcua.services.deadlines", scripts=True, referrer="same-origin")


def message(request: Request, status: int, kind: str, **context: Any) -> HTMLResponse:
    """The 403 and 422 pages."""
    return PAGES.render(request, "message.html", status=status, kind=kind, **context)


def unavailable(request: Request) -> HTMLResponse:
    """The 503 page; its retry asks for the same page again."""
    return PAGES.unavailable(
        request,
        detail="unavailable.detail",
        retry_after=RETRY_AFTER_UNAVAILABLE,
        retry_url=here(request),
    )
