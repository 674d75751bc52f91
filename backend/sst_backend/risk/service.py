"""A resident's routine risk and its trend, from what inference stored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.escalation.service import require_resident
from sst_backend.risk import repository
from sst_backend.risk.schemas import RiskOut, RiskPoint, Trend
from sst_core.db.models import User
from sst_core.texts import stored_text

# A move smaller than this is noise between two rounds, not a trend.
FLAT_BAND = 5


def trend(scores: Sequence[int]) -> Trend | None:
    """Newest score against the oldest: up, down or flat (None with fewer than two)."""
    if len(scores) < 2:
        return None
    moved = scores[-1] - scores[0]
    if abs(moved) < FLAT_BAND:
        return "flat"
    return "up" if moved > 0 else "down"


async def resident_risk(
    session: AsyncSession, *, user: User, resident_id: int, hours: int
) -> RiskOut:
    """The newest score, its explanation and the window's series (404 if not visible)."""
    await require_resident(session, user=user, resident_id=resident_id)
    newest = await repository.latest(session, resident_id=resident_id)
    start = datetime.now(UTC) - timedelta(hours=hours)
    rows = await repository.since(session, resident_id=resident_id, start=start)
    return RiskOut(
        resident_id=resident_id,
        score=newest.score if newest else None,
        at=newest.at if newest else None,
        explanation=newest.explanation if newest else None,
        explanation_text=stored_text(newest.text) if newest else None,
        trend=trend([row.score for row in rows]),
        series=[RiskPoint(at=row.at, score=row.score) for row in rows],
    )
