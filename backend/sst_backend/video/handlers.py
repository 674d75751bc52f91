"""Socket.IO handlers of video signaling (registered by realtime.server.register_handlers)."""

from __future__ import annotations

import logging
from typing import Any

import socketio

from sst_backend.video.runtime import runtime_of
from sst_core.const import (
    VIDEO_CANDIDATE_EVENT,
    VIDEO_ERROR_EVENT,
    VIDEO_HANGUP_EVENT,
    VIDEO_OFFER_EVENT,
)

log = logging.getLogger("sst.backend.video")


def register_video_handlers(sio: socketio.AsyncServer) -> None:
    """Relay the viewers' signaling; end their sessions when their socket closes."""

    def relay(event: str) -> Any:
        async def handler(sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
            runtime = runtime_of(sio)
            if runtime is None:
                error = {"session_id": None, "code": "video_unavailable", "message": "No video."}
                await sio.emit(VIDEO_ERROR_EVENT, error, to=sid)
                return {"ok": False, "error": error}
            # Extra arguments make the event malformed, as a non-object payload does.
            return await runtime.on_viewer(sid, event, [data, *extra] if extra else data)

        return handler

    for event in (VIDEO_OFFER_EVENT, VIDEO_CANDIDATE_EVENT, VIDEO_HANGUP_EVENT):
        sio.on(event, handler=relay(event))

    # One disconnect handler per server: wrap the live feed's, then end this socket's calls.
    previous = sio.handlers.get("/", {}).get("disconnect")

    async def disconnect(sid: str, *args: Any) -> None:
        try:
            if previous is not None:
                await previous(sid, *args)
        finally:
            runtime = runtime_of(sio)
            if runtime is not None:
                await runtime.on_disconnect(sid)

    sio.on("disconnect", handler=disconnect)
