"""Bodies of the sensor and robot endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, Field

from sst_backend.fields import Body, Id, PatchBody
from sst_core.domain import SensorKind
from sst_core.messages import SensorKey

Serial = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$", examples=["robot-7f3a"])
]
Capability = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]


class SensorCreate(Body):
    """A sensor on a hub, named by the key the hub reports it under."""

    key: SensorKey = Field(examples=["bathroom-motion"])
    kind: SensorKind
    room_id: Id | None = Field(default=None, description="A room of the hub's home.")


class SensorUpdate(PatchBody):
    """Move a sensor to another room (null: no room) or rename its key."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"room_id"})

    key: SensorKey | None = None
    room_id: Id | None = None


class SensorOut(BaseModel):
    """A sensor and where it is."""

    id: int
    hub_id: int
    home_id: int
    room_id: int | None
    key: str
    kind: SensorKind
    battery_pct: float | None


class RobotCreate(Body):
    """A safety-check robot placed in a home."""

    serial: Serial
    model: str = Field(default="reference", min_length=1, max_length=100)
    capabilities: list[Capability] = Field(
        default_factory=list, max_length=20, examples=[["move", "check", "speak", "dock"]]
    )


class RobotUpdate(PatchBody):
    """New model name or capabilities of a robot."""

    model: str | None = Field(default=None, min_length=1, max_length=100)
    capabilities: list[Capability] | None = Field(default=None, max_length=20)


class HubOut(BaseModel):
    """A home's hub and its presence, as the gateway last saw it.

    Without its serial: that is the hub's broker login name, an admin's business.
    """

    id: int
    home_id: int
    online: bool
    last_seen_at: datetime | None


class RobotOut(BaseModel):
    """A robot and its last known state."""

    id: int
    home_id: int
    serial: str
    model: str
    capabilities: list[str]
    state: str | None
    battery_pct: float | None
    position: str | None
    last_seen_at: datetime | None
