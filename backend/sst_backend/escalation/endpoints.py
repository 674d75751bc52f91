"""Escalation policies (facility and per resident), emergency contacts, and staff duty."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from sst_backend.auth.dependencies import CurrentUser, EditorUser, StaffUser
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES, ErrorResponse
from sst_backend.escalation import service
from sst_backend.escalation.schemas import (
    ContactIn,
    ContactOut,
    DutyIn,
    DutyOut,
    PolicyIn,
    PolicyOut,
)
from sst_backend.path_ids import ResidentId
from sst_core.domain import Severity

router = APIRouter(tags=["escalation"])

ContactId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Emergency contact id.")]
StaffId = Annotated[int, Path(ge=1, le=2**31 - 1, description="User id of a member of staff.")]
_READ = {**ERROR_RESPONSES, 403: {"model": ErrorResponse, "description": "Staff only."}}
_EDIT = {
    **ERROR_RESPONSES,
    403: {"model": ErrorResponse, "description": "Only an admin or a charge nurse may edit."},
}


@router.get("/escalation-policies", response_model=list[PolicyOut], responses=_READ)
async def facility_policies(user: StaffUser, session: Session) -> list[PolicyOut]:
    """The policy of your facility for each severity (its own, or the built-in default)."""
    service.require_staff(user)
    return await service.effective_policies(session, facility_id=user.facility_id, resident_id=None)


@router.put("/escalation-policies/{severity}", response_model=PolicyOut, responses=_EDIT)
async def save_facility_policy(
    severity: Severity, body: PolicyIn, user: EditorUser, session: Session
) -> PolicyOut:
    """Set your facility's policy for one severity; new alerts follow it."""
    return await service.save_policy(
        session, user=user, resident_id=None, severity=severity, body=body
    )


@router.delete(
    "/escalation-policies/{severity}", status_code=204, response_class=Response, responses=_EDIT
)
async def delete_facility_policy(severity: Severity, user: EditorUser, session: Session) -> None:
    """Go back to the built-in default for one severity."""
    await service.delete_policy(session, user=user, resident_id=None, severity=severity)


@router.get(
    "/residents/{resident_id}/escalation-policies", response_model=list[PolicyOut], responses=_READ
)
async def resident_policies(
    resident_id: ResidentId, user: StaffUser, session: Session
) -> list[PolicyOut]:
    """The policy in force for this resident, per severity, and where each comes from."""
    service.require_staff(user)
    resident = await service.require_resident(session, user=user, resident_id=resident_id)
    return await service.effective_policies(
        session, facility_id=resident.facility_id, resident_id=resident_id
    )


@router.put(
    "/residents/{resident_id}/escalation-policies/{severity}",
    response_model=PolicyOut,
    responses=_EDIT,
)
async def save_resident_policy(
    resident_id: ResidentId, severity: Severity, body: PolicyIn, user: EditorUser, session: Session
) -> PolicyOut:
    """Override the facility's policy for one resident and severity."""
    return await service.save_policy(
        session, user=user, resident_id=resident_id, severity=severity, body=body
    )


@router.delete(
    "/residents/{resident_id}/escalation-policies/{severity}",
    status_code=204,
    response_class=Response,
    responses=_EDIT,
)
async def delete_resident_policy(
    resident_id: ResidentId, severity: Severity, user: EditorUser, session: Session
) -> None:
    """Remove a resident's override: the facility's policy applies again."""
    await service.delete_policy(session, user=user, resident_id=resident_id, severity=severity)


@router.get(
    "/residents/{resident_id}/emergency-contacts",
    response_model=list[ContactOut],
    responses=ERROR_RESPONSES,
)
async def list_contacts(
    resident_id: ResidentId, user: CurrentUser, session: Session
) -> list[ContactOut]:
    """Who to call when nobody else reacts, first to call first."""
    rows = await service.list_contacts(session, user=user, resident_id=resident_id)
    return [ContactOut.model_validate(r) for r in rows]


@router.post(
    "/residents/{resident_id}/emergency-contacts",
    response_model=ContactOut,
    status_code=201,
    responses=_EDIT,
)
async def add_contact(
    resident_id: ResidentId, body: ContactIn, user: EditorUser, session: Session
) -> ContactOut:
    """Add an emergency contact (the last escalation step reaches them by e-mail or SMS)."""
    contact = await service.add_contact(session, user=user, resident_id=resident_id, body=body)
    return ContactOut.model_validate(contact)


@router.delete(
    "/residents/{resident_id}/emergency-contacts/{contact_id}",
    status_code=204,
    response_class=Response,
    responses=_EDIT,
)
async def delete_contact(
    resident_id: ResidentId, contact_id: ContactId, user: EditorUser, session: Session
) -> None:
    """Remove an emergency contact."""
    await service.delete_contact(session, user=user, resident_id=resident_id, contact_id=contact_id)


@router.put("/staff/{staff_id}/duty", response_model=DutyOut, responses=_READ)
async def set_duty(staff_id: StaffId, body: DutyIn, user: StaffUser, session: Session) -> DutyOut:
    """Go on or off duty (or, as admin or charge nurse, put someone on or off)."""
    return await service.set_duty(session, user=user, staff_id=staff_id, on_duty=body.on_duty)


@router.get("/staff/on-duty", response_model=list[DutyOut], responses=_READ)
async def on_duty(user: StaffUser, session: Session) -> list[DutyOut]:
    """Staff of your facility on duty now (the second escalation step pages them)."""
    return await service.on_duty(session, user=user)
