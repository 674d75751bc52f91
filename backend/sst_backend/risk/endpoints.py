"""A resident's routine risk score with its trend, for the staff overview and guardians."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from sst_backend.auth.dependencies import CurrentUser
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES
from sst_backend.path_ids import ResidentId
from sst_backend.risk import service
from sst_backend.risk.schemas import RiskOut

router = APIRouter(tags=["residents"])


@router.get("/residents/{resident_id}/risk", response_model=RiskOut, responses=ERROR_RESPONSES)
async def resident_risk(
    resident_id: ResidentId,
    user: CurrentUser,
    session: Session,
    hours: Annotated[int, Query(ge=1, le=720, description="Window of the trend.")] = 24,
) -> RiskOut:
    """The newest routine risk score (0-100), why, and its trend over the last hours."""
    return await service.resident_risk(session, user=user, resident_id=resident_id, hours=hours)
