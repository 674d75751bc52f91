"""Per-resident thresholds of the windowed rules (inference reads what is stored here)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from sst_backend.auth.dependencies import AdminUser, CurrentUser
from sst_backend.care_access import CHANGE_ERRORS, READ_ERRORS
from sst_backend.db import Session
from sst_backend.path_ids import ResidentId
from sst_backend.thresholds import service
from sst_backend.thresholds.schemas import ThresholdOut, ThresholdUpdate
from sst_core.thresholds import RuleName

router = APIRouter(tags=["thresholds"])

Rule = Annotated[RuleName, Path(description="A tunable rule.")]


@router.get(
    "/residents/{resident_id}/thresholds",
    response_model=list[ThresholdOut],
    responses=READ_ERRORS,
)
async def list_thresholds(
    resident_id: ResidentId, user: CurrentUser, session: Session
) -> list[ThresholdOut]:
    """Every tunable rule, with its ranges, defaults and this resident's values."""
    return await service.list_thresholds(session, user=user, resident_id=resident_id)


@router.put(
    "/residents/{resident_id}/thresholds/{rule}",
    response_model=ThresholdOut,
    responses=CHANGE_ERRORS,
)
async def set_threshold(
    resident_id: ResidentId, rule: Rule, body: ThresholdUpdate, user: AdminUser, session: Session
) -> ThresholdOut:
    """Set this resident's own values for a rule, within the rule's ranges (admins)."""
    return await service.set_threshold(
        session, user=user, resident_id=resident_id, rule=rule, params=body.params
    )


@router.delete(
    "/residents/{resident_id}/thresholds/{rule}",
    response_model=ThresholdOut,
    responses=CHANGE_ERRORS,
)
async def reset_threshold(
    resident_id: ResidentId, rule: Rule, user: AdminUser, session: Session
) -> ThresholdOut:
    """Go back to the rule's defaults for this resident (admins)."""
    return await service.reset_threshold(session, user=user, resident_id=resident_id, rule=rule)
