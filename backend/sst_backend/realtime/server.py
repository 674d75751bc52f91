"""The Socket.IO server: a token is checked at connect and on every join; rooms follow access."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import socketio
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.realtime import eio_poll
from sst_backend.realtime.catchup import CatchUp, Healer
from sst_backend.realtime.events import (
    FEED_ERROR_EVENT,
    JOIN_ACTION,
    LEAVE_ACTION,
    RESUME_ACTION,
)
from sst_backend.realtime.following import FeedRefusal, Follower
from sst_backend.realtime.guard import ReplayGuard
from sst_backend.realtime.managers import GuardedManager, GuardedRedisManager
from sst_backend.realtime.newest_state import send_newest_state
from sst_backend.settings import BackendSettings
from sst_backend.video.handlers import register_video_handlers
from sst_core.const import socketio_channel

log = logging.getLogger("sst.backend.realtime")


def make_server(settings: BackendSettings) -> socketio.AsyncServer:
    """A Socket.IO server sharing its rooms with other backend instances through Redis."""
    eio_poll.install()
    guard = ReplayGuard()
    manager: socketio.AsyncManager = (
        GuardedRedisManager(
            settings.redis_url, channel=socketio_channel(settings.redis_url), guard=guard
        )
        if settings.socketio_redis
        else GuardedManager(guard=guard)
    )
    return socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        cors_allowed_origins=settings.cors_origins,
        logger=False,
        engineio_logger=False,
    )


def replay_guard(sio: socketio.AsyncServer) -> ReplayGuard:
    """The replay guard of the server's manager."""
    guard = getattr(sio.manager, "guard", None)
    assert isinstance(guard, ReplayGuard)
    return guard


async def refuse_action(
    sio: socketio.AsyncServer, sid: str, *, action: str, refusal: FeedRefusal
) -> dict[str, Any]:
    """Tell the client why its action was refused (an event and the ack), and log it."""
    error = {"action": action, "code": refusal.code, "message": refusal.message}
    log.warning("socket %s: %s refused: %s (%s)", sid, action, refusal.code, refusal.message)
    await sio.emit(FEED_ERROR_EVENT, error, to=sid)
    return {"ok": False, "error": error}


def register_handlers(
    sio: socketio.AsyncServer,
    settings: BackendSettings,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
) -> Follower:
    """Authenticate at connect, join and leave rooms on request, catch up after a reconnect."""
    follower = Follower(sio, settings, sessionmaker, redis)
    catch_up = CatchUp(sio, sessionmaker, redis, replay_guard(sio), settings)
    if isinstance(sio.manager, GuardedRedisManager):
        sio.manager.healer = Healer(catch_up, sio.manager.note_delivered)

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            resume_after = await follower.connect(sid, auth, before_rooms=replay_guard(sio).begin)
        except FeedRefusal as refusal:
            raise socketio.exceptions.ConnectionRefusedError(
                f"unauthorized: {refusal.message}"
            ) from refusal
        if resume_after is not None:
            # After the connect handshake, so the replay is the first thing the client reads.
            sio.start_background_task(catch_up.run, sid, resume_after)
        else:
            # A fresh page: the newest state of what it follows now, not at the next reading.
            sio.start_background_task(newest_state_of_rooms, sid)

    async def newest_state_of_rooms(sid: str) -> None:
        saved = await sio.get_session(sid)
        if not saved.get("staff"):
            return  # sensor state is for care staff only
        facility_id = saved["facility_id"] if saved.get("whole_facility") else None
        await send_newest_state(
            sio,
            sessionmaker,
            redis,
            sid,
            resident_ids=saved.get("residents", ()),
            facility_id=facility_id,
        )

    @sio.event
    async def disconnect(sid: str, *args: Any) -> None:
        replay_guard(sio).forget(sid)
        await follower.disconnect(sid)

    @sio.on(JOIN_ACTION)
    async def join(sid: str, data: Any = None) -> dict[str, Any]:
        try:
            ack = await follower.join(sid, data)
        except FeedRefusal as refusal:
            return await refuse_action(sio, sid, action=JOIN_ACTION, refusal=refusal)
        if (await sio.get_session(sid)).get("staff"):
            # Before the acknowledgement: the page has the newest state once its join is done.
            await send_newest_state(
                sio,
                sessionmaker,
                redis,
                sid,
                # follower.join took exactly one of the two, checked, from `data`.
                resident_ids=[r] if (r := data.get("resident_id")) is not None else [],
                facility_id=data.get("facility_id"),
            )
        return ack

    @sio.on(LEAVE_ACTION)
    async def leave(sid: str, data: Any = None) -> dict[str, Any]:
        try:
            return await follower.leave(sid, data)
        except FeedRefusal as refusal:
            return await refuse_action(sio, sid, action=LEAVE_ACTION, refusal=refusal)

    @sio.on(RESUME_ACTION)
    async def resume(sid: str, data: Any = None) -> dict[str, Any]:
        after = data.get("last_event_id") if isinstance(data, dict) else None
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            refusal = FeedRefusal("bad_request", "resume needs {last_event_id: integer >= 0}.")
            return await refuse_action(sio, sid, action=RESUME_ACTION, refusal=refusal)
        replay_guard(sio).begin(sid)  # live events from now on wait for the replay
        sio.start_background_task(catch_up.run, sid, after)
        return {"ok": True}

    @sio.on("*")
    async def unknown(event: str, sid: str, data: Any = None) -> dict[str, Any]:
        refusal = FeedRefusal("unknown_action", f"There is no action {event[:64]!r}.")
        return await refuse_action(sio, sid, action=str(event)[:64], refusal=refusal)

    register_video_handlers(sio)  # video signaling events (backend/sst_backend/video)
    return follower


async def close_server(sio: socketio.AsyncServer) -> None:
    """Stop Socket.IO's background work, including the Redis manager's listener."""
    await sio.shutdown()
    manager = sio.manager
    if isinstance(manager, GuardedRedisManager):
        await manager.close()
    listener = getattr(manager, "thread", None)
    if isinstance(listener, asyncio.Task) and not listener.done():
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
    pubsub = getattr(manager, "pubsub", None)
    if pubsub is not None:
        await pubsub.aclose()
    redis = getattr(manager, "redis", None)
    if redis is not None:
        with contextlib.suppress(RedisError):
            await redis.aclose()
