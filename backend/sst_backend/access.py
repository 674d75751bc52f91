"""Who may see which resident: the one rule every endpoint and socket event applies."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from sst_core.db.models import GuardianLink, Resident, StaffAssignment, User
from sst_core.domain import Role


def sees_whole_facility(user: User) -> bool:
    """Admins and charge nurses follow every resident of their facility."""
    return user.role == Role.ADMIN or (user.role == Role.STAFF and user.is_charge_nurse)


def visible_residents_query(user: User) -> Select[int]:
    """Ids of the residents `user` may see, as a subquery-able select."""
    if sees_whole_facility(user):
        return select(Resident.id).where(Resident.facility_id == user.facility_id)
    if user.role == Role.STAFF:
        return (
            select(Resident.id)
            .join(StaffAssignment, StaffAssignment.resident_id == Resident.id)
            .where(StaffAssignment.staff_id == user.id, Resident.facility_id == user.facility_id)
        )
    return (
        select(Resident.id)
        .join(GuardianLink, GuardianLink.resident_id == Resident.id)
        .where(GuardianLink.guardian_id == user.id)
    )


async def visible_resident_ids(session: AsyncSession, *, user: User) -> list[int]:
    """The residents `user` may see."""
    return [int(r) for r in (await session.scalars(visible_residents_query(user))).all()]


async def may_see_resident(session: AsyncSession, *, user: User, resident_id: int) -> bool:
    """Whether `user` may see this one resident."""
    query = visible_residents_query(user).where(Resident.id == resident_id)
    return (await session.scalar(query)) is not None
