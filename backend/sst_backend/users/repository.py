"""Queries about the accounts of a facility and their residents."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sst_core.db.models import GuardianLink, Resident, StaffAssignment, User
from sst_core.domain import Role


async def list_in_facility(
    session: AsyncSession,
    *,
    facility_id: int,
    role: Role | None,
    active: bool | None,
    limit: int,
    offset: int,
) -> list[User]:
    """Accounts of one facility, by name."""
    query = select(User).where(User.facility_id == facility_id)
    if role is not None:
        query = query.where(User.role == role.value)
    if active is not None:
        query = query.where(User.is_active.is_(active))
    query = query.order_by(User.full_name, User.id).limit(limit).offset(offset)
    return list((await session.scalars(query)).all())


async def get_in_facility(
    session: AsyncSession, *, facility_id: int, user_id: int, lock: bool = False
) -> User | None:
    """One account if it belongs to the facility."""
    query = select(User).where(User.id == user_id, User.facility_id == facility_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def email_taken(session: AsyncSession, *, email: str, except_id: int | None = None) -> bool:
    """Whether any account (of any facility) already uses this e-mail."""
    query = select(User.id).where(func.lower(User.email) == email.lower())
    if except_id is not None:
        query = query.where(User.id != except_id)
    return (await session.scalar(query.limit(1))) is not None


async def resident_in_facility(
    session: AsyncSession, *, facility_id: int, resident_id: int
) -> Resident | None:
    """One resident if they belong to the facility."""
    query = select(Resident).where(Resident.id == resident_id, Resident.facility_id == facility_id)
    return await session.scalar(query)


async def resident_ids_of(session: AsyncSession, *, users: list[User]) -> dict[int, list[int]]:
    """Residents assigned to each staff member and followed by each guardian."""
    ids = [u.id for u in users]
    if not ids:
        return {}
    found: dict[int, list[int]] = {i: [] for i in ids}
    assigned = select(StaffAssignment.staff_id, StaffAssignment.resident_id).where(
        StaffAssignment.staff_id.in_(ids)
    )
    linked = select(GuardianLink.guardian_id, GuardianLink.resident_id).where(
        GuardianLink.guardian_id.in_(ids)
    )
    for query in (assigned, linked):
        for user_id, resident_id in (await session.execute(query)).all():
            found[user_id].append(resident_id)
    return {k: sorted(v) for k, v in found.items()}


async def assign(session: AsyncSession, *, staff_id: int, resident_id: int) -> bool:
    """Assign a resident to a staff member; False if they already were."""
    if await session.get(StaffAssignment, (staff_id, resident_id)) is not None:
        return False
    session.add(StaffAssignment(staff_id=staff_id, resident_id=resident_id))
    return True


async def unassign(session: AsyncSession, *, staff_id: int, resident_id: int) -> bool:
    """Remove an assignment; False if there was none."""
    result = await session.execute(
        delete(StaffAssignment).where(
            StaffAssignment.staff_id == staff_id, StaffAssignment.resident_id == resident_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def link(session: AsyncSession, *, guardian_id: int, resident_id: int, relation: str) -> bool:
    """Link a guardian to a resident (or update the relation); False if already linked."""
    existing = await session.get(GuardianLink, (guardian_id, resident_id))
    if existing is not None:
        existing.relation = relation
        return False
    session.add(GuardianLink(guardian_id=guardian_id, resident_id=resident_id, relation=relation))
    return True


async def unlink(session: AsyncSession, *, guardian_id: int, resident_id: int) -> bool:
    """Remove a guardian link; False if there was none."""
    result = await session.execute(
        delete(GuardianLink).where(
            GuardianLink.guardian_id == guardian_id, GuardianLink.resident_id == resident_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
