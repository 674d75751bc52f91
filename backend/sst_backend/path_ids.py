"""The ids in endpoint paths: each a positive integer that fits its column, described once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

_INT4 = {"ge": 1, "le": 2**31 - 1}  # serial/integer primary keys

FacilityId = Annotated[int, Path(description="Facility id.", **_INT4)]
HomeId = Annotated[int, Path(description="Home id.", **_INT4)]
RoomId = Annotated[int, Path(description="Room id.", **_INT4)]
ResidentId = Annotated[int, Path(description="Resident id.", **_INT4)]
UserId = Annotated[int, Path(description="User id.", **_INT4)]
HubId = Annotated[int, Path(description="Hub id.", **_INT4)]
SensorId = Annotated[int, Path(description="Sensor id.", **_INT4)]
RobotId = Annotated[int, Path(description="Robot id.", **_INT4)]
