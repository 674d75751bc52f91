"""Queries of the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sst_core.db.models import AuditEntry, User


async def list_for_facility(
    session: AsyncSession,
    *,
    facility_id: int,
    action: str | None,
    target_type: str | None,
    target_id: str | None,
    since: datetime | None,
    until: datetime | None,
    before_id: int | None,
    limit: int,
) -> list[tuple[AuditEntry, str | None]]:
    """Entries whose actor belongs to the facility, newest first."""
    query = (
        select(AuditEntry, User.email)
        .join(User, User.id == AuditEntry.actor_id)
        .where(User.facility_id == facility_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    if action:
        query = query.where(AuditEntry.action == action)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]
