"""Queries on risk_scores."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sst_core.db.models import RiskScore


async def latest(session: AsyncSession, *, resident_id: int) -> RiskScore | None:
    """The resident's newest score."""
    query = (
        select(RiskScore)
        .where(RiskScore.resident_id == resident_id)
        .order_by(RiskScore.at.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def since(session: AsyncSession, *, resident_id: int, start: datetime) -> list[RiskScore]:
    """The resident's scores from `start` on, oldest first."""
    query = (
        select(RiskScore)
        .where(RiskScore.resident_id == resident_id, RiskScore.at >= start)
        .order_by(RiskScore.at)
    )
    return list((await session.execute(query)).scalars())
