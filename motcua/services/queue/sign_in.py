"""Signing in to the counter console: through the province's provider, and the dev
stack's one-click link.

The console keeps its token in the tab's sessionStorage (see ``pages``), so both ways
end in a page that hands the token to the console's script once, rather than in a
cookie; the page is never cached and names no token in its URL. Whom a provider's
sign-in lets in is held to ``Operation.COUNTER_OPERATE``.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from motcua.services.queue import pages
from motcua.shared import dev_sign_in
from motcua.shared.auth import AuthError, ProviderUnavailable
from motcua.shared.dev_sign_in import SpentCodes
from motcua.shared.logging import get_logger
from motcua.shared.oidc import OidcVerifier
from motcua.shared.policy import Operation, allows
from motcua.shared.web import language, oidc_sign_in, page_url

log = get_logger(__name__)

router = APIRouter(tags=["pages"], include_in_schema=False)
dev_router = APIRouter(tags=["pages"], include_in_schema=False)
"""Mounted in dev mode only: outside it, these routes do not exist."""


def mount(app: FastAPI, *, dev_mode: bool) -> None:
    """The console's sign-in routes on ``app``; the dev stack's link only in dev mode."""
    app.include_router(router)
    if dev_mode:
        app.include_router(dev_router)
        app.state.dev_codes = SpentCodes()


PROVIDER_PATH = "/counter/sign-in/provider"
CALLBACK_PATH = "/counter/sign-in/callback"
_CENTER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


async def provider_logout(request: Request, oidc: OidcVerifier, center_id: str) -> str | None:
    """Where the console's sign-out sends a provider's officer: the provider's logout,
    back to this console. A shared counter PC must not keep the provider's session for
    the next clerk to walk into. None while the provider cannot be asked."""
    try:
        meta = await oidc.metadata()
    except ProviderUnavailable:
        return None
    console = page_url("/counter", language(request), center=center_id)
    back = oidc_sign_in.redirect_uri(request, console)
    return oidc_sign_in.provider_logout(oidc, back, meta.end_session_endpoint)


def _counter_next(url: str) -> str:
    """Only the console of this service, never another site."""
    return url if url.startswith("/counter?") and "//" not in url else "/counter"


@router.get(PROVIDER_PATH, response_class=HTMLResponse)
async def counter_sign_in_with_provider(request: Request) -> Response:
    """Off to the province's provider, back to the console of the center asked for (the
    console itself answers for an unknown center). Anyone may start a sign-in: whom it
    signs in is held to ``Operation.COUNTER_OPERATE`` at the callback."""
    oidc = request.app.state.runtime.oidc
    if oidc is None:
        return pages.not_found_page(request, "page", "/counter/sign-in")
    center = request.query_params.get("center", "")
    if not _CENTER_ID.match(center):
        center = pages._settings(request).default_center
    back = page_url("/counter", language(request), center=center)
    try:
        return await oidc_sign_in.begin(
            request, oidc, callback_path=CALLBACK_PATH, next_url=_counter_next(back)
        )
    except ProviderUnavailable:
        return pages.unavailable_page(request)


@router.get(CALLBACK_PATH, response_class=HTMLResponse)
async def counter_sign_in_callback(request: Request) -> Response:
    """The provider's answer: the access token handed to the console, or why not."""
    oidc = request.app.state.runtime.oidc
    if oidc is None:
        return pages.not_found_page(request, "page", "/counter/sign-in")
    try:
        done = await oidc_sign_in.finish(request, oidc, callback_path=CALLBACK_PATH)
    except ProviderUnavailable:
        return pages.unavailable_page(request)
    except oidc_sign_in.SignInFailed as exc:
        log.info("page.sign_in_refused", page="counter", why=str(exc))
        response = pages.PAGES.render(request, "signed_in.html", status=401, error=str(exc))
    else:
        if not allows(done.principal.role, Operation.COUNTER_OPERATE):
            response = pages.PAGES.render(
                request, "signed_in.html", status=403, error=done.principal.role
            )
        else:
            response = pages.PAGES.render(
                request,
                "signed_in.html",
                error=None,
                token=done.token,
                next_url=_counter_next(done.next_url),
            )
    oidc_sign_in.spend(response, CALLBACK_PATH)
    return response


@dev_router.get("/counter/sign-in/dev", response_class=HTMLResponse)
async def counter_dev_sign_in_link(request: Request) -> Response:
    """The dev stack's one-click link (``motcua.shared.dev_sign_in``): a one-time code
    traded for a clerk's token, handed to the console like the provider's. Whoever
    holds a valid code may call it, in dev mode only; the code is the proof."""
    settings = request.app.state.runtime.settings
    try:
        taken, token = dev_sign_in.redeem(
            settings,
            request.app.state.dev_codes,
            request.query_params.get("code", ""),
            "counter",
            ttl=settings.token_max_seconds,
        )
    except AuthError as exc:
        log.info("page.dev_sign_in_refused", why=str(exc))
        return pages.PAGES.render(request, "signed_in.html", status=401, error=str(exc))
    back = page_url("/counter", language(request), center=taken.center_id)
    return pages.PAGES.render(
        request, "signed_in.html", error=None, token=token, next_url=_counter_next(back)
    )
