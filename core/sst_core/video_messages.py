"""Messages of the emergency video contract between the backend and a camera agent (MQTT).

Down (`sst/v1/hubs/{serial}/video/down`, backend -> camera agent): `start`, `offer`,
`candidate`, `stop`. Up (`.../video/up`, agent -> backend): `answer`, `candidate`, `state`.
The viewer (a staff browser) makes the offer; the camera answers. docs/video.md has the whole
sequence. Unknown fields are refused, as everywhere in the MQTT contract.

A session may have a second receiver, the platform's recorder: its messages carry
`"peer": "recorder"`; without `peer` a message is the viewer's, as before (so a message of
the viewer's never carries the field, and agents that predate recording still read them).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

SessionId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="uuid4 hex")]
Sdp = Annotated[str, Field(min_length=10, max_length=20_000)]
MAX_VIDEO_MESSAGE_BYTES = 32_768


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    session: SessionId


Peer = Literal["recorder"]


class _PeerMessage(_Message):
    peer: Peer | None = Field(
        default=None, description="\"recorder\": the recorder's peer; absent: the viewer's."
    )


class IceServer(BaseModel):
    """One STUN/TURN server with the session's ephemeral credentials (RTCIceServer's shape)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    urls: list[Annotated[str, Field(max_length=300)]] = Field(min_length=1, max_length=8)
    username: str | None = Field(default=None, max_length=200)
    credential: str | None = Field(default=None, max_length=200)


class IceCandidate(BaseModel):
    """A trickled ICE candidate (RTCIceCandidateInit's shape); an empty one ends gathering."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    candidate: str = Field(max_length=1000)
    sdpMid: str | None = Field(default=None, max_length=64)  # WebRTC's names
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=64)


class StartVideo(_Message):
    """Open the camera for a session and wait for the viewer's offer until `expires_at`."""

    type: Literal["start"] = "start"
    ice_servers: list[IceServer] = Field(max_length=8)
    relay_only: bool = False
    expires_at: int = Field(ge=0, description="epoch ms: the session ends here at the latest")


class OfferVideo(_PeerMessage):
    """The viewer's SDP offer."""

    type: Literal["offer"] = "offer"
    sdp: Sdp


class CandidateVideo(_PeerMessage):
    """An ICE candidate, either way."""

    type: Literal["candidate"] = "candidate"
    candidate: IceCandidate


class StopVideo(_PeerMessage):
    """End the session now: close the peer connection and the camera."""

    type: Literal["stop"] = "stop"
    reason: str = Field(max_length=64)


class AnswerVideo(_PeerMessage):
    """The camera agent's SDP answer."""

    type: Literal["answer"] = "answer"
    sdp: Sdp


class VideoState(_PeerMessage):
    """The camera agent's side of the session changed (`connected` or, at its end, `ended`)."""

    type: Literal["state"] = "state"
    state: Literal["connected", "ended"]
    reason: str | None = Field(default=None, max_length=200)


DownMessage = Annotated[
    StartVideo | OfferVideo | CandidateVideo | StopVideo, Field(discriminator="type")
]
UpMessage = Annotated[AnswerVideo | CandidateVideo | VideoState, Field(discriminator="type")]
DOWN: TypeAdapter[StartVideo | OfferVideo | CandidateVideo | StopVideo] = TypeAdapter(DownMessage)
UP: TypeAdapter[AnswerVideo | CandidateVideo | VideoState] = TypeAdapter(UpMessage)
