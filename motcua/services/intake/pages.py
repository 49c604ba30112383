"""The citizen lookup page: a dossier's status timeline by code and secret, in a browser.

The page takes the public lookup API's own steps, so it adds no way around them: the same
request model, the same per-address rate limit (one bucket shared by page and API), the
same query, which treats a wrong secret and an unknown code alike, and the same citizen
view, which holds no personal data. Both failures render one "not found" page with one
status.

It is a plain form that works without JavaScript. The secret travels in the POST body,
never in a URL (proxies log URLs) and is never echoed back; the receipt's link may carry
the code (``/lookup?code=...``) to pre-fill it. Vietnamese by default, ``?lang=en`` for
English. When the database is away the page says so with a 503, never a trace.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from motcua.services.intake.public import client_address
from motcua.services.intake.receipt import vi_datetime
from motcua.services.intake.schemas.requests import LookupIn
from motcua.services.intake.schemas.responses import LookupOut
from motcua.services.intake.usecases import Wiring, wiring
from motcua.shared.db import UNAVAILABLE
from motcua.shared.events.envelope import utcnow
from motcua.shared.logging import get_logger
from motcua.shared.web import Lang, Pages, language, page_url, read_form

log = get_logger(__name__)

router = APIRouter(tags=["pages"], include_in_schema=False)

Deps = Annotated[Wiring, Depends(wiring)]

PATH = "/lookup"
RETRY_AFTER_UNAVAILABLE = 5
# No scripts, nothing from elsewhere; the page posts to itself only.
PAGES = Pages("motcua.services.intake")


def _lookup_page(
    request: Request, *, status: int = 200, code: str = "", **context: Any
) -> HTMLResponse:
    """The form, and what the last lookup found; the language switch keeps the code only."""
    defaults: dict[str, Any] = {
        "state": "form",
        "errors": {},
        "result": None,
        "retry_after": 0,
        "downloads": [],
    }
    return PAGES.render(
        request,
        "lookup.html",
        defaults | context,
        status=status,
        switch={"code": code},
        code=code,
        form_action=page_url(PATH, language(request)),
    )


def unavailable_page(request: Request, retry_url: str) -> HTMLResponse:
    """The 503 page: a plain statement in both languages, and a way to retry."""
    return PAGES.unavailable(
        request,
        detail="unavailable.detail",
        retry_after=RETRY_AFTER_UNAVAILABLE,
        retry_url=retry_url,
    )


# ------------------------------------------------------------------------ routes


@router.get(PATH, response_class=HTMLResponse)
async def lookup_form(request: Request) -> HTMLResponse:
    """The empty form; ``?code=`` (from the receipt's link) pre-fills the code only."""
    code = request.query_params.get("code", "").strip()[:80]
    return _lookup_page(request, code=code)


@router.post(PATH, response_class=HTMLResponse)
async def lookup_submit(request: Request, w: Deps) -> HTMLResponse:
    """Look the dossier up as ``POST /v1/public/lookup`` does and show its timeline."""
    lang = language(request)
    form = await read_form(request)
    code = form.get("code", "").strip()
    try:
        given = LookupIn.model_validate({"code": code, "secret": form.get("secret", "")})
    except ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        errors = {f: PAGES.t(lang, f"field_error.{f}") for f in fields}
        return _lookup_page(request, status=422, state="invalid", errors=errors, code=code[:80])
    retry_after = w.lookups.retry_after(client_address(w, request))
    if retry_after is not None:
        page = _lookup_page(
            request, status=429, state="rate_limited", retry_after=retry_after, code=code
        )
        page.headers["Retry-After"] = str(retry_after)
        return page
    try:
        async with w.runtime.unit_of_work() as conn:
            found = await w.queries.lookup(conn, given.code, given.secret)
    except UNAVAILABLE as exc:
        log.warning("page.database_unavailable", page="lookup", error=repr(exc))
        return unavailable_page(request, page_url(PATH, lang, code=code))
    if found is None:
        return _lookup_page(request, status=404, state="not_found", code=code)
    view = w.views.lookup(*found)
    downloads = await _downloads(request, found[0].id)
    return _lookup_page(
        request,
        state="found",
        result=_result(view, lang, w.views.tz),
        code=code,
        downloads=downloads,
    )


async def _downloads(request: Request, dossier_id: uuid.UUID) -> list[dict[str, Any]]:
    """The dossier's results for the page to offer, each behind a short-lived token
    (``attachments.result_downloads``): the secret is not echoed back into the page."""
    found = await request.app.state.attachments.result_downloads(dossier_id, utcnow())
    return [
        {"file_name": a.file_name, "kib": max(1, a.size // 1024), "token": token}
        for a, token in found
    ]


# ------------------------------------------------------------------ formatting


def long_local(t: datetime, tz: ZoneInfo, lang: Lang) -> str:
    """An appointment as people say it: ``17 giờ 00 phút, Thứ Năm ngày 05 tháng 03 năm
    2026`` or ``17:00, Thursday 5 March 2026``."""
    if lang == "vi":
        return vi_datetime(t, tz)
    local = t.astimezone(tz)
    weekday = PAGES.t(lang, f"weekday.{local.weekday()}")
    month = PAGES.t(lang, f"month.{local.month}")
    return f"{local:%H:%M}, {weekday} {local.day} {month} {local.year}"


def _short(t: datetime, tz: ZoneInfo) -> str:
    return f"{t.astimezone(tz):%H:%M %d/%m/%Y}"


def _result(view: LookupOut, lang: Lang, tz: ZoneInfo) -> dict[str, Any]:
    """What the page shows of the citizen view, in one language."""
    en = lang == "en"
    return {
        "code": view.code,
        "procedure": view.procedure.name_en if en else view.procedure.name_vi,
        "step": view.current_step.name_en if en else view.current_step.name_vi,
        "step_code": view.current_step.code,
        "clock": view.current_step.clock,
        "outcome": PAGES.catalog.pick(lang, "outcome", view.outcome) if view.outcome else None,
        "appointment": long_local(view.appointment_at, tz, lang),
        "appointment_iso": view.appointment_at.isoformat(),
        "received": _short(view.received_at, tz),
        "received_iso": view.received_at.isoformat(),
        "timeline": [
            {
                "label": entry.label_en if en else entry.label_vi,
                "status": entry.status.name_en if en else entry.status.name_vi,
                "status_code": entry.status.code,
                "at": _short(entry.at, tz),
                "at_iso": entry.at.isoformat(),
                # The appointment moved by the legal clock (a pause, an extension).
                "appointment": long_local(entry.appointment_at, tz, lang)
                if entry.appointment_at
                else None,
                "appointment_iso": entry.appointment_at.isoformat()
                if entry.appointment_at
                else None,
            }
            for entry in view.timeline
        ],
    }
