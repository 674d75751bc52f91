"""Bodies of the home and room endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from sst_backend.fields import Body, Label, PatchBody, TimeZoneName
from sst_core.domain import RoomKind

RoomName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]


class HomeCreate(Body):
    """A home to watch over; its time zone drives every routine feature."""

    label: Label = Field(examples=["Flat 3B, 12 Mapo-daero"])
    timezone: TimeZoneName


class HomeUpdate(PatchBody):
    """New label or time zone of a home."""

    label: Label | None = None
    timezone: TimeZoneName | None = None


class HomeOut(BaseModel):
    """A home and who lives there."""

    id: int
    facility_id: int
    label: str
    timezone: str
    resident_id: int | None = Field(description="The resident living here, if any.")


class RoomCreate(Body):
    """A room of a home."""

    name: RoomName = Field(examples=["Bathroom"])
    kind: RoomKind = Field(examples=[RoomKind.BATHROOM])


class RoomUpdate(PatchBody):
    """New name or kind of a room."""

    name: RoomName | None = None
    kind: RoomKind | None = None


class RoomOut(BaseModel):
    """A room of a home."""

    id: int
    home_id: int
    name: str
    kind: RoomKind
