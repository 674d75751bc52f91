"""The recorder: a receive-only aiortc peer that writes one session's video to an MP4 file.

It runs as a child process of the backend (`python -m sst_backend.video.recorder`), one per
recorded session: decoding VP8 and encoding H.264 are CPU work that must not run on the
backend's event loop, and a crash here (aiortc, FFmpeg) must never touch the live call.
It speaks JSON lines. stdout first: `{"type": "ready"}` once aiortc is loaded (the backend
keeps such processes started ahead, `SST_VIDEO_RECORDING_SPARES`). stdin: the job first
(`ice_servers`, `relay_only`, `path`, `max_s`), then `{"type": "answer", "sdp"}`, then
`{"type": "stop"}`. stdout then: `{"type": "offer", "sdp"}`, and at the end `{"type":
"done", "frames", "duration_s", "size_bytes"}` or `{"type": "failed", "error"}`. If stdin
closes before `stop` (the backend is gone), the file is deleted: nobody would store it,
and video of a home must not linger on a disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from fractions import Fraction
from pathlib import Path
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
from aiortc.contrib.media import MediaRecorder

log = logging.getLogger("sst.backend.video.recorder")


class _FromZero(MediaStreamTrack):
    """The received track with timestamps starting at zero (RTP clocks start anywhere)."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self._source = source
        self._first: int | None = None
        self.frames = 0

    async def recv(self) -> Any:
        """The next received frame, its pts moved to start at 0."""
        frame = await self._source.recv()
        if frame.pts is not None:
            if self._first is None:
                self._first = frame.pts
            frame.pts -= self._first
        self.frames += 1
        return frame


def measure(path: Path) -> tuple[int, float, int]:
    """Video packets in the file, its duration (s) and size, read back as a player would."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames, last = 0, 0.0
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            frames += 1
            time_base = packet.time_base or stream.time_base or Fraction(1, 90_000)
            last = max(last, float((packet.pts + (packet.duration or 0)) * time_base))
    return frames, round(last, 3), path.stat().st_size


def _config(job: dict[str, Any]) -> RTCConfiguration:
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in job["ice_servers"]
        ],
        iceTransportPolicy=(
            RTCIceTransportPolicy.RELAY
            if job.get("relay_only", True)
            else RTCIceTransportPolicy.ALL
        ),
    )


class _Lines:
    """JSON lines from stdin (a pipe), read on the event loop."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def pump(self) -> None:
        """Queue each message; None at EOF (the backend is gone)."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            with contextlib.suppress(ValueError):
                await self.queue.put(json.loads(line))
        await self.queue.put(None)


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def record(job: dict[str, Any], lines: _Lines, pc: RTCPeerConnection) -> dict[str, Any]:
    """Offer, take the camera's answer, record until told to stop; what was recorded."""
    path = Path(job["path"])
    recorder = MediaRecorder(str(path), format="mp4")
    received: list[_FromZero] = []
    ended = asyncio.Event()

    @pc.on("track")
    async def on_track(track: MediaStreamTrack) -> None:
        if track.kind == "video" and not received:
            counted = _FromZero(track)
            received.append(counted)
            recorder.addTrack(counted)
            await recorder.start()

    @pc.on("connectionstatechange")
    async def on_state() -> None:
        if pc.connectionState in ("failed", "closed"):
            ended.set()

    orphaned = False
    try:
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        _say({"type": "offer", "sdp": pc.localDescription.sdp})
        deadline = asyncio.get_running_loop().time() + float(job["max_s"])
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0 or ended.is_set():
                break
            waiter = asyncio.ensure_future(lines.queue.get())
            ender = asyncio.ensure_future(ended.wait())
            done, _ = await asyncio.wait(
                {waiter, ender}, timeout=left, return_when=asyncio.FIRST_COMPLETED
            )
            ender.cancel()
            if waiter not in done:
                waiter.cancel()
                continue
            message = waiter.result()
            if message is None:
                orphaned = True
                break
            if message.get("type") == "answer":
                await pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "answer"))
            elif message.get("type") == "stop":
                break
    finally:
        # The file is finished first; the peer is closed after the report (closing waits
        # on TURN deallocation, which the backend need not wait for).
        await recorder.stop()
    if orphaned:
        return {"type": "failed", "error": "the backend went away"}
    if not received or received[0].frames == 0:
        return {"type": "failed", "error": "no media reached the recorder"}
    frames, duration_s, size = await asyncio.to_thread(measure, path)
    if frames == 0:
        return {"type": "failed", "error": "the recording holds no frames"}
    return {"type": "done", "frames": frames, "duration_s": duration_s, "size_bytes": size}


async def _main() -> int:
    try:
        _say({"type": "ready"})  # everything is imported: the job can come
    except BrokenPipeError:
        return 1
    lines = _Lines()
    pump = asyncio.ensure_future(lines.pump())
    job = await lines.queue.get()
    if job is None:
        return 1
    path = Path(job["path"])
    pc = RTCPeerConnection(configuration=_config(job))
    try:
        result = await record(job, lines, pc)
    except Exception as exc:  # anything aiortc or FFmpeg raises: report it, keep nothing
        log.exception("recording failed")
        result = {"type": "failed", "error": f"{type(exc).__name__}: {exc}"[:300]}
    if result["type"] != "done":
        await asyncio.to_thread(path.unlink, missing_ok=True)
    try:
        _say(result)
    except BrokenPipeError:  # the backend is gone: nobody stores the file
        await asyncio.to_thread(path.unlink, missing_ok=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(pc.close(), 3)
    pump.cancel()
    return 0 if result["type"] == "done" else 2


def main() -> int:
    """Entry point of the child process."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    return asyncio.run(_main())


if __name__ == "__main__":
    sys.exit(main())
