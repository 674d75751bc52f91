"""GET /residents/{id}/rule-checks: what each windowed rule last decided, for carers."""

from __future__ import annotations

from fastapi import APIRouter

from sst_backend.auth.dependencies import CurrentUser
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES
from sst_backend.path_ids import ResidentId
from sst_backend.rule_checks import service
from sst_backend.rule_checks.schemas import RuleChecksOut

router = APIRouter(tags=["residents"])


@router.get(
    "/residents/{resident_id}/rule-checks",
    response_model=RuleChecksOut,
    responses=ERROR_RESPONSES,
)
async def resident_rule_checks(
    resident_id: ResidentId, user: CurrentUser, session: Session
) -> RuleChecksOut:
    """Each windowed rule's latest verdict (fine, alert, cannot tell and why) and since when."""
    return await service.resident_rule_checks(session, user=user, resident_id=resident_id)
