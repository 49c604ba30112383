"""Server-rendered pages: the dev inbox, and the opt-out and rating pages that
message links open. Vietnamese by default, ``?lang=en`` for English.

Forms post ``application/x-www-form-urlencoded`` and are parsed here with the
standard library, so the pages need no JavaScript.

The dev inbox stands in for the citizens' phones while no real channel is configured,
so a message it delivered shows whole, lookup secret included: that is the text the
developer checks. It is open to anyone who reaches the service, so a message that went
(or was meant to go) to a real phone or mailbox shows with its secret masked, as in the
staff's delivery log; real channels turn the inbox off anyway unless it is forced on.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from motcua.services.notify.api import notifier_of, unit_of_work
from motcua.services.notify.contacts import mask
from motcua.services.notify.repository import citizens as repo
from motcua.services.notify.repository import delivery_log as deliveries
from motcua.shared.web import Lang, Pages

# Citizens' pages (HTML, their errors too), like every service's: not part of the API.
router = APIRouter(tags=["pages"], include_in_schema=False)

Limit = Annotated[int, Query(ge=1, le=1000)]

# The inbox shows messages and the opt-out page acts on a link's token: the same
# no-cache, no-frame, no-script headers as every other service's pages.
PAGES = Pages("motcua.services.notify")


# -------------------------------------------------------------------- dev inbox


def _inbox_enabled(request: Request) -> None:
    if not notifier_of(request).settings.dev_inbox_enabled:
        raise HTTPException(404, "the dev inbox is off (development only)")


async def _inbox(request: Request, limit: int) -> list[dict[str, Any]]:
    _inbox_enabled(request)
    tz = ZoneInfo(notifier_of(request).settings.timezone)
    async with unit_of_work(request) as conn:
        rows = await deliveries.inbox(
            conn, limit, keys=notifier_of(request).contact_keys, rest=notifier_of(request).rest_keys
        )
    for r in rows:
        address = r.pop("address", None)
        r["to"] = mask(address) if address else "?"
        r["created_at"] = r["created_at"].astimezone(tz).strftime("%H:%M:%S %d/%m/%Y")
        if r["finished_at"] is not None:
            r["finished_at"] = r["finished_at"].astimezone(tz).isoformat()
        r["id"] = str(r["id"])
    return rows


@router.get("/dev/inbox", response_class=HTMLResponse)
async def dev_inbox(request: Request, lang: Lang = "vi", limit: Limit = 200) -> HTMLResponse:
    """Every message as the citizen would see it (development only). Only messages the
    inbox itself delivered show the lookup secret; those of real channels mask it."""
    return PAGES.render(request, "inbox.html", messages=await _inbox(request, limit))


@router.get("/dev/inbox.json")
async def dev_inbox_json(request: Request, limit: Limit = 200) -> list[dict[str, Any]]:
    """The dev inbox as JSON, newest first; addresses are masked."""
    return await _inbox(request, limit)


# ---------------------------------------------------------------------- opt-out


@router.get("/optout/{token}", response_class=HTMLResponse)
async def opt_out_page(request: Request, token: str, lang: Lang = "vi") -> HTMLResponse:
    """Asks before acting, so that link previews cannot opt anyone out."""
    return PAGES.render(request, "optout.html", done=False, invalid=False)


@router.post("/optout/{token}", response_class=HTMLResponse)
async def opt_out_confirmed(request: Request, token: str, lang: Lang = "vi") -> HTMLResponse:
    try:
        async with unit_of_work(request) as conn:
            await notifier_of(request).opt_out_by_link(conn, token)
    except HTTPException as exc:
        if exc.status_code != 422:
            raise
        return PAGES.render(request, "optout.html", status=404, done=False, invalid=True)
    return PAGES.render(request, "optout.html", done=True, invalid=False)


# ---------------------------------------------------------------------- ratings


@router.get("/feedback/{token}", response_class=HTMLResponse)
async def feedback_page(request: Request, token: str, lang: Lang = "vi") -> HTMLResponse:
    n = notifier_of(request)
    try:
        async with unit_of_work(request) as conn:
            dossier = await repo.get_dossier(conn, n.dossier_of_token(token))
    except HTTPException:
        invalid = PAGES.t(request, "link_not_valid")
        return PAGES.render(request, "feedback.html", status=404, message=invalid)
    return PAGES.render(request, "feedback.html", message=None, dossier_code=dossier.dossier_code)


@router.post("/feedback/{token}", response_class=HTMLResponse)
async def feedback_form(request: Request, token: str, lang: Lang = "vi") -> HTMLResponse:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    raw_rating = (form.get("rating") or [""])[0]
    comment = (form.get("comment") or [""])[0]
    if not raw_rating.isdigit():
        ask = PAGES.t(request, "feedback.choose")
        return PAGES.render(request, "feedback.html", status=422, message=ask)
    try:
        async with unit_of_work(request) as conn:
            await notifier_of(request).submit_feedback(conn, token, int(raw_rating), comment)
    except HTTPException as exc:
        key = {409: "feedback.already", 404: "link_not_valid"}.get(
            exc.status_code, "feedback.invalid"
        )
        message = PAGES.t(request, key)
        return PAGES.render(request, "feedback.html", status=exc.status_code, message=message)
    return PAGES.render(request, "feedback.html", message=PAGES.t(request, "feedback.thanks"))
