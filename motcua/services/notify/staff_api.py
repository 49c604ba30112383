"""HTTP API of the staff directory and the escalation ladder (``docs/staff.md``).

A center's admin writes them, its leaders read them; a token reaches its own center only.
Routes are thin: validate, run ``StaffDirectory`` in one unit of work, answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from motcua.services.notify.domain import ContactKind
from motcua.services.notify.repository import staff as repo
from motcua.services.notify.schemas import (
    LadderIn,
    LadderOut,
    StaffAuditOut,
    StaffCreateIn,
    StaffFieldsIn,
    StaffListOut,
    StaffOut,
    StaffUpdateIn,
)
from motcua.services.notify.staff import StaffChange, StaffDirectory
from motcua.shared.auth import Principal
from motcua.shared.policy import Operation, allowed
from motcua.shared.runtime import Runtime, from_app_state

router = APIRouter(tags=["staff"])

Directory = Annotated[StaffDirectory, from_app_state("staff")]
CenterId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
StaffId = Annotated[str, Path(min_length=1, max_length=128)]


def _change(body: StaffFieldsIn, active: bool = True) -> StaffChange:
    given: dict[ContactKind, str] = {}
    if body.contacts.phone is not None:
        given["phone"] = body.contacts.phone
    if body.contacts.email is not None:
        given["email"] = body.contacts.email
    return StaffChange(
        display_name=body.display_name,
        department=body.department,
        role=body.role,
        contacts=given,
        language=body.language,
        active=active,
    )


@router.get("/centers/{center_id}/staff", response_model=StaffListOut)
async def list_staff(
    rt: Runtime,
    d: Directory,
    principal: Annotated[Principal, allowed(Operation.STAFF_READ)],
    center_id: CenterId,
) -> dict[str, Any]:
    """The center's directory, active members and former ones. A center that has loaded
    none answers an empty list with ``loaded: false``."""
    principal.require_center(center_id)
    async with rt.unit_of_work(readonly=True) as conn:
        staff = await d.members(conn, center_id)
    return {"center_id": center_id, "loaded": bool(staff), "staff": staff}


@router.post("/centers/{center_id}/staff", response_model=StaffOut, status_code=201)
async def create_staff(
    rt: Runtime,
    d: Directory,
    principal: Annotated[Principal, allowed(Operation.STAFF_CREATE)],
    center_id: CenterId,
    body: StaffCreateIn,
) -> dict[str, Any]:
    """Add a member; a staff id already in the directory is a 409."""
    principal.require_center(center_id)
    async with rt.unit_of_work() as conn:
        return await d.write(
            conn, center_id, body.staff_id, _change(body), principal.subject, new=True
        )


@router.get("/centers/{center_id}/staff/{staff_id}", response_model=StaffOut)
async def get_staff(
    rt: Runtime,
    d: Directory,
    principal: Annotated[Principal, allowed(Operation.STAFF_READ)],
    center_id: CenterId,
    staff_id: StaffId,
) -> dict[str, Any]:
    principal.require_center(center_id)
    async with rt.unit_of_work(readonly=True) as conn:
        return await d.get(conn, center_id, staff_id)


@router.put("/centers/{center_id}/staff/{staff_id}", response_model=StaffOut)
async def update_staff(
    rt: Runtime,
    d: Directory,
    principal: Annotated[Principal, allowed(Operation.STAFF_UPDATE)],
    center_id: CenterId,
    staff_id: StaffId,
    body: StaffUpdateIn,
) -> dict[str, Any]:
    """Replace a member's name, department, role, contacts (and active flag)."""
    principal.require_center(center_id)
    async with rt.unit_of_work() as conn:
        return await d.write(
            conn, center_id, staff_id, _change(body, body.active), principal.subject, new=False
        )


@router.delete("/centers/{center_id}/staff/{staff_id}", response_model=StaffOut)
async def deactivate_staff(
    rt: Runtime,
    d: Directory,
    principal: Annotated[Principal, allowed(Operation.STAFF_DEACTIVATE)],
    center_id: CenterId,
    staff_id: StaffId,
) -> dict[str, Any]:
    """The member leaves: kept for the audit, inactive, contacts forgotten."""
    principal.require_center(center_id)
    async with rt.unit_of_work() as conn:
        return await d.deactivate(conn, center_id, staff_id, principal.subject)


@router.get("/centers/{center_id}/staff-audit", response_model=list[StaffAuditOut])
async def staff_audit(
    rt: Runtime,
    principal: Annotated[Principal, allowed(Operation.STAFF_READ)],
    center_id: CenterId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Every change to the directory and the ladder, newest first."""
    principal.require_center(center_id)
    async with rt.unit_of_work(readonly=True) as conn:
        return await repo.audit_trail(conn, center_id, limit)


@router.get("/centers/{center_id}/escalation-ladder", response_model=LadderOut)
async def get_ladder(
    rt: Runtime,
    d: Directory,
    principal: Annotated[Principal, allowed(Operation.LADDER_READ)],
    center_id: CenterId,
) -> dict[str, Any]:
    """Whom each deadline stage reaches (the default until the admin sets one)."""
    principal.require_center(center_id)
    async with rt.unit_of_work(readonly=True) as conn:
        return {"center_id": center_id, **await d.ladder_of(conn, center_id)}


@router.put("/centers/{center_id}/escalation-ladder", response_model=LadderOut)
async def set_ladder(
    rt: Runtime,
    d: Directory,
    principal: Annotated[Principal, allowed(Operation.LADDER_WRITE)],
    center_id: CenterId,
    body: LadderIn,
) -> dict[str, Any]:
    principal.require_center(center_id)
    async with rt.unit_of_work() as conn:
        wanted = body.model_dump(exclude_none=True, exclude={"still_open_hours"})
        changed = await d.set_ladder(
            conn, center_id, wanted, body.still_open_hours, principal.subject
        )
        return {"center_id": center_id, **changed}
