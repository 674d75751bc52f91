"""Queries on detection_state and detection_schedule (written by inference)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sst_core.db.models import DetectionSchedule, DetectionState


async def states(session: AsyncSession, *, resident_id: int) -> list[DetectionState]:
    """Every stored rule state of the resident."""
    query = select(DetectionState).where(DetectionState.resident_id == resident_id)
    return list((await session.execute(query)).scalars())


async def evaluated_until(session: AsyncSession, *, resident_id: int) -> datetime | None:
    """Up to when the resident's rules were last judged."""
    query = select(DetectionSchedule.evaluated_until).where(
        DetectionSchedule.resident_id == resident_id
    )
    return (await session.execute(query)).scalar_one_or_none()
