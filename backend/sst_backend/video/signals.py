"""The Socket.IO events a staff browser sends for a video session, and their checks."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sst_core.const import VIDEO_CANDIDATE_EVENT, VIDEO_HANGUP_EVENT, VIDEO_OFFER_EVENT
from sst_core.video_messages import IceCandidate, Sdp, SessionId


class Refused(Exception):
    """A signaling event that is not relayed; `code` and `message` go back in `video:error`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class _Viewer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    session_id: SessionId


class ViewerOffer(_Viewer):
    """`video:offer`: the browser's SDP offer (type "offer")."""

    type: str = Field(default="offer", pattern="^offer$")
    sdp: Sdp


class ViewerCandidate(_Viewer):
    """`video:candidate`: one trickled ICE candidate of the browser, as its toJSON() gives it
    (an empty `candidate` is the end of candidates)."""

    candidate: str = Field(max_length=1000)
    sdpMid: str | None = Field(default=None, max_length=64)  # WebRTC's names
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=64)
    usernameFragment: str | None = Field(default=None, max_length=256)  # not needed: dropped

    def ice(self) -> IceCandidate:
        """The candidate as the camera agent takes it."""
        return IceCandidate(
            candidate=self.candidate, sdpMid=self.sdpMid, sdpMLineIndex=self.sdpMLineIndex
        )


class ViewerHangup(_Viewer):
    """`video:hangup`: the carer closes the session."""


_MODELS: dict[str, type[_Viewer]] = {
    VIDEO_OFFER_EVENT: ViewerOffer,
    VIDEO_CANDIDATE_EVENT: ViewerCandidate,
    VIDEO_HANGUP_EVENT: ViewerHangup,
}


def parse_viewer(event: str, data: Any) -> ViewerOffer | ViewerCandidate | ViewerHangup:
    """The event's payload, checked; `Refused("malformed", ...)` saying what is wrong."""
    if not isinstance(data, dict):
        raise Refused("malformed", f"{event} takes an object with session_id.")
    try:
        parsed = _MODELS[event].model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise Refused("malformed", f"{event}: {where}: {first['msg']}") from None
    assert isinstance(parsed, ViewerOffer | ViewerCandidate | ViewerHangup)
    return parsed
