"""Admin API: provision hubs and robots, rotate and revoke their broker logins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from sst_backend.auth.dependencies import AdminUser
from sst_backend.broker.accounts import DeviceKind
from sst_backend.broker.admin import BrokerAdmin
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES, APIError, ErrorResponse
from sst_backend.provisioning import service
from sst_backend.provisioning.schemas import (
    HubCreate,
    HubProvisioned,
    HubSettingsIn,
    HubSettingsOut,
    MqttCredentials,
    RobotCreate,
    RobotProvisioned,
)

router = APIRouter(prefix="/admin", tags=["admin"])

DeviceId = Annotated[int, Path(ge=1, le=2**62)]
_ERRORS = {
    **ERROR_RESPONSES,
    403: {"model": ErrorResponse, "description": "Only an administrator may do this."},
    409: {"model": ErrorResponse, "description": "The serial is taken."},
    502: {"model": ErrorResponse, "description": "The MQTT broker refused the change."},
    503: {
        "model": ErrorResponse,
        "description": "The MQTT broker is unavailable; nothing changed.",
    },
}


def _broker(request: Request) -> BrokerAdmin:
    broker: BrokerAdmin | None = request.app.state.broker_admin
    if broker is None:
        raise APIError(
            503, "broker_not_configured", "Device provisioning needs SST_MQTT_ADMIN_PASSWORD."
        )
    return broker


Broker = Annotated[BrokerAdmin, Depends(_broker)]


@router.post("/hubs", status_code=201, response_model=HubProvisioned, responses=_ERRORS)
async def provision_hub(
    body: HubCreate, admin: AdminUser, session: Session, broker: Broker, response: Response
) -> HubProvisioned:
    """Register a hub in a home of your facility; its broker password is shown only here."""
    response.headers["Cache-Control"] = "no-store"
    return await service.provision_hub(session, broker, admin=admin, body=body)


@router.patch("/hubs/{hub_id}", response_model=HubSettingsOut, responses=ERROR_RESPONSES)
async def update_hub_settings(
    hub_id: DeviceId, body: HubSettingsIn, admin: AdminUser, session: Session
) -> HubSettingsOut:
    """Set a hub's own heartbeat timeout (how long a silence before it counts as offline)."""
    return await service.update_hub_settings(session, admin=admin, hub_id=hub_id, body=body)


@router.post("/hubs/{hub_id}/credentials", response_model=MqttCredentials, responses=_ERRORS)
async def rotate_hub_credentials(
    hub_id: DeviceId, admin: AdminUser, session: Session, broker: Broker, response: Response
) -> MqttCredentials:
    """Give the hub a new broker password (shown only here); the old one stops working now."""
    response.headers["Cache-Control"] = "no-store"
    return await service.rotate_credentials(
        session, broker, admin=admin, kind=DeviceKind.HUB, device_id=hub_id
    )


@router.delete("/hubs/{hub_id}/credentials", status_code=204, responses=_ERRORS)
async def revoke_hub_credentials(
    hub_id: DeviceId, admin: AdminUser, session: Session, broker: Broker
) -> None:
    """Revoke the hub's broker login: it is disconnected and cannot connect again."""
    await service.revoke(session, broker, admin=admin, kind=DeviceKind.HUB, device_id=hub_id)


@router.post("/robots", status_code=201, response_model=RobotProvisioned, responses=_ERRORS)
async def provision_robot(
    body: RobotCreate, admin: AdminUser, session: Session, broker: Broker, response: Response
) -> RobotProvisioned:
    """Register a robot in a home of your facility; its broker password is shown only here."""
    response.headers["Cache-Control"] = "no-store"
    return await service.provision_robot(session, broker, admin=admin, body=body)


@router.post("/robots/{robot_id}/credentials", response_model=MqttCredentials, responses=_ERRORS)
async def rotate_robot_credentials(
    robot_id: DeviceId, admin: AdminUser, session: Session, broker: Broker, response: Response
) -> MqttCredentials:
    """Give the robot a new broker password (shown only here); the old one stops working now."""
    response.headers["Cache-Control"] = "no-store"
    return await service.rotate_credentials(
        session, broker, admin=admin, kind=DeviceKind.ROBOT, device_id=robot_id
    )


@router.delete("/robots/{robot_id}/credentials", status_code=204, responses=_ERRORS)
async def revoke_robot_credentials(
    robot_id: DeviceId, admin: AdminUser, session: Session, broker: Broker
) -> None:
    """Revoke the robot's broker login: it is disconnected and cannot connect again."""
    await service.revoke(session, broker, admin=admin, kind=DeviceKind.ROBOT, device_id=robot_id)
