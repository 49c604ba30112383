"""The clerk's acceptance screen: online submissions waiting for acceptance.

``GET /console/submissions`` is a shell, the same for everyone: it holds no dossier and
no personal data. Its script (``static/submissions.js``) signs in as the counter console
does, with a clerk's token kept in the tab's storage, and calls intake's clerk API with
it, so every check (the token, the role, the center) is the API's own:

* ``GET /v1/dossiers?status=1``: the center's submissions waiting for acceptance;
* ``GET /v1/dossiers/{id}`` and ``GET /v1/dossiers/{id}/documents``: one of them and its
  files, each opened or downloaded with ``GET .../documents/{sha256}``;
* ``POST /v1/dossiers/{id}/accept`` (the legal clock starts) or ``.../not-accept`` with
  the reason, which notify passes on to the citizen (``dossier.not_accepted``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from motcua.services.intake.pages import PAGES
from motcua.shared.web.headers import content_security_policy

router = APIRouter(tags=["pages"], include_in_schema=False)

PATH = "/console/submissions"
SCRIPT = "submissions.js"


@router.get(PATH, response_class=HTMLResponse)
async def submissions_console(request: Request) -> HTMLResponse:
    """The screen's shell; its script brings the data, with the clerk's token."""
    return PAGES.render(
        request,
        "submissions.html",
        {"script": SCRIPT},
        csp=content_security_policy(scripts=True),
    )
