"""Pages of stored documents: the public verification page a result's QR code leads
to, and the result download the lookup page offers.

The verification page says "genuine, issued by <center> on <date> for dossier <code>"
or "not issued by us", and nothing else: the record it checks holds no personal data.
It checks a result by the number under its QR code, by a SHA-256 pasted in (a plain
form), or by a copy of the file: the page's script (``static/verify.js``) streams the
file to ``POST /v1/public/verify`` under the upload limits, since no multipart parser is
installed, then shows the verdict for the hash that call computed.
The download takes the short-lived token the lookup page put in its form (the page
proved the secret; the secret itself is never echoed back into a page).
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from motcua.services.intake.attachments import Attachments, Verdict
from motcua.services.intake.document_api import download_response
from motcua.services.intake.documents import ALLOWED_TYPES
from motcua.services.intake.pages import PAGES
from motcua.services.intake.usecases import Wiring, wiring
from motcua.shared.events.envelope import utcnow
from motcua.shared.runtime import from_app_state
from motcua.shared.web import read_form
from motcua.shared.web.headers import content_security_policy

router = APIRouter(tags=["pages"], include_in_schema=False)

Deps = Annotated[Wiring, Depends(wiring)]
Docs = Annotated[Attachments, from_app_state("attachments")]

VERIFY_PATH = "/verify"
SCRIPT = "verify.js"
SHA256 = re.compile(r"[0-9a-f]{64}")


def _verdict_page(
    request: Request,
    w: Wiring,
    verdict: Verdict | None,
    record_id: str = "",
    sha256: str = "",
    bad_sha256: bool = False,
) -> HTMLResponse:
    r = verdict.record if verdict else None
    limits = request.app.state.attachments.limits
    status = 200 if verdict is None or r is not None else 404
    return PAGES.render(
        request,
        "verify.html",
        {
            "checked": verdict is not None,
            "genuine": r is not None,
            "center_name": w.center_name(r.center_id) if r else "",
            "issued_on": f"{r.issued_on:%d/%m/%Y}" if r else "",
            "dossier_code": r.dossier_code if r else "",
            "result_sha256": r.result_sha256.hex() if r else "",
            "record_id": record_id,
            "sha256": sha256,
            "bad_sha256": bad_sha256,
            "max_file_bytes": limits.max_file_bytes,
            "max_file_mib": max(1, limits.max_file_bytes // (1024 * 1024)),
            "allowed_types": ",".join(ALLOWED_TYPES),
            "script": SCRIPT,
        },
        status=422 if bad_sha256 else status,
        csp=content_security_policy(scripts=True),
    )


@router.get(VERIFY_PATH, response_class=HTMLResponse)
async def verify_form(request: Request, w: Deps, docs: Docs) -> HTMLResponse:
    """The forms: the number printed under the QR code (``?id=``), or a file's SHA-256
    (``?sha256=``, pasted in, or computed by the upload the page's script makes)."""
    given = request.query_params.get("id", "").strip()[:64]
    pasted = request.query_params.get("sha256", "").strip().lower()[:128]
    if pasted:
        if not SHA256.fullmatch(pasted):
            return _verdict_page(request, w, None, sha256=pasted[:64], bad_sha256=True)
        return _verdict_page(
            request, w, await docs.verify_hash(bytes.fromhex(pasted)), sha256=pasted
        )
    if not given:
        return _verdict_page(request, w, None)
    try:
        record_id = uuid.UUID(given)
    except ValueError:
        return _verdict_page(request, w, Verdict(None), given)
    return _verdict_page(request, w, await docs.verify_record(record_id), given)


@router.get(VERIFY_PATH + "/{record_id}", response_class=HTMLResponse)
async def verify_page(record_id: str, request: Request, w: Deps, docs: Docs) -> HTMLResponse:
    """Where the QR code on a printed result leads."""
    try:
        parsed = uuid.UUID(record_id)
    except ValueError:
        return _verdict_page(request, w, Verdict(None), record_id[:64])
    return _verdict_page(request, w, await docs.verify_record(parsed), record_id)


@router.post("/lookup/result")
async def download_result(request: Request, docs: Docs) -> Response:
    """The result the lookup page offered, by the token in its form."""
    form = await read_form(request)
    opened = await docs.open_by_token(form.get("token", ""), utcnow())
    if opened is None:
        return PAGES.render(
            request,
            "verify.html",
            {"checked": False, "genuine": False, "expired": True, "record_id": ""},
            status=404,
        )
    return download_response(*opened)
