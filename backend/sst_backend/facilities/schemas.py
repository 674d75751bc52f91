"""Bodies of the facility endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, Field

from sst_backend.fields import Label, PatchBody, TimeZoneName


class FacilityOut(BaseModel):
    """A care organisation."""

    id: int
    name: str
    timezone: str = Field(description="IANA time zone of the facility's office.")
    video_recording: bool = Field(
        description="Emergency video sessions are recorded (where SST_VIDEO_RECORDING allows)."
    )
    created_at: datetime


class FacilityUpdate(PatchBody):
    """New name, time zone or recording policy of the facility."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    name: Label | None = Field(default=None, examples=["Sunrise Home Care"])
    timezone: TimeZoneName | None = None
    video_recording: bool | None = Field(
        default=None, description="Record emergency video sessions (docs/video.md, Recording)."
    )
