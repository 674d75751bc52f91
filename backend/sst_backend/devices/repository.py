"""Queries about sensors and robots."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sst_core.db.models import Hub, Robot, Room, Sensor


async def sensors_of_home(session: AsyncSession, *, home_id: int) -> Sequence[tuple[Sensor, int]]:
    """Sensors on the hubs of a home, with the home id."""
    query = (
        select(Sensor, Hub.home_id)
        .join(Hub, Hub.id == Sensor.hub_id)
        .where(Hub.home_id == home_id)
        .order_by(Sensor.key, Sensor.id)
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def get_sensor(session: AsyncSession, *, sensor_id: int) -> tuple[Sensor, int] | None:
    """A sensor with its home id."""
    query = select(Sensor, Hub.home_id).join(Hub, Hub.id == Sensor.hub_id)
    row = (await session.execute(query.where(Sensor.id == sensor_id))).first()
    return (row[0], row[1]) if row else None


async def hubs_of_home(session: AsyncSession, *, home_id: int) -> Sequence[Hub]:
    """Hubs of a home."""
    return (
        await session.scalars(select(Hub).where(Hub.home_id == home_id).order_by(Hub.serial))
    ).all()


async def get_hub(session: AsyncSession, *, hub_id: int) -> Hub | None:
    """A hub by id."""
    return await session.scalar(select(Hub).where(Hub.id == hub_id))


async def key_taken(
    session: AsyncSession, *, hub_id: int, key: str, except_id: int | None = None
) -> bool:
    """Whether another sensor of the hub reports under this key."""
    query = select(Sensor.id).where(Sensor.hub_id == hub_id, Sensor.key == key)
    if except_id is not None:
        query = query.where(Sensor.id != except_id)
    return (await session.scalar(query)) is not None


async def room_in_home(session: AsyncSession, *, room_id: int, home_id: int) -> bool:
    """Whether the room belongs to the home."""
    query = select(Room.id).where(Room.id == room_id, Room.home_id == home_id)
    return (await session.scalar(query)) is not None


async def robots_of_home(session: AsyncSession, *, home_id: int) -> Sequence[Robot]:
    """Robots of a home."""
    query = select(Robot).where(Robot.home_id == home_id).order_by(Robot.serial)
    return (await session.scalars(query)).all()


async def get_robot(session: AsyncSession, *, robot_id: int) -> Robot | None:
    """A robot by id (the caller checks access through its home)."""
    return await session.scalar(select(Robot).where(Robot.id == robot_id))


async def serial_taken(session: AsyncSession, *, serial: str) -> bool:
    """Whether a robot already has this serial."""
    return (await session.scalar(select(Robot.id).where(Robot.serial == serial))) is not None
