"""Queries about residents."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.access import visible_residents_query
from sst_core.db.models import Alert, Home, Resident, User
from sst_core.domain import AlertState


async def list_visible(session: AsyncSession, *, user: User) -> list[tuple[Resident, str | None]]:
    """Residents `user` may see, with their home's time zone, by name."""
    query = (
        select(Resident, Home.timezone)
        .outerjoin(Home, Home.id == Resident.home_id)
        .where(Resident.id.in_(visible_residents_query(user)))
        .order_by(Resident.full_name, Resident.id)
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def open_alert_counts(
    session: AsyncSession, *, resident_ids: list[int]
) -> dict[int, dict[str, int]]:
    """Unresolved alerts per resident and severity."""
    if not resident_ids:
        return {}
    query = (
        select(Alert.resident_id, Alert.severity, func.count())
        .where(Alert.resident_id.in_(resident_ids), Alert.state != AlertState.RESOLVED.value)
        .group_by(Alert.resident_id, Alert.severity)
    )
    counts: dict[int, dict[str, int]] = {}
    for resident_id, severity, n in (await session.execute(query)).all():
        counts.setdefault(resident_id, {})[severity] = n
    return counts


async def get_visible(
    session: AsyncSession, *, user: User, resident_id: int
) -> tuple[Resident, Home | None] | None:
    """One resident `user` may see, with their home."""
    query = (
        select(Resident, Home)
        .outerjoin(Home, Home.id == Resident.home_id)
        .where(Resident.id == resident_id, Resident.id.in_(visible_residents_query(user)))
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else None


async def get_in_facility(
    session: AsyncSession, *, facility_id: int, resident_id: int, lock: bool = False
) -> Resident | None:
    """A resident of the facility (for admins' changes)."""
    query = select(Resident).where(Resident.id == resident_id, Resident.facility_id == facility_id)
    return await session.scalar(query.with_for_update() if lock else query)


async def home_in_facility(session: AsyncSession, *, facility_id: int, home_id: int) -> Home | None:
    """A home of the facility, locked so two residents cannot move in at once."""
    query = select(Home).where(Home.id == home_id, Home.facility_id == facility_id)
    return await session.scalar(query.with_for_update())


async def home_taken(session: AsyncSession, *, home_id: int, except_id: int | None = None) -> bool:
    """Whether someone already lives in the home."""
    query = select(Resident.id).where(Resident.home_id == home_id)
    if except_id is not None:
        query = query.where(Resident.id != except_id)
    return (await session.scalar(query)) is not None
