"""Queries about homes and rooms."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.care_access import visible_homes_query
from sst_core.db.models import Home, Resident, Room, User


async def list_visible(session: AsyncSession, *, user: User) -> list[tuple[Home, int | None]]:
    """Homes `user` may see, with their resident's id."""
    query = (
        select(Home, Resident.id)
        .outerjoin(Resident, Resident.home_id == Home.id)
        .where(Home.id.in_(visible_homes_query(user)))
        .order_by(Home.label, Home.id)
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def resident_of(session: AsyncSession, *, home_id: int) -> int | None:
    """Id of the resident living in the home."""
    return await session.scalar(select(Resident.id).where(Resident.home_id == home_id))


async def rooms_of(session: AsyncSession, *, home_id: int) -> Sequence[Room]:
    """Rooms of a home, by name."""
    query = select(Room).where(Room.home_id == home_id).order_by(Room.name, Room.id)
    return (await session.scalars(query)).all()


async def room_name_taken(
    session: AsyncSession, *, home_id: int, name: str, except_id: int | None = None
) -> bool:
    """Whether another room of the home has this name."""
    query = select(Room.id).where(Room.home_id == home_id, Room.name == name)
    if except_id is not None:
        query = query.where(Room.id != except_id)
    return (await session.scalar(query)) is not None


async def get_room(session: AsyncSession, *, room_id: int) -> Room | None:
    """One room by id (the caller checks access through its home)."""
    return await session.scalar(select(Room).where(Room.id == room_id))
