"""Queries of robot commands."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sst_core.db.models import Home, Resident, Robot, RobotCommand, Room


async def room_names(session: AsyncSession, *, home_id: int) -> list[str]:
    """Names of the home's rooms."""
    query = select(Room.name).where(Room.home_id == home_id).order_by(Room.name)
    return list((await session.scalars(query)).all())


async def home_of(session: AsyncSession, *, robot: Robot) -> tuple[int, int | None]:
    """(facility id, resident id or None) of the robot's home."""
    row = (
        await session.execute(
            select(Home.facility_id, Resident.id)
            .outerjoin(Resident, Resident.home_id == Home.id)
            .where(Home.id == robot.home_id)
            .limit(1)
        )
    ).one()
    return int(row[0]), row[1]


async def command_of(
    session: AsyncSession, *, robot_id: int, command_id: int
) -> RobotCommand | None:
    """One command of the robot."""
    query = select(RobotCommand).where(
        RobotCommand.id == command_id, RobotCommand.robot_id == robot_id
    )
    return await session.scalar(query)


async def recent_commands(
    session: AsyncSession, *, robot_id: int, limit: int
) -> Sequence[RobotCommand]:
    """The robot's newest commands first."""
    query = (
        select(RobotCommand)
        .where(RobotCommand.robot_id == robot_id)
        .order_by(RobotCommand.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()
