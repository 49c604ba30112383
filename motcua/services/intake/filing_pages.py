"""The citizen's filing page: file a dossier from home, on a phone.

``GET /file`` is a plain form that works without JavaScript up to the choice of center
and procedure (``?center=&procedure=``): the page then lists the procedure's components
from the catalog, one file field each. Sending files needs the page's script
(``static/filing.js``), since no multipart parser is installed and a file is better sent
as one stream anyway. The script does what any client of the public API does:

1. ``POST /v1/public/dossiers`` (channel online, status "waiting for acceptance"), with an
   idempotency key kept for the page's life, so a retry never files twice;
2. ``PUT /v1/public/dossiers/{code}/documents/{n}`` for each file, with the secret in a
   header, showing each file's progress;
3. the dossier code and the lookup secret on screen (and by SMS or e-mail through
   notify, when the citizen consented).

The page checks what it can before sending (a required component missing, a file too
big or of a type the store refuses) and names the field; the API checks it all again.
Anyone may open the page: it holds nothing but the catalog.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from motcua.services.intake.documents import ALLOWED_TYPES, is_optional
from motcua.services.intake.pages import PAGES
from motcua.services.intake.usecases import Wiring, wiring
from motcua.shared.web import language, page_url
from motcua.shared.web.headers import content_security_policy

router = APIRouter(tags=["pages"], include_in_schema=False)

Deps = Annotated[Wiring, Depends(wiring)]

PATH = "/file"
SCRIPT = "filing.js"


def _centers(w: Wiring) -> list[dict[str, str]]:
    """The centers a citizen may file with: the registry's, else the settings' names."""
    ids = sorted(set(w.intake.centers.centers) | set(w.settings.center_names))
    return [{"id": c, "name": w.center_name(c)} for c in ids]


@router.get(PATH, response_class=HTMLResponse)
async def filing_form(request: Request, w: Deps) -> HTMLResponse:
    """The form: center and procedure first, then the chosen procedure's components."""
    lang = language(request)
    en = lang == "en"
    centers = _centers(w)
    center = request.query_params.get("center", "")
    if len(centers) == 1 and not center:
        center = centers[0]["id"]
    code = request.query_params.get("procedure", "")
    # The registry's current catalog: a procedure it retired can no longer be filed.
    chosen = w.intake.current_procedure(code) if code else None
    if chosen is not None and not chosen.active:
        chosen = None
    known = any(c["id"] == center for c in centers)
    components: list[dict[str, Any]] = []
    if chosen is not None:
        components = [
            {
                "n": n,
                "name": d.en if en else d.vi,
                "optional": is_optional({"vi": d.vi, "en": d.en}),
            }
            for n, d in enumerate(chosen.required_documents, start=1)
        ]
    limits = request.app.state.attachments.limits
    return PAGES.render(
        request,
        "filing.html",
        {
            "centers": centers,
            "center_id": center if known else "",
            "procedures": [
                {"code": p.code, "name": p.name.en if en else p.name.vi}
                for p in w.intake.current_catalog()
                if p.active
            ],
            "chosen": (
                {"code": chosen.code, "name": chosen.name.en if en else chosen.name.vi}
                if chosen is not None and known
                else None
            ),
            "components": components,
            "max_file_bytes": limits.max_file_bytes,
            "max_file_mib": max(1, limits.max_file_bytes // (1024 * 1024)),
            "allowed_types": ",".join(ALLOWED_TYPES),
            "lookup_url": page_url("/lookup", lang),
            "script": SCRIPT,
        },
        csp=content_security_policy(scripts=True),
        switch={"center": center, "procedure": code},
        form_action=PATH,
    )
