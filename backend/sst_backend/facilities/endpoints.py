"""An admin reads and renames their own facility."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from sst_backend.audit import record
from sst_backend.auth.dependencies import AdminUser
from sst_backend.care_access import CHANGE_ERRORS, require_admin
from sst_backend.db import Session
from sst_backend.errors import not_found
from sst_backend.facilities.schemas import FacilityOut, FacilityUpdate
from sst_backend.path_ids import FacilityId
from sst_core.db.models import Facility, User

router = APIRouter(tags=["facilities"])


async def _own(session: Session, user: User, facility_id: int, doing: str) -> Facility:
    require_admin(user, doing=doing)
    facility = None
    if facility_id == user.facility_id:
        facility = await session.scalar(select(Facility).where(Facility.id == facility_id))
    if facility is None:
        raise not_found("The facility")
    return facility


def _policy(changes: dict[str, object]) -> dict[str, object]:
    # A change of recording policy is evidence: the audit says what it became.
    return {k: changes[k] for k in ("video_recording",) if k in changes}


@router.get("/facilities/{facility_id}", response_model=FacilityOut, responses=CHANGE_ERRORS)
async def get_facility(facility_id: FacilityId, user: AdminUser, session: Session) -> FacilityOut:
    """Your own facility (admins only)."""
    facility = await _own(session, user, facility_id, "read the facility settings")
    return FacilityOut.model_validate(facility, from_attributes=True)


@router.patch("/facilities/{facility_id}", response_model=FacilityOut, responses=CHANGE_ERRORS)
async def update_facility(
    facility_id: FacilityId, body: FacilityUpdate, user: AdminUser, session: Session
) -> FacilityOut:
    """Rename your facility, change its time zone or recording policy (admins only)."""
    facility = await _own(session, user, facility_id, "change the facility")
    changes = body.changes()
    for name, value in changes.items():
        setattr(facility, name, value)
    record(
        session,
        actor=user,
        action="facility.update",
        target_type="facility",
        target_id=facility.id,
        details={"fields": sorted(changes), **_policy(changes)},
    )
    await session.flush()
    return FacilityOut.model_validate(facility, from_attributes=True)
