"""Sensors on a home's hub and the home's robots: admins register them, carers read them."""

from __future__ import annotations

from fastapi import APIRouter, Response

from sst_backend.auth.dependencies import AdminUser, CurrentUser
from sst_backend.care_access import CHANGE_ERRORS, READ_ERRORS
from sst_backend.db import Session
from sst_backend.devices import service
from sst_backend.devices.schemas import (
    HubOut,
    RobotCreate,
    RobotOut,
    RobotUpdate,
    SensorCreate,
    SensorOut,
    SensorUpdate,
)
from sst_backend.path_ids import HomeId, HubId, RobotId, SensorId

router = APIRouter(tags=["devices"])


@router.get("/homes/{home_id}/sensors", response_model=list[SensorOut], responses=READ_ERRORS)
async def list_sensors(home_id: HomeId, user: CurrentUser, session: Session) -> list[SensorOut]:
    """Sensors of a home you may see."""
    return await service.list_sensors(session, user=user, home_id=home_id)


@router.post(
    "/hubs/{hub_id}/sensors", response_model=SensorOut, status_code=201, responses=CHANGE_ERRORS
)
async def create_sensor(
    hub_id: HubId, body: SensorCreate, user: AdminUser, session: Session
) -> SensorOut:
    """Register a sensor on an existing hub (admins)."""
    return await service.create_sensor(session, user=user, hub_id=hub_id, body=body)


@router.get("/sensors/{sensor_id}", response_model=SensorOut, responses=READ_ERRORS)
async def get_sensor(sensor_id: SensorId, user: CurrentUser, session: Session) -> SensorOut:
    """One sensor of a home you may see."""
    return await service.get_sensor(session, user=user, sensor_id=sensor_id)


@router.patch("/sensors/{sensor_id}", response_model=SensorOut, responses=CHANGE_ERRORS)
async def update_sensor(
    sensor_id: SensorId, body: SensorUpdate, user: AdminUser, session: Session
) -> SensorOut:
    """Move a sensor to another room, or rename its key (admins)."""
    return await service.update_sensor(session, user=user, sensor_id=sensor_id, body=body)


@router.delete("/sensors/{sensor_id}", status_code=204, responses=CHANGE_ERRORS)
async def delete_sensor(sensor_id: SensorId, user: AdminUser, session: Session) -> Response:
    """Unregister a sensor (admins)."""
    await service.delete_sensor(session, user=user, sensor_id=sensor_id)
    return Response(status_code=204)


@router.get("/homes/{home_id}/hubs", response_model=list[HubOut], responses=READ_ERRORS)
async def list_hubs(home_id: HomeId, user: CurrentUser, session: Session) -> list[HubOut]:
    """Hubs of a home you may see, online or not and when last heard from."""
    return await service.list_hubs(session, user=user, home_id=home_id)


@router.get("/homes/{home_id}/robots", response_model=list[RobotOut], responses=READ_ERRORS)
async def list_robots(home_id: HomeId, user: CurrentUser, session: Session) -> list[RobotOut]:
    """Robots of a home you may see."""
    return await service.list_robots(session, user=user, home_id=home_id)


@router.post(
    "/homes/{home_id}/robots", response_model=RobotOut, status_code=201, responses=CHANGE_ERRORS
)
async def create_robot(
    home_id: HomeId, body: RobotCreate, user: AdminUser, session: Session
) -> RobotOut:
    """Place a robot in a home (admins)."""
    return await service.create_robot(session, user=user, home_id=home_id, body=body)


@router.get("/robots/{robot_id}", response_model=RobotOut, responses=READ_ERRORS)
async def get_robot(robot_id: RobotId, user: CurrentUser, session: Session) -> RobotOut:
    """A robot of a home you may see."""
    return await service.get_robot(session, user=user, robot_id=robot_id)


@router.patch("/robots/{robot_id}", response_model=RobotOut, responses=CHANGE_ERRORS)
async def update_robot(
    robot_id: RobotId, body: RobotUpdate, user: AdminUser, session: Session
) -> RobotOut:
    """Change a robot's model name or capabilities (admins)."""
    return await service.update_robot(session, user=user, robot_id=robot_id, body=body)


@router.delete("/robots/{robot_id}", status_code=204, responses=CHANGE_ERRORS)
async def delete_robot(robot_id: RobotId, user: AdminUser, session: Session) -> Response:
    """Remove a robot and its command history (admins)."""
    await service.delete_robot(session, user=user, robot_id=robot_id)
    return Response(status_code=204)
