"""What the camera agent sends: a real V4L2 camera where present, else a moving test pattern."""

from __future__ import annotations

import os

import av
import numpy as np
from aiortc import MediaStreamTrack, VideoStreamTrack
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError

DEFAULT_DEVICE = "/dev/video0"


class TestPatternTrack(VideoStreamTrack):
    """A synthetic camera: colour bars with a bar sweeping across and a moving square.

    Each frame differs from the last, so a viewer can tell live video from a frozen one.
    """

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.width, self.height = width, height
        bars = np.array(
            [[192, 192, 192], [0, 192, 192], [192, 192, 0], [0, 192, 0], [192, 0, 192],
             [0, 0, 192], [192, 0, 0], [0, 0, 0]],
            dtype=np.uint8,
        )  # fmt: skip
        columns = np.repeat(bars, -(-width // len(bars)), axis=0)[:width]
        self._background = np.broadcast_to(columns, (height, width, 3)).copy()
        self.frames = 0

    async def recv(self) -> av.VideoFrame:
        """The next frame, paced at aiortc's video clock (30 frames a second)."""
        if self.readyState != "live":  # stopped: a relay reading it must stop too
            raise MediaStreamError
        pts, time_base = await self.next_timestamp()
        image = self._background.copy()
        step = self.frames
        image[:, (step * 4) % self.width] = 255  # a white line sweeping right
        side = max(8, self.height // 8)
        y = (step * 3) % (self.height - side)
        x = (step * 5) % (self.width - side)
        image[y : y + side, x : x + side] = (255, 255, 255)
        self.frames += 1
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        return frame


class _PlayerTrack(MediaStreamTrack):
    """A V4L2 player's video track that closes the device when the session ends."""

    kind = "video"

    def __init__(self, player: MediaPlayer) -> None:
        super().__init__()
        assert player.video is not None
        self._player, self._source = player, player.video

    async def recv(self) -> av.VideoFrame:
        """The camera's next frame."""
        frame = await self._source.recv()
        assert isinstance(frame, av.VideoFrame)
        return frame

    def stop(self) -> None:
        """Stop sending and release the camera."""
        super().stop()
        self._source.stop()


class OwnFrames(MediaStreamTrack):
    """A relayed track whose frames are this receiver's own copies.

    aiortc encodes in worker threads; two peers encoding the very same `av.VideoFrame` at
    once (MediaRelay hands the same object to each) share its internal scaler and crash the
    process. Copying on the event loop, one receiver after the other, keeps them apart.
    """

    kind = "video"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self._source = source

    async def recv(self) -> av.VideoFrame:
        """The next frame, copied."""
        frame = await self._source.recv()
        assert isinstance(frame, av.VideoFrame)
        try:
            copy = av.VideoFrame.from_ndarray(frame.to_ndarray(), format=frame.format.name)
        except (ValueError, TypeError):  # a camera format numpy cannot carry: convert it
            copy = frame.reformat(format="yuv420p")
        copy.pts, copy.time_base = frame.pts, frame.time_base
        return copy

    def stop(self) -> None:
        """Stop this receiver's copy and its relay subscription."""
        super().stop()
        self._source.stop()


def open_camera(device: str | None) -> tuple[MediaStreamTrack, str]:
    """A track of `device` (default /dev/video0) if it opens, else the test pattern; its name."""
    path = device or DEFAULT_DEVICE
    if os.path.exists(path):
        try:
            player = MediaPlayer(
                path, format="v4l2", options={"video_size": "640x480", "framerate": "15"}
            )
        except (av.FFmpegError, OSError) as exc:
            if device:  # asked for by name: say why it is not used
                raise RuntimeError(f"camera {path} cannot be opened: {exc}") from exc
        else:
            if player.video is not None:
                return _PlayerTrack(player), path
    return TestPatternTrack(), "test pattern"


__all__ = ["OwnFrames", "TestPatternTrack", "open_camera"]
