"""HTTP routes of stored documents (docs/documents.md).

Clerk side (a center-scoped token, operations in ``motcua.shared.policy``):

* ``PUT /v1/dossiers/{id}/components/{component}``: the raw file as the body, its
  media type as ``Content-Type``, its length as ``Content-Length`` (required: a length
  over the limit is refused before a byte is read), ``?file_name=`` as a label.
* ``PUT /v1/dossiers/{id}/result``: the officer's result of an approved dossier,
  stored, hashed and signed with the center's key.
* ``GET /v1/dossiers/{id}/documents`` and ``.../documents/{sha256}``.

Public side (no token): a citizen attaches the components of their own online
submission while it waits for acceptance (``PUT /v1/public/dossiers/{code}/documents/
{component}``, the secret in ``X-Dossier-Secret``, since the body is the file); lists
and downloads the dossier's documents with its code and secret in the body (another
dossier's secret: the lookup's 404, nothing else); anyone may fetch a center's public
keys and verify a result, by its record id or by uploading a copy.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

import segno
from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from motcua.services.intake.attachments import Attachments, Outcome, Upload, Verdict
from motcua.services.intake.documents import ALLOWED_TYPES
from motcua.services.intake.public import NO_MATCH, _limit
from motcua.services.intake.queries import dossier_of_center
from motcua.services.intake.repository import documents as repo
from motcua.services.intake.repository.documents import Attached, ResultRecord
from motcua.services.intake.repository.dossiers import DossierRecord
from motcua.services.intake.schemas.requests import LookupIn
from motcua.services.intake.settings import IntakeSettings
from motcua.services.intake.signing import b64
from motcua.services.intake.usecases import Wiring
from motcua.shared.auth import Principal
from motcua.shared.events.envelope import utcnow
from motcua.shared.http_errors import refusals
from motcua.shared.policy import Operation, allowed
from motcua.shared.runtime import ServiceRuntime, from_app_state

router = APIRouter()

Deps = Annotated[Wiring, from_app_state("intake")]
Docs = Annotated[Attachments, from_app_state("attachments")]
Attacher = Annotated[Principal, allowed(Operation.DOCUMENT_ATTACH)]
DocReader = Annotated[Principal, allowed(Operation.DOCUMENT_READ)]
ResultAttacher = Annotated[Principal, allowed(Operation.RESULT_ATTACH)]

STREAMED = (
    r"/v1/dossiers/[^/]+/components/[^/]+",
    r"/v1/dossiers/[^/]+/result",
    r"/v1/public/verify",
    r"/v1/public/dossiers/[^/]+/documents/[^/]+",
)
"""Routes that read their body as a stream under the document limits, not the shared cap."""


def stream_uploads(runtime: ServiceRuntime) -> None:
    runtime.streamed_bodies.extend(re.compile(p) for p in STREAMED)


class DocumentOut(BaseModel):
    kind: Literal["component", "result"]
    component: int
    sha256: str
    size: int
    media_type: str
    file_name: str
    digitised: bool
    attached_at: datetime

    @classmethod
    def of(cls, a: Attached) -> DocumentOut:
        return cls(
            kind=a.kind,
            component=a.component,
            sha256=a.sha256.hex(),
            size=a.size,
            media_type=a.media_type,
            file_name=a.file_name,
            digitised=a.digitised,
            attached_at=a.attached_at,
        )


class VerificationOut(BaseModel):
    """A signed verification record: nothing personal."""

    id: uuid.UUID
    dossier_code: str
    center_id: str
    issued_on: str
    result_sha256: str
    key_id: str
    record: str  # the exact signed bytes, base64url
    signature: str  # Ed25519, base64url
    verify_url: str

    @classmethod
    def of(cls, r: ResultRecord, verify_url: str) -> VerificationOut:
        return cls(
            id=r.id,
            dossier_code=r.dossier_code,
            center_id=r.center_id,
            issued_on=r.issued_on.isoformat(),
            result_sha256=r.result_sha256.hex(),
            key_id=r.key_id,
            record=b64(r.record),
            signature=b64(r.signature),
            verify_url=f"{verify_url}/{r.id}",
        )


class AttachedOut(BaseModel):
    document: DocumentOut
    stored_new: bool
    recorded_new: bool
    verification: VerificationOut | None = None


class VerdictOut(BaseModel):
    genuine: bool
    verification: VerificationOut | None = None
    sha256: str | None = Field(
        default=None, description="The SHA-256 of the uploaded copy, when one was checked"
    )


class SigningKeyOut(BaseModel):
    key_id: str
    algorithm: Literal["Ed25519"] = "Ed25519"
    public_key: str  # raw 32 bytes, base64url
    active: bool


def declared_length(request: Request) -> int | None:
    """The body's ``Content-Length``, if given and a number (the store refuses none)."""
    raw = request.headers.get("content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _upload(request: Request, file_name: str | None) -> Upload:
    size = declared_length(request)
    return Upload(request.stream(), size, request.headers.get("content-type"), file_name)


def _out(w: Wiring, o: Outcome) -> AttachedOut:
    v = o.verification
    return AttachedOut(
        document=DocumentOut.of(o.attached),
        stored_new=o.stored_new,
        recorded_new=o.recorded_new,
        verification=VerificationOut.of(v, w.settings.verify_url) if v else None,
    )


def content_disposition(name: str) -> str:
    """An attachment header for a (safe, possibly Vietnamese) name: an ASCII fallback and
    the UTF-8 name (RFC 6266), since a header holds Latin-1 only."""
    fallback = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def download_response(a: Attached, body: AsyncIterator[bytes]) -> StreamingResponse:
    """A stored document as an attachment, streamed, never cached."""
    return StreamingResponse(
        body,
        media_type=a.media_type,
        headers={
            "Content-Length": str(a.size),
            "Content-Disposition": content_disposition(a.file_name),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


_MAX_FILE_MIB = IntakeSettings.model_fields["max_document_bytes"].default // (1024 * 1024)


UPLOADED = (
    f"{{}}, the raw bytes as the body. At most {_MAX_FILE_MIB} MiB by default "
    "(`MOTCUA_INTAKE_MAX_DOCUMENT_BYTES`); `Content-Length` is required and checked before "
    "a byte is read (over the limit: 413; zero: 422 naming `body`). The type is told by the "
    "first bytes and must be the declared `Content-Type` (else 415)."
)


def binary_body(description: str, media_types: tuple[str, ...] = ALLOWED_TYPES) -> dict[str, Any]:
    """``openapi_extra`` declaring the raw file a streamed route reads. The route takes
    ``Request`` and reads ``request.stream()`` itself, so FastAPI sees no body parameter
    and would document none; declaring it here leaves the streaming as it is."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {t: binary for t in media_types},
        }
    }


FileName = Annotated[str | None, Query(max_length=255, description="A label for the download")]


# ---------------------------------------------------------------- clerk


@router.put(
    # Not under /documents/: that path takes a hash, and one URL template per method
    # keeps the Allow header true to the document.
    "/v1/dossiers/{dossier_id}/components/{component}",
    tags=["documents"],
    responses=refusals(413, 415),
    openapi_extra=binary_body(UPLOADED.format("The component's file")),
)
async def attach_component(
    dossier_id: uuid.UUID,
    component: int,
    request: Request,
    principal: Attacher,
    w: Deps,
    docs: Docs,
    file_name: FileName = None,
    digitised: Annotated[
        bool, Query(description="A paper component scanned at the counter")
    ] = True,
) -> AttachedOut:
    """Attach a file as one of the procedure's components (1-based, in the order of its
    required components). The same file twice is stored and recorded once."""
    outcome = await docs.attach(
        _upload(request, file_name),
        dossier_id=dossier_id,
        center_id=principal.center_id,
        kind="component",
        component=component,
        actor=principal.subject,
        digitised=digitised,
        now=utcnow(),
    )
    return _out(w, outcome)


@router.put(
    "/v1/dossiers/{dossier_id}/result",
    tags=["documents"],
    responses=refusals(413, 415),
    openapi_extra=binary_body(UPLOADED.format("The result's file, to be signed")),
)
async def attach_result(
    dossier_id: uuid.UUID,
    request: Request,
    principal: ResultAttacher,
    w: Deps,
    docs: Docs,
    file_name: FileName = None,
) -> AttachedOut:
    """Attach the result of an approved, resolved dossier; answers with the signed
    verification record and the address its QR code points to."""
    outcome = await docs.attach(
        _upload(request, file_name),
        dossier_id=dossier_id,
        center_id=principal.center_id,
        kind="result",
        component=0,
        actor=principal.subject,
        digitised=False,
        now=utcnow(),
    )
    return _out(w, outcome)


async def _own(w: Wiring, dossier_id: uuid.UUID, center_id: str) -> DossierRecord:
    async with w.runtime.read() as conn:
        return await dossier_of_center(conn, dossier_id, center_id)


async def _listing(w: Wiring, docs: Attachments, record: DossierRecord) -> list[DocumentOut]:
    async with w.runtime.read() as conn:
        return [DocumentOut.of(a) for a in await docs.listing(conn, record)]


@router.get("/v1/dossiers/{dossier_id}/documents", tags=["documents"])
async def list_documents(
    dossier_id: uuid.UUID, principal: DocReader, w: Deps, docs: Docs
) -> list[DocumentOut]:
    return await _listing(w, docs, await _own(w, dossier_id, principal.center_id))


@router.get(
    "/v1/dossiers/{dossier_id}/documents/{sha256}",
    tags=["documents"],
    response_class=StreamingResponse,
)
async def download_document(
    dossier_id: uuid.UUID, sha256: str, principal: DocReader, w: Deps, docs: Docs
) -> StreamingResponse:
    record = await _own(w, dossier_id, principal.center_id)
    async with w.runtime.read() as conn:
        return download_response(*await docs.open(conn, record, sha256))


class DigitisationOut(BaseModel):
    """What the national scorecard counts of a center's files over a period."""

    since: datetime
    until: datetime
    dossiers_with_files: int
    components_stored: int
    components_digitised: int  # paper components scanned at the counter
    results_stored: int
    components_reused: int  # reused by reference, with consent, instead of uploaded again


@router.get("/v1/documents/digitisation", tags=["documents"])
async def digitisation(
    principal: DocReader,
    w: Deps,
    since: Annotated[datetime, Query(description="From (inclusive), timezone-aware")],
    until: Annotated[datetime, Query(description="To (exclusive), timezone-aware")],
) -> DigitisationOut:
    """The caller's center: dossiers with files, components stored and digitised at the
    counter, results stored, attached in ``[since, until)``."""
    if since.tzinfo is None or until.tzinfo is None:
        raise HTTPException(
            422,
            {
                "error": "invalid request",
                "details": [{"field": "since", "error": "give a timezone (e.g. +07:00 or Z)"}],
            },
        )
    async with w.runtime.read() as conn:
        counts = await repo.digitisation(conn, principal.center_id, since, until)
    return DigitisationOut(since=since, until=until, **vars(counts))


# ---------------------------------------------------------------- public


async def _citizen(w: Wiring, request: Request, body: LookupIn) -> DossierRecord:
    _limit(w, request, w.lookups, "lookups")
    async with w.runtime.read() as conn:
        found = await w.queries.lookup(conn, body.code, body.secret)
    if found is None:
        raise HTTPException(404, NO_MATCH)
    return found[0]


DossierSecret = Annotated[
    str,
    Header(alias="X-Dossier-Secret", min_length=1, max_length=40, description="The lookup secret"),
]


@router.put(
    "/v1/public/dossiers/{code}/documents/{component}",
    tags=["public"],
    responses=refusals(409, 413, 415, 429),
    openapi_extra=binary_body(UPLOADED.format("The component's file")),
)
async def citizen_attach(
    code: Annotated[str, Path(min_length=1, max_length=80)],
    component: int,
    secret: DossierSecret,
    request: Request,
    w: Deps,
    docs: Docs,
    file_name: FileName = None,
) -> AttachedOut:
    """Anyone holding the dossier's code and secret (the citizen who filed it) attaches
    one of its components, only while it waits for a clerk's acceptance (else 409). The
    secret is the authority, as for the lookup: a wrong one is the lookup's 404, and
    guesses are rate-limited with it."""
    record = await _citizen(w, request, LookupIn(code=code, secret=secret))
    outcome = await docs.attach(
        _upload(request, file_name),
        dossier_id=record.id,
        center_id=record.center_id,
        kind="component",
        component=component,
        actor="citizen",
        digitised=False,
        now=utcnow(),
        by_citizen=True,
    )
    return _out(w, outcome)


class ReuseIn(BaseModel):
    """A component of an earlier dossier, reused by reference: the earlier dossier's code
    and secret prove the citizen holds it, and the consent is explicit."""

    model_config = ConfigDict(extra="forbid")

    from_code: str = Field(min_length=1, max_length=80)
    from_secret: str = Field(min_length=1, max_length=40)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="The file's hash, as listed")
    consent: bool = Field(
        description="The citizen agrees that the file of the earlier dossier is used again"
    )


@router.post(
    "/v1/public/dossiers/{code}/documents/{component}/reuse",
    tags=["public"],
    responses=refusals(409, 413, 429),
)
async def citizen_reuse(
    code: Annotated[str, Path(min_length=1, max_length=80)],
    component: int,
    secret: DossierSecret,
    body: ReuseIn,
    request: Request,
    w: Deps,
    docs: Docs,
) -> AttachedOut:
    """Anyone holding both dossiers' codes and secrets (the citizen who filed them)
    attaches a component file of the earlier one to the waiting one, without uploading
    it again. Either secret wrong: the lookup's 404; no consent, a hash the earlier
    dossier does not hold as a component, or a component the procedure does not ask
    for: 422 naming the field. Nothing is attached then."""
    if not body.consent:
        raise HTTPException(
            422,
            {
                "error": "invalid request",
                "details": [{"field": "consent", "error": "reuse needs the citizen's consent"}],
            },
        )
    target = await _citizen(w, request, LookupIn(code=code, secret=secret))
    source = await _citizen(w, request, LookupIn(code=body.from_code, secret=body.from_secret))
    outcome = await docs.reuse(
        target=target, source=source, sha256_hex=body.sha256, component=component, now=utcnow()
    )
    return _out(w, outcome)


@router.post("/v1/public/documents", tags=["public"], responses=refusals(429))
async def citizen_documents(
    body: LookupIn, request: Request, w: Deps, docs: Docs
) -> list[DocumentOut]:
    """The documents of a dossier, by its code and secret (as the lookup)."""
    return await _listing(w, docs, await _citizen(w, request, body))


@router.post(
    "/v1/public/documents/{sha256}",
    tags=["public"],
    response_class=StreamingResponse,
    responses=refusals(429),
)
async def citizen_download(
    sha256: str, body: LookupIn, request: Request, w: Deps, docs: Docs
) -> StreamingResponse:
    """Download one document of the dossier, the result included, by code and secret."""
    record = await _citizen(w, request, body)
    async with w.runtime.read() as conn:
        return download_response(*await docs.open(conn, record, sha256))


@router.get("/v1/centers/{center_id}/signing-keys", tags=["public"])
async def signing_keys(center_id: str, docs: Docs) -> list[SigningKeyOut]:
    """The center's published Ed25519 keys: every key that ever signed a result, so a
    record signed before a rotation still verifies. Public: anyone may check a result."""
    active = docs.keys.active_key_id(center_id)
    return [
        SigningKeyOut(key_id=kid, public_key=b64(raw), active=kid == active)
        for kid, raw in docs.keys.public_keys(center_id).items()
    ]


def _verdict(w: Wiring, v: Verdict) -> VerdictOut:
    return VerdictOut(
        genuine=v.genuine,
        verification=VerificationOut.of(v.record, w.settings.verify_url) if v.record else None,
        sha256=v.sha256.hex() if v.sha256 else None,
    )


@router.get("/v1/public/verify/{record_id}", tags=["public"])
async def verify_record(record_id: uuid.UUID, w: Deps, docs: Docs) -> VerdictOut:
    """Whether a verification record (the QR code's id) is one this service signed."""
    return _verdict(w, await docs.verify_record(record_id))


@router.get(
    "/v1/public/verify/{record_id}/qr.svg",
    tags=["public"],
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
async def verification_qr(record_id: uuid.UUID, w: Deps) -> Response:
    """The QR code to print on a result: the address of its verification page."""
    url = f"{w.settings.verify_url}/{record_id}"
    svg = segno.make(url, error="m").svg_inline(scale=4, border=2, title=url, omitsize=True)
    return Response(svg, media_type="image/svg+xml")


@router.post(
    "/v1/public/verify",
    tags=["public"],
    responses=refusals(413, 429),
    openapi_extra=binary_body(
        "A copy of a result file, the raw bytes as the body, whatever its type. At most "
        f"{_MAX_FILE_MIB} MiB by default (`MOTCUA_INTAKE_MAX_DOCUMENT_BYTES`); "
        "`Content-Length` is required and checked before a byte is read (over the limit: "
        "413; zero: 422 naming `body`).",
        (*ALLOWED_TYPES, "application/octet-stream"),
    ),
)
async def verify_file(request: Request, w: Deps, docs: Docs) -> VerdictOut:
    """Upload a copy of a result (the raw file as the body): genuine only if its hash is
    one a center signed. Hashed as it streams; never stored. The verification page's form
    sends its file here."""
    _limit(w, request, w.lookups, "lookups")
    verdict = await docs.verify_file(request.stream(), declared_length(request))
    return _verdict(w, verdict)
