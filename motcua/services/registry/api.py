"""HTTP routes of the registry: read, change and retire centers, read the audit.

Who may call what (``motcua.shared.policy``): any staff token or the province reads the
centers; an ``admin`` token changes or retires its own center only (the token's center),
a ``province_admin`` token any center; the audit of a center is read by that center's
admin or by the province. The procedure catalog is the province's, shared by every
center: the same readers read it, only a ``province_admin`` changes or retires a
procedure (the audit names who), and an admin or the province reads its audit. A change names
the revision it was read at in ``If-Match`` (the ``ETag`` of ``GET``): a stale one is
refused with 409, and changing an existing center without one with 428.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response

from motcua.services.registry.errors import Invalid
from motcua.services.registry.schemas import (
    AuditPageOut,
    CenterDocument,
    CenterOut,
    CenterSummaryOut,
    ChangeOut,
    ProcedureAuditPageOut,
    ProcedureChangeOut,
    ProcedureDocument,
    ProcedureOut,
    ProcedureSummaryOut,
    RetireIn,
)
from motcua.services.registry.usecases import Actor, Outcome, ProcedureOutcome, Registry
from motcua.shared.auth import Principal
from motcua.shared.policy import Operation, allowed, allows
from motcua.shared.runtime import from_app_state

# An audit entry's id is a PostgreSQL bigint: a larger cursor names no entry, and is
# refused as a 422 rather than failing the query.
AuditCursor = Annotated[
    int | None, Query(ge=1, le=2**63 - 1, description="Entries older than this id")
]

router = APIRouter(prefix="/v1", tags=["registry"])

Service = Annotated[Registry, from_app_state("registry")]
Reader = Annotated[Principal, allowed(Operation.REGISTRY_READ)]
Writer = Annotated[Principal, allowed(Operation.REGISTRY_WRITE)]
CatalogWriter = Annotated[Principal, allowed(Operation.REGISTRY_PROCEDURES_WRITE)]
AuditReader = Annotated[Principal, allowed(Operation.REGISTRY_AUDIT_READ)]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=32,
        pattern=r'^(W/)?"?[0-9]{1,9}"?$',
        description='The revision the change was made against, as the ETag gave it ("3")',
    ),
]
_ETAG = {
    "ETag": {
        "description": 'The revision now current ("3"): send it back as If-Match to change it',
        "schema": {"type": "string"},
    }
}
WITH_ETAG: dict[int | str, dict[str, Any]] = {200: {"headers": _ETAG}}
"""What every route that answers one revision declares: its ETag."""


def etag(revision: int) -> str:
    return f'"{revision}"'


def revision_of(if_match: str | None) -> int | None:
    """The revision an ``If-Match`` names: ``"3"``, ``W/"3"`` or ``3``."""
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 9:
        raise Invalid(("If-Match",), 'must be a revision as the ETag gives it, e.g. "3"')
    return int(text)


async def _change(
    center_id: str,
    principal: Principal,
    if_match: str | None,
    response: Response,
    make: Callable[[Actor, int | None], Awaitable[Outcome]],
) -> ChangeOut:
    """Every write: to the token's own center (any center for the province's IT team),
    made by the token's holder against the revision ``If-Match`` names; the answer's
    ETag is the revision now current."""
    if not allows(principal.role, Operation.REGISTRY_ANY_CENTER_WRITE):
        principal.require_center(center_id)
    outcome = await make(Actor(principal.subject, principal.role), revision_of(if_match))
    response.headers["ETag"] = etag(outcome.revision)
    return ChangeOut(
        center_id=outcome.center_id, revision=outcome.revision, changed=outcome.changed
    )


@router.get("/centers", response_model=list[CenterSummaryOut])
async def list_centers(registry: Service, principal: Reader) -> list[CenterSummaryOut]:
    """Every center the registry holds, retired ones included (``active`` false)."""
    del principal
    return [
        CenterSummaryOut(
            center_id=c.center_id,
            name=c.document["name"],
            code=c.document["code"],
            active=c.document.get("active", True),
            revision=c.revision,
            updated_at=c.updated_at,
        )
        for c in await registry.centers()
    ]


@router.get("/centers/{center_id}", response_model=CenterOut, responses=WITH_ETAG)
async def get_center(
    center_id: str, registry: Service, principal: Reader, response: Response
) -> CenterOut:
    """The center's current document; its ``ETag`` is the revision to send back."""
    del principal
    stored = await registry.get(center_id)
    response.headers["ETag"] = etag(stored.revision)
    return CenterOut(
        center_id=stored.center_id,
        revision=stored.revision,
        updated_at=stored.updated_at,
        document=stored.document,
    )


@router.put("/centers/{center_id}", response_model=ChangeOut, responses=WITH_ETAG)
async def put_center(
    center_id: str,
    body: CenterDocument,
    registry: Service,
    principal: Writer,
    response: Response,
    if_match: IfMatch = None,
    reason: Annotated[str | None, Query(max_length=500, description="Kept in the audit")] = None,
) -> ChangeOut:
    """Create the center or replace its whole document. One transaction: the new
    revision, its audit row and its ``center.configured`` event. An equal document
    changes nothing (``changed`` false)."""
    if body.center_id != center_id:
        raise Invalid(("center_id",), f"the document is for {body.center_id!r}, not {center_id!r}")
    return await _change(
        center_id,
        principal,
        if_match,
        response,
        lambda actor, expected: registry.put(body, actor=actor, expected=expected, reason=reason),
    )


@router.post("/centers/{center_id}/retire", response_model=ChangeOut, responses=WITH_ETAG)
async def retire_center(
    center_id: str,
    body: RetireIn,
    registry: Service,
    principal: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> ChangeOut:
    """Retire the center: a new revision with ``active`` false, audited and published.
    Followers stop offering it; its dossiers and history stay."""
    return await _change(
        center_id,
        principal,
        if_match,
        response,
        lambda actor, expected: registry.retire(
            center_id, actor=actor, expected=expected, reason=body.reason
        ),
    )


@router.get("/centers/{center_id}/audit", response_model=AuditPageOut)
async def get_audit(
    center_id: str,
    registry: Service,
    principal: AuditReader,
    before: AuditCursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPageOut:
    """The center's changes, newest first, a page at a time."""
    if not allows(principal.role, Operation.REGISTRY_ANY_AUDIT_READ):
        principal.require_center(center_id)
    entries = await registry.audit(center_id, before=before, limit=limit)
    return AuditPageOut(
        entries=entries,
        next_before=entries[-1].id if len(entries) == limit else None,
    )


# ------------------------------------------------------------------ procedures

ProcedureCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Z0-9][A-Z0-9.-]*$")]


def _procedure_change(outcome: ProcedureOutcome, response: Response) -> ProcedureChangeOut:
    response.headers["ETag"] = etag(outcome.revision)
    return ProcedureChangeOut(code=outcome.code, revision=outcome.revision, changed=outcome.changed)


@router.get("/procedures", response_model=list[ProcedureSummaryOut])
async def list_procedures(registry: Service, principal: Reader) -> list[ProcedureSummaryOut]:
    """Every procedure of the catalog, retired ones included (``active`` false)."""
    del principal
    return [
        ProcedureSummaryOut(
            code=p.code,
            name=p.document["name"]["vi"],
            line_code=p.document["line_code"],
            active=p.document.get("active", True),
            revision=p.revision,
            updated_at=p.updated_at,
        )
        for p in await registry.procedures()
    ]


@router.get("/procedures/{code}", response_model=ProcedureOut, responses=WITH_ETAG)
async def get_procedure(
    code: ProcedureCode, registry: Service, principal: Reader, response: Response
) -> ProcedureOut:
    """The procedure's current document; its ``ETag`` is the revision to send back."""
    del principal
    stored = await registry.procedure(code)
    response.headers["ETag"] = etag(stored.revision)
    return ProcedureOut(
        code=stored.code,
        revision=stored.revision,
        updated_at=stored.updated_at,
        document=stored.document,
    )


@router.put("/procedures/{code}", response_model=ProcedureChangeOut, responses=WITH_ETAG)
async def put_procedure(
    code: ProcedureCode,
    body: ProcedureDocument,
    registry: Service,
    principal: CatalogWriter,
    response: Response,
    if_match: IfMatch = None,
    reason: Annotated[str | None, Query(max_length=500, description="Kept in the audit")] = None,
) -> ProcedureChangeOut:
    """Create the procedure or replace it whole. One transaction: the new revision, its
    audit row and its ``procedure.configured`` event. Replacing an existing procedure
    needs ``If-Match`` (428 without, 409 when stale); an equal document changes nothing."""
    if body.code != code:
        raise Invalid(("code",), f"the document is for {body.code!r}, not {code!r}")
    outcome = await registry.put_procedure(
        body,
        actor=Actor(principal.subject, principal.role),
        expected=revision_of(if_match),
        reason=reason,
    )
    return _procedure_change(outcome, response)


@router.post("/procedures/{code}/retire", response_model=ProcedureChangeOut, responses=WITH_ETAG)
async def retire_procedure(
    code: ProcedureCode,
    body: RetireIn,
    registry: Service,
    principal: CatalogWriter,
    response: Response,
    if_match: IfMatch = None,
) -> ProcedureChangeOut:
    """Retire the procedure: a new revision with ``active`` false, audited and published.
    Intake refuses new filings for it; dossiers already received keep their snapshot."""
    outcome = await registry.retire_procedure(
        code,
        actor=Actor(principal.subject, principal.role),
        expected=revision_of(if_match),
        reason=body.reason,
    )
    return _procedure_change(outcome, response)


@router.get("/procedures/{code}/audit", response_model=ProcedureAuditPageOut)
async def get_procedure_audit(
    code: ProcedureCode,
    registry: Service,
    principal: AuditReader,
    before: AuditCursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ProcedureAuditPageOut:
    """The procedure's changes, newest first, a page at a time."""
    del principal
    entries = await registry.procedure_audit(code, before=before, limit=limit)
    return ProcedureAuditPageOut(
        entries=entries,
        next_before=entries[-1].id if len(entries) == limit else None,
    )
