"""Residents the logged-in user may see."""

from __future__ import annotations

from fastapi import APIRouter

from sst_backend.auth.dependencies import AdminUser, CurrentUser
from sst_backend.care_access import CHANGE_ERRORS
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES
from sst_backend.path_ids import ResidentId
from sst_backend.residents import repository, service
from sst_backend.residents.schemas import (
    AlertCounts,
    ResidentCreate,
    ResidentDetail,
    ResidentOut,
    ResidentUpdate,
)

router = APIRouter(tags=["residents"])


@router.get("/residents", response_model=list[ResidentOut], responses=ERROR_RESPONSES)
async def list_residents(user: CurrentUser, session: Session) -> list[ResidentOut]:
    """Every resident you may see, with their open alerts by severity."""
    rows = await repository.list_visible(session, user=user)
    counts = await repository.open_alert_counts(session, resident_ids=[r.id for r, _ in rows])
    return [
        ResidentOut(
            id=r.id,
            full_name=r.full_name,
            facility_id=r.facility_id,
            home_id=r.home_id,
            timezone=tz,
            open_alerts=AlertCounts(**counts.get(r.id, {})),
        )
        for r, tz in rows
    ]


@router.post("/residents", response_model=ResidentDetail, status_code=201, responses=CHANGE_ERRORS)
async def create_resident(
    body: ResidentCreate, user: AdminUser, session: Session
) -> ResidentDetail:
    """Add a resident to your facility, in an existing home or a new one (admins)."""
    return await service.create_resident(session, user=user, body=body)


@router.get("/residents/{resident_id}", response_model=ResidentDetail, responses=ERROR_RESPONSES)
async def get_resident(
    resident_id: ResidentId, user: CurrentUser, session: Session
) -> ResidentDetail:
    """A resident you may see: profile, home, time zone and consent (the view is audited)."""
    return await service.get_resident(session, user=user, resident_id=resident_id)


@router.patch("/residents/{resident_id}", response_model=ResidentDetail, responses=CHANGE_ERRORS)
async def update_resident(
    resident_id: ResidentId, body: ResidentUpdate, user: AdminUser, session: Session
) -> ResidentDetail:
    """Change a resident's profile, home or consent flags (admins)."""
    return await service.update_resident(session, user=user, resident_id=resident_id, body=body)
