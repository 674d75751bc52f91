"""Queries of device provisioning: homes, hubs and robots within one facility."""

from __future__ import annotations

from sqlalchemy import select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from sst_core.db.models import Home, Hub, Robot, Room


async def home_in_facility(session: AsyncSession, *, home_id: int, facility_id: int) -> Home | None:
    """The home if it belongs to the facility."""
    query = select(Home).where(Home.id == home_id, Home.facility_id == facility_id)
    return (await session.scalars(query)).first()


async def room_ids(session: AsyncSession, *, home_id: int) -> set[int]:
    """Ids of the home's rooms."""
    return set((await session.scalars(select(Room.id).where(Room.home_id == home_id))).all())


async def serial_taken(session: AsyncSession, *, serial: str) -> bool:
    """Whether a hub or a robot already has this serial (they share the broker's user names)."""
    query = union_all(
        select(Hub.id).where(Hub.serial == serial), select(Robot.id).where(Robot.serial == serial)
    )
    return (await session.execute(query)).first() is not None


async def hub_in_facility(session: AsyncSession, *, hub_id: int, facility_id: int) -> Hub | None:
    """The hub, locked for the request, if its home belongs to the facility."""
    query = (
        select(Hub)
        .join(Home, Home.id == Hub.home_id)
        .where(Hub.id == hub_id, Home.facility_id == facility_id)
        .with_for_update(of=Hub)
    )
    return (await session.scalars(query)).first()


async def robot_in_facility(
    session: AsyncSession, *, robot_id: int, facility_id: int
) -> Robot | None:
    """The robot, locked for the request, if its home belongs to the facility."""
    query = (
        select(Robot)
        .join(Home, Home.id == Robot.home_id)
        .where(Robot.id == robot_id, Home.facility_id == facility_id)
        .with_for_update(of=Robot)
    )
    return (await session.scalars(query)).first()
