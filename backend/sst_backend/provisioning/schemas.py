"""Bodies of the device provisioning endpoints (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from sst_core.domain import SensorKind

# The MQTT contract's serial (docs/mqtt.md): it names the device's topic subtree and login.
_SERIAL = r"^[A-Za-z0-9_.:-]{1,64}$"
RESERVED_PREFIX = "sst-"  # the platform's own broker accounts (sst-gateway, sst-admin, ...)


def _not_reserved(serial: str | None) -> str | None:
    if serial is not None and serial.lower().startswith(RESERVED_PREFIX):
        raise ValueError(f"serials starting with {RESERVED_PREFIX!r} are reserved for SST itself")
    return serial


Serial = Annotated[
    str,
    Field(pattern=_SERIAL, examples=["hub-7f3a"], description="1-64 of A-Z a-z 0-9 _ . : -"),
    AfterValidator(_not_reserved),
]


class SensorIn(BaseModel):
    """A sensor the hub reports for, under the hub's own key for it."""

    key: str = Field(pattern=_SERIAL, examples=["kitchen-motion"])
    kind: SensorKind
    room_id: int | None = Field(default=None, ge=1, description="A room of the same home.")


class SensorOut(SensorIn):
    """A registered sensor."""

    id: int


class HubCreate(BaseModel):
    """A hub for a home of your facility; without a serial, SST makes one up."""

    home_id: int = Field(ge=1)
    serial: Serial | None = None
    sensors: list[SensorIn] = Field(default_factory=list, max_length=500)


class HubSettingsIn(BaseModel):
    """A hub's own settings; null heartbeat_timeout_s returns to the gateway's default."""

    heartbeat_timeout_s: int | None = Field(
        ge=30,
        le=86_400,
        examples=[600],
        description=(
            "Seconds of silence after which the hub counts as offline (a hub_offline alert); "
            "null: the gateway's default (SST_HUB_HEARTBEAT_TIMEOUT_S, 180 s)."
        ),
    )


class HubSettingsOut(HubSettingsIn):
    """A hub's settings as stored."""

    id: int
    home_id: int
    serial: str


class RobotCreate(BaseModel):
    """A safety-check robot for a home of your facility."""

    home_id: int = Field(ge=1)
    serial: Serial | None = None
    model: str = Field(default="reference", min_length=1, max_length=100)


class MqttCredentials(BaseModel):
    """A device's broker login. The password is shown this once: SST does not keep it."""

    username: str
    password: str
    topic_root: str = Field(description="The subtree the device may use, e.g. sst/v1/hubs/X/#")
    issued_at: datetime


class HubOut(BaseModel):
    """A provisioned hub."""

    id: int
    home_id: int
    serial: str
    sensors: list[SensorOut]


class HubProvisioned(HubOut):
    """A new hub and its broker login, shown once."""

    mqtt: MqttCredentials


class RobotOut(BaseModel):
    """A provisioned robot."""

    id: int
    home_id: int
    serial: str
    model: str


class RobotProvisioned(RobotOut):
    """A new robot and its broker login, shown once."""

    mqtt: MqttCredentials
