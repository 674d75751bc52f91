"""What the video endpoints take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from sst_core.video_messages import IceServer


class VideoSessionOut(BaseModel):
    """A video session as the audit and the dashboard see it."""

    id: str = Field(description="Session id: name it in every signaling event.")
    resident_id: int
    requested_by: int | None
    requested_by_name: str | None = Field(
        default=None, description="Full name of the member of staff who asked for it."
    )
    basis: Literal["alert", "consent"] = Field(
        description="Why watching is allowed: an open emergency alert, or recorded consent."
    )
    alert_id: int | None
    state: Literal["requested", "connected", "ended"]
    requested_at: datetime
    connect_by: datetime = Field(description="Ends as no_answer if media does not flow by then.")
    expires_at: datetime = Field(description="Ends as timeout at this time at the latest.")
    connected_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    duration_s: float | None = Field(description="From request to end, once ended.")
    recorded: bool = Field(
        description="The session is recorded (docs/video.md, Recording): tell the carer."
    )


class VideoRecordingOut(BaseModel):
    """A session's recording: where it stands, how big and long, until when it is kept."""

    id: int
    session_id: str
    resident_id: int
    state: Literal["recording", "stored", "failed"]
    content_type: str | None
    size_bytes: int | None
    duration_s: float | None
    frames: int | None = Field(description="Video frames in the file.")
    error: str | None = Field(description="Why it failed, when it did.")
    started_at: datetime
    stored_at: datetime | None
    delete_after: datetime = Field(description="Deleted then (SST_VIDEO_RECORDING_RETENTION_DAYS).")


class VideoSessionStarted(VideoSessionOut):
    """A new session, with what the viewer's RTCPeerConnection needs."""

    ice_servers: list[IceServer] = Field(
        description="Give to RTCPeerConnection as iceServers: ephemeral TURN credentials."
    )
    ice_transport_policy: Literal["relay", "all"] = Field(
        description="Give to RTCPeerConnection as iceTransportPolicy."
    )
