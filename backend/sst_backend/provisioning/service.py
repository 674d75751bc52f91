"""Provisioning hubs and robots: database rows, broker logins, audit.

The broker is changed before the request's transaction commits, so that the admin is told
the truth at once (a 503 if the broker did not take it, and then nothing is stored). If the
commit itself failed afterwards, the broker would be a step ahead: a login nobody was shown
(after a create or a rotation) or a revocation the database does not record. Both fail safe.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.audit import record
from sst_backend.broker.accounts import (
    DeviceAccount,
    DeviceKind,
    issue_credentials,
    new_password,
    revoke_credentials,
)
from sst_backend.broker.admin import BrokerAdmin, BrokerCommandError, BrokerUnavailable
from sst_backend.errors import APIError, not_found
from sst_backend.provisioning import repository
from sst_backend.provisioning.schemas import (
    HubCreate,
    HubProvisioned,
    HubSettingsIn,
    HubSettingsOut,
    MqttCredentials,
    RobotCreate,
    RobotProvisioned,
    SensorOut,
)
from sst_core.db.models import Hub, Robot, Sensor, User
from sst_core.domain import SensorKind


def _broker_failed(exc: Exception) -> APIError:
    if isinstance(exc, BrokerUnavailable):
        return APIError(503, "broker_unavailable", f"Nothing was changed: {exc}. Try again.")
    return APIError(502, "broker_refused", f"The MQTT broker refused the change: {exc}.")


async def _issue(broker: BrokerAdmin, device: Hub | Robot, kind: DeviceKind) -> MqttCredentials:
    account = DeviceAccount(kind, device.serial)
    password = new_password()
    try:
        await issue_credentials(broker, account, password)
    except (BrokerUnavailable, BrokerCommandError) as exc:
        raise _broker_failed(exc) from exc
    now = datetime.now(UTC)
    device.credentials_issued_at, device.credentials_revoked_at = now, None
    return MqttCredentials(
        username=account.username,
        password=password,
        topic_root=f"{account.topic_root}/#",
        issued_at=now,
    )


async def _claim_serial(session: AsyncSession, serial: str | None, kind: DeviceKind) -> str:
    if serial is None:
        return f"{kind.value}-{secrets.token_hex(6)}"
    if await repository.serial_taken(session, serial=serial):
        raise APIError(409, "serial_taken", f"A hub or robot with serial {serial!r} exists.")
    return serial


async def _flush(session: AsyncSession, serial: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent request took the serial meanwhile
        raise APIError(409, "serial_taken", f"A device with serial {serial!r} exists.") from exc


async def provision_hub(
    session: AsyncSession, broker: BrokerAdmin, *, admin: User, body: HubCreate
) -> HubProvisioned:
    """A new hub (with its sensors) in a home of the admin's facility, and its broker login."""
    home = await repository.home_in_facility(
        session, home_id=body.home_id, facility_id=admin.facility_id
    )
    if home is None:
        raise not_found("The home")
    rooms = await repository.room_ids(session, home_id=home.id)
    for sensor in body.sensors:
        if sensor.room_id is not None and sensor.room_id not in rooms:
            raise APIError(422, "invalid_request", f"Room {sensor.room_id} is not in this home.")
    if len({s.key for s in body.sensors}) != len(body.sensors):
        raise APIError(422, "invalid_request", "Two sensors have the same key.")
    serial = await _claim_serial(session, body.serial, DeviceKind.HUB)
    hub = Hub(home_id=home.id, serial=serial)
    session.add(hub)
    await _flush(session, serial)
    sensors = [
        Sensor(hub_id=hub.id, room_id=s.room_id, key=s.key, kind=s.kind.value) for s in body.sensors
    ]
    session.add_all(sensors)
    await session.flush()
    mqtt = await _issue(broker, hub, DeviceKind.HUB)
    record(
        session,
        actor=admin,
        action="hub.provision",
        target_type="hub",
        target_id=hub.id,
        details={"serial": serial, "home_id": home.id, "sensors": len(sensors)},
    )
    return HubProvisioned(
        id=hub.id,
        home_id=home.id,
        serial=serial,
        sensors=[
            SensorOut(id=s.id, key=s.key, kind=SensorKind(s.kind), room_id=s.room_id)
            for s in sensors
        ],
        mqtt=mqtt,
    )


async def provision_robot(
    session: AsyncSession, broker: BrokerAdmin, *, admin: User, body: RobotCreate
) -> RobotProvisioned:
    """A new robot in a home of the admin's facility, and its broker login."""
    home = await repository.home_in_facility(
        session, home_id=body.home_id, facility_id=admin.facility_id
    )
    if home is None:
        raise not_found("The home")
    serial = await _claim_serial(session, body.serial, DeviceKind.ROBOT)
    robot = Robot(home_id=home.id, serial=serial, model=body.model, capabilities=[])
    session.add(robot)
    await _flush(session, serial)
    mqtt = await _issue(broker, robot, DeviceKind.ROBOT)
    record(
        session,
        actor=admin,
        action="robot.provision",
        target_type="robot",
        target_id=robot.id,
        details={"serial": serial, "home_id": home.id},
    )
    return RobotProvisioned(
        id=robot.id, home_id=home.id, serial=serial, model=robot.model, mqtt=mqtt
    )


async def _device(
    session: AsyncSession, *, admin: User, kind: DeviceKind, device_id: int
) -> Hub | Robot:
    device: Hub | Robot | None
    if kind is DeviceKind.HUB:
        device = await repository.hub_in_facility(
            session, hub_id=device_id, facility_id=admin.facility_id
        )
    else:
        device = await repository.robot_in_facility(
            session, robot_id=device_id, facility_id=admin.facility_id
        )
    if device is None:
        raise not_found(f"The {kind.value}")
    return device


async def update_hub_settings(
    session: AsyncSession, *, admin: User, hub_id: int, body: HubSettingsIn
) -> HubSettingsOut:
    """Change a hub's own settings (its heartbeat timeout), audited."""
    hub = await _device(session, admin=admin, kind=DeviceKind.HUB, device_id=hub_id)
    assert isinstance(hub, Hub)
    before = hub.heartbeat_timeout_s
    hub.heartbeat_timeout_s = body.heartbeat_timeout_s
    record(
        session,
        actor=admin,
        action="hub.settings.update",
        target_type="hub",
        target_id=hub.id,
        details={"heartbeat_timeout_s": [before, body.heartbeat_timeout_s]},
    )
    return HubSettingsOut(
        id=hub.id,
        home_id=hub.home_id,
        serial=hub.serial,
        heartbeat_timeout_s=hub.heartbeat_timeout_s,
    )


async def rotate_credentials(
    session: AsyncSession, broker: BrokerAdmin, *, admin: User, kind: DeviceKind, device_id: int
) -> MqttCredentials:
    """A new password for the device; the old one stops working and its session is closed."""
    device = await _device(session, admin=admin, kind=kind, device_id=device_id)
    mqtt = await _issue(broker, device, kind)
    record(
        session,
        actor=admin,
        action=f"{kind.value}.credentials.issue",
        target_type=kind.value,
        target_id=device.id,
        details={"serial": device.serial},
    )
    return mqtt


async def revoke(
    session: AsyncSession, broker: BrokerAdmin, *, admin: User, kind: DeviceKind, device_id: int
) -> None:
    """Delete the device's broker login: it is disconnected now and cannot log in again."""
    device = await _device(session, admin=admin, kind=kind, device_id=device_id)
    try:
        await revoke_credentials(broker, DeviceAccount(kind, device.serial))
    except (BrokerUnavailable, BrokerCommandError) as exc:
        raise _broker_failed(exc) from exc
    device.credentials_revoked_at = datetime.now(UTC)
    record(
        session,
        actor=admin,
        action=f"{kind.value}.credentials.revoke",
        target_type=kind.value,
        target_id=device.id,
        details={"serial": device.serial},
    )
