"""Queries about per-resident rule thresholds."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sst_core.db.models import RuleThreshold


async def of_resident(session: AsyncSession, *, resident_id: int) -> Sequence[RuleThreshold]:
    """Every override stored for a resident."""
    query = select(RuleThreshold).where(RuleThreshold.resident_id == resident_id)
    return (await session.scalars(query)).all()


async def upsert(
    session: AsyncSession, *, resident_id: int, rule: str, params: dict[str, object], actor_id: int
) -> RuleThreshold:
    """Store (or replace) a resident's override of one rule."""
    statement = (
        insert(RuleThreshold)
        .values(resident_id=resident_id, rule=rule, params=params, updated_by=actor_id)
        .on_conflict_do_update(
            index_elements=[RuleThreshold.resident_id, RuleThreshold.rule],
            set_={"params": params, "updated_by": actor_id, "updated_at": func.now()},
        )
        .returning(RuleThreshold)
    )
    return (await session.scalars(statement, execution_options={"populate_existing": True})).one()


async def remove(session: AsyncSession, *, resident_id: int, rule: str) -> bool:
    """Drop a resident's override of one rule; whether there was one."""
    result = await session.execute(
        delete(RuleThreshold).where(
            RuleThreshold.resident_id == resident_id, RuleThreshold.rule == rule
        )
    )
    return bool(getattr(result, "rowcount", 0))
