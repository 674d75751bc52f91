"""A reference viewer: the WebRTC side of a staff browser, in aiortc, for tests and benchmarks.

It does what docs/video.md asks of the dashboard: an RTCPeerConnection with the session's
ICE servers and transport policy, a receive-only video transceiver, the offer, then the
camera's answer. Signaling (HTTP + Socket.IO) is the caller's; this class only holds the peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)


def candidate_types(sdp: str) -> set[str]:
    """The candidate types (host, srflx, relay) an SDP carries."""
    types = set()
    for line in sdp.splitlines():
        if line.startswith("a=candidate:") and " typ " in line:
            types.add(line.split(" typ ", 1)[1].split()[0])
    return types


class Viewer:
    """One receive-only peer; `frames` fills with decoded frames as they arrive."""

    def __init__(self, ice_servers: list[dict[str, Any]], *, relay_only: bool) -> None:
        config = RTCConfiguration(
            iceServers=[
                RTCIceServer(
                    urls=s["urls"], username=s.get("username"), credential=s.get("credential")
                )
                for s in ice_servers
            ],
            iceTransportPolicy=(
                RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
            ),
        )
        self.pc = RTCPeerConnection(configuration=config)
        self.frames: asyncio.Queue[tuple[float, av.VideoFrame]] = asyncio.Queue()
        self.first_frame_at: float | None = None  # time.monotonic() of the first decoded frame
        self._reader: asyncio.Task[None] | None = None
        self.pc.on("track", self._on_track)

    async def offer(self) -> str:
        """Make the offer (every candidate gathered into it, as aiortc does); its SDP."""
        self.pc.addTransceiver("video", direction="recvonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def trickled_offer(self) -> tuple[str, list[dict[str, Any]]]:
        """The offer as a browser sends it: SDP without candidates, then the candidates
        (RTCIceCandidateInit dicts, ending with the empty end-of-candidates one)."""
        sdp = await self.offer()
        lines, candidates, mid, index = [], [], None, -1
        for line in sdp.splitlines():
            if line.startswith("m="):
                index += 1
            elif line.startswith("a=mid:"):
                mid = line.removeprefix("a=mid:")
            if line.startswith("a=candidate:"):
                candidates.append({"candidate": line[2:], "sdpMid": mid, "sdpMLineIndex": index})
            elif line != "a=end-of-candidates":
                lines.append(line)
        candidates.append({"candidate": "", "sdpMid": mid, "sdpMLineIndex": max(index, 0)})
        return "\r\n".join(lines) + "\r\n", candidates

    async def accept(self, answer_sdp: str) -> None:
        """Take the camera's answer."""
        await self.pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "video" and self._reader is None:
            self._reader = asyncio.ensure_future(self._read(track))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(Exception):  # the track ends with the connection
            while True:
                frame = await track.recv()
                now = time.monotonic()
                if self.first_frame_at is None:
                    self.first_frame_at = now
                if isinstance(frame, av.VideoFrame):
                    self.frames.put_nowait((now, frame))

    async def close(self) -> None:
        """Close the peer connection."""
        await self.pc.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
