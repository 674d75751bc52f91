"""Registering, moving and removing sensors (on an existing hub) and robots."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.audit import record
from sst_backend.care_access import home_to_change, home_to_read, require_admin
from sst_backend.devices import repository
from sst_backend.devices.schemas import (
    HubOut,
    RobotCreate,
    RobotOut,
    RobotUpdate,
    SensorCreate,
    SensorOut,
    SensorUpdate,
)
from sst_backend.errors import APIError, not_found
from sst_core.db.models import Robot, Sensor, User


def sensor_out(sensor: Sensor, home_id: int) -> SensorOut:
    """The API shape of a sensor."""
    return SensorOut(
        id=sensor.id,
        hub_id=sensor.hub_id,
        home_id=home_id,
        room_id=sensor.room_id,
        key=sensor.key,
        kind=sensor.kind,
        battery_pct=sensor.battery_pct,
    )


def robot_out(robot: Robot) -> RobotOut:
    """The API shape of a robot."""
    return RobotOut.model_validate(robot, from_attributes=True)


def _room_not_in_home() -> APIError:
    # Like any object the caller cannot aim at: not found, whether it exists elsewhere or not.
    return not_found("The room")


async def list_sensors(session: AsyncSession, *, user: User, home_id: int) -> list[SensorOut]:
    """Sensors of a home `user` may see."""
    home = await home_to_read(session, user=user, home_id=home_id)
    rows = await repository.sensors_of_home(session, home_id=home.id)
    return [sensor_out(sensor, home_id) for sensor, home_id in rows]


async def list_hubs(session: AsyncSession, *, user: User, home_id: int) -> list[HubOut]:
    """Hubs of a home `user` may see, with their presence."""
    home = await home_to_read(session, user=user, home_id=home_id)
    hubs = await repository.hubs_of_home(session, home_id=home.id)
    return [HubOut.model_validate(hub, from_attributes=True) for hub in hubs]


async def get_sensor(session: AsyncSession, *, user: User, sensor_id: int) -> SensorOut:
    """One sensor of a home `user` may see."""
    row = await repository.get_sensor(session, sensor_id=sensor_id)
    if row is None:
        raise not_found("The sensor")
    try:
        await home_to_read(session, user=user, home_id=row[1])
    except APIError as exc:
        raise not_found("The sensor") from exc
    return sensor_out(*row)


async def create_sensor(
    session: AsyncSession, *, user: User, hub_id: int, body: SensorCreate
) -> SensorOut:
    """Register a sensor on an existing hub of the admin's facility."""
    require_admin(user, doing="register a sensor")
    hub = await repository.get_hub(session, hub_id=hub_id)
    if hub is None:
        raise not_found("The hub")
    try:
        await home_to_change(session, user=user, home_id=hub.home_id, doing="", lock=True)
    except APIError as exc:
        raise not_found("The hub") from exc
    if await repository.key_taken(session, hub_id=hub.id, key=body.key):
        raise APIError(409, "sensor_exists", f"This hub already has a sensor {body.key!r}.")
    if body.room_id is not None and not await repository.room_in_home(
        session, room_id=body.room_id, home_id=hub.home_id
    ):
        raise _room_not_in_home()
    sensor = Sensor(hub_id=hub.id, room_id=body.room_id, key=body.key, kind=body.kind.value)
    session.add(sensor)
    await session.flush()
    record(session, actor=user, action="sensor.create", target_type="sensor", target_id=sensor.id)
    return sensor_out(sensor, hub.home_id)


async def _sensor_to_change(
    session: AsyncSession, *, user: User, sensor_id: int, doing: str
) -> tuple[Sensor, int]:
    require_admin(user, doing=doing)
    row = await repository.get_sensor(session, sensor_id=sensor_id)
    if row is None:
        raise not_found("The sensor")
    try:
        await home_to_change(session, user=user, home_id=row[1], doing=doing, lock=True)
    except APIError as exc:
        raise not_found("The sensor") from exc
    return row


async def update_sensor(
    session: AsyncSession, *, user: User, sensor_id: int, body: SensorUpdate
) -> SensorOut:
    """Move a sensor to another room of its home, or rename its key."""
    sensor, home_id = await _sensor_to_change(
        session, user=user, sensor_id=sensor_id, doing="change a sensor"
    )
    changes = body.changes()
    key = changes.get("key")
    if key is not None and await repository.key_taken(
        session, hub_id=sensor.hub_id, key=key, except_id=sensor.id
    ):
        raise APIError(409, "sensor_exists", f"This hub already has a sensor {key!r}.")
    room_id = changes.get("room_id")
    if room_id is not None and not await repository.room_in_home(
        session, room_id=room_id, home_id=home_id
    ):
        raise _room_not_in_home()
    for field, value in changes.items():
        setattr(sensor, field, value)
    record(session, actor=user, action="sensor.update", target_type="sensor", target_id=sensor.id)
    await session.flush()
    return sensor_out(sensor, home_id)


async def delete_sensor(session: AsyncSession, *, user: User, sensor_id: int) -> None:
    """Unregister a sensor (its stored readings stay with the resident)."""
    sensor, _ = await _sensor_to_change(
        session, user=user, sensor_id=sensor_id, doing="remove a sensor"
    )
    await session.delete(sensor)
    record(session, actor=user, action="sensor.delete", target_type="sensor", target_id=sensor_id)


async def list_robots(session: AsyncSession, *, user: User, home_id: int) -> list[RobotOut]:
    """Robots of a home `user` may see."""
    home = await home_to_read(session, user=user, home_id=home_id)
    return [robot_out(r) for r in await repository.robots_of_home(session, home_id=home.id)]


async def create_robot(
    session: AsyncSession, *, user: User, home_id: int, body: RobotCreate
) -> RobotOut:
    """Place a robot in a home of the admin's facility."""
    home = await home_to_change(session, user=user, home_id=home_id, doing="add a robot")
    if await repository.serial_taken(session, serial=body.serial):
        raise APIError(409, "robot_exists", f"A robot with serial {body.serial!r} is registered.")
    robot = Robot(
        home_id=home.id, serial=body.serial, model=body.model, capabilities=body.capabilities
    )
    session.add(robot)
    await session.flush()
    record(session, actor=user, action="robot.create", target_type="robot", target_id=robot.id)
    return robot_out(robot)


async def _robot(session: AsyncSession, *, user: User, robot_id: int, change: bool) -> Robot:
    if change:
        require_admin(user, doing="change a robot")
    robot = await repository.get_robot(session, robot_id=robot_id)
    if robot is None:
        raise not_found("The robot")
    try:
        if change:
            await home_to_change(session, user=user, home_id=robot.home_id, doing="", lock=True)
        else:
            await home_to_read(session, user=user, home_id=robot.home_id)
    except APIError as exc:
        raise not_found("The robot") from exc
    return robot


async def get_robot(session: AsyncSession, *, user: User, robot_id: int) -> RobotOut:
    """A robot of a home `user` may see."""
    return robot_out(await _robot(session, user=user, robot_id=robot_id, change=False))


async def update_robot(
    session: AsyncSession, *, user: User, robot_id: int, body: RobotUpdate
) -> RobotOut:
    """Change a robot's model name or capabilities."""
    robot = await _robot(session, user=user, robot_id=robot_id, change=True)
    for field, value in body.changes().items():
        setattr(robot, field, value)
    record(session, actor=user, action="robot.update", target_type="robot", target_id=robot.id)
    await session.flush()
    return robot_out(robot)


async def delete_robot(session: AsyncSession, *, user: User, robot_id: int) -> None:
    """Remove a robot and its command history."""
    robot = await _robot(session, user=user, robot_id=robot_id, change=True)
    await session.delete(robot)
    record(session, actor=user, action="robot.delete", target_type="robot", target_id=robot_id)
