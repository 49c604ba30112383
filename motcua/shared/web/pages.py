"""One way to render a page, for every service: templates, text, static files, headers.

``Pages("motcua.services.queue")`` loads that service's ``templates/pages/`` over the
kit's own templates (``kit/base.html``, ``kit/not_found.html``, ``kit/unavailable.html``),
its ``i18n/`` catalogs over the kit's, and knows its ``static/`` folder. ``render`` answers
one request in the request's language with the kit's security headers. ``install`` serves
the kit's static files at ``/static/kit/`` and the service's own at ``/static/``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from motcua.shared.web.headers import content_security_policy, page_headers
from motcua.shared.web.i18n import Lang, catalog, language, other

KIT_DIR = Path(__file__).parent
KIT_STATIC = KIT_DIR / "static"
KIT_STATIC_PATH = "/static/kit"
SERVICE_STATIC_PATH = "/static"
MAX_FORM_BYTES = 4096


def page_url(path: str, lang: Lang, **params: str) -> str:
    """``path`` with its non-empty ``params``, and ``lang=en`` when in English."""
    query = {k: v for k, v in params.items() if v} | ({"lang": "en"} if lang == "en" else {})
    return path + (f"?{urlencode(query)}" if query else "")


def with_lang(url: str, lang: Lang) -> str:
    """An address that may already hold a query, kept in ``lang``."""
    return url + (("&" if "?" in url else "?") + "lang=en" if lang == "en" else "")


def here(request: Request) -> str:
    """The address asked for, to come back to after signing in or an outage."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def templates(package: str) -> jinja2.Environment:
    """The one Jinja environment of a service: its ``templates/pages/`` (pages), its
    ``templates/`` (documents such as intake's printable receipt), then the kit's own.
    Autoescaping is on: whatever a clerk or a citizen typed is text, never markup; an
    undefined name fails instead of printing nothing."""
    folder = Path(str(resources.files(package))) / "templates"
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(folder / "pages"),
                jinja2.FileSystemLoader(folder),
                jinja2.FileSystemLoader(KIT_DIR / "templates"),
            ]
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


async def read_form(request: Request, *, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    """A page's urlencoded form, the first value of each field. The pages' forms are small,
    so an oversized body counts as empty (a plain "please fill in" answer, not a 413)."""
    body = await request.body()
    if len(body) > max_bytes:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


@functools.cache
def _fingerprint(path: Path) -> str:
    """A content hash in each static URL, so that kiosks and TVs never run a stale script."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _static_url(prefix: str, folder: Path, name: str) -> str:
    return f"{prefix}/{name}?v={_fingerprint(folder / name)}"


class Pages:
    """The pages of one service (``package``, e.g. ``motcua.services.queue``).

    ``scripts`` says whether its pages run their own static scripts (the CSP allows
    ``'self'`` or nothing); ``referrer`` is the pages' ``Referrer-Policy``.
    """

    def __init__(
        self, package: str, *, scripts: bool = False, referrer: str = "no-referrer"
    ) -> None:
        self.package = package
        self.service = package.rsplit(".", 1)[-1]
        self.scripts = scripts
        self.referrer = referrer
        root = Path(str(resources.files(package)))
        self.static_dir = root / "static"
        self.catalog = catalog(package)
        self.templates = templates(package)

    # ------------------------------------------------------------------ text

    def t(self, request_or_lang: Request | Lang, key: str, /, **params: Any) -> str:
        """One message in the request's language, for text built in Python."""
        lang = request_or_lang if isinstance(request_or_lang, str) else language(request_or_lang)
        return self.catalog.text(lang, key, **params)

    def static_url(self, name: str) -> str:
        return _static_url(SERVICE_STATIC_PATH, self.static_dir, name)

    def csp(self, *, connect: str = "", framed: bool = False) -> str:
        return content_security_policy(scripts=self.scripts, connect=connect, framed=framed)

    # ------------------------------------------------------------- rendering

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
        csp: str | None = None,
        switch: Mapping[str, str] | None = None,
        **more: Any,
    ) -> HTMLResponse:
        """The page ``template`` in the request's language. The language switch keeps the
        request's query (or ``switch``, when the page knows better what to keep)."""
        lang = language(request)
        kept = switch if switch is not None else request.query_params
        params = {k: v for k, v in kept.items() if k != "lang"}
        page = self.templates.get_template(template).render(
            lang=lang,
            other_lang=other(lang),
            service=self.service,
            t=self.catalog.translator(lang),
            t_other=self.catalog.translator(other(lang)),
            static=self.static_url,
            kit_static=lambda name: _static_url(KIT_STATIC_PATH, KIT_STATIC, name),
            switch_url=page_url(request.url.path, other(lang), **params),
            url=lambda path, **p: page_url(path, lang, **p),
            with_lang=lambda url: with_lang(url, lang),
            **(dict(context or {}) | more),
        )
        headers = page_headers(csp or self.csp(), referrer=self.referrer)
        return HTMLResponse(page, status_code=status, headers=headers)

    def unavailable(
        self,
        request: Request,
        *,
        detail: str,
        retry_after: int,
        retry_url: str | None = None,
        refresh: bool = False,
        aside: str = "kit.unavailable.aside",
    ) -> HTMLResponse:
        """The 503 page, in both languages: ``detail`` is the service's message key;
        ``refresh`` makes an unattended screen reload itself. Its retry is always a GET
        of the same address (a kiosk's failed POST must not be sent again)."""
        response = self.render(
            request,
            "kit/unavailable.html",
            status=503,
            detail=detail,
            aside=aside,
            retry_url=retry_url or here(request),
            refresh_seconds=retry_after if refresh else 0,
        )
        response.headers["Retry-After"] = str(retry_after)
        return response

    def not_found(
        self,
        request: Request,
        *,
        heading: str,
        before: str,
        key: str,
        after: str = ".",
        links: tuple[tuple[str, str], ...] = (),
    ) -> HTMLResponse:
        """The 404 page: ``heading``, then ``before`` ``key`` ``after`` (texts, already in
        the request's language), then ``links`` as (address, text) pairs."""
        return self.render(
            request,
            "kit/not_found.html",
            status=404,
            heading=heading,
            before=before,
            key=key,
            after=after,
            links=links,
        )

    def install(self, app: FastAPI) -> None:
        """Serve the kit's static files, and this service's own when it has some."""
        app.mount(KIT_STATIC_PATH, StaticFiles(directory=KIT_STATIC), name="kit-static")
        if self.static_dir.is_dir():
            app.mount(SERVICE_STATIC_PATH, StaticFiles(directory=self.static_dir), name="static")
