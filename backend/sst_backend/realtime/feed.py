"""Publishing on the live feed: number the event in the log, then send it to its rooms.

Anything in the backend (and the video module) publishes through `LiveFeed.publish`; a
process without a Socket.IO server of its own builds a LiveFeed on a write-only Redis
manager (`write_only_feed`) and its events still get ids, catch-up and room checks.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import socketio
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.realtime import log as event_log
from sst_backend.realtime.events import LOGGED_EVENTS, VIDEO_SESSION_EVENT, Audience, Target
from sst_backend.realtime.log import NewEvent
from sst_backend.realtime.managers import WriteOnlyRedisManager
from sst_backend.realtime.rooms import rooms_of
from sst_core.const import socketio_channel

log = logging.getLogger("sst.backend.feed")

# emit(event, data, rooms): the Socket.IO server's, or a write-only manager's.
Emit = Callable[[str, dict[str, Any], list[str]], Awaitable[None]]


class LiveFeed:
    """The one way events reach dashboards: logged with an id, then emitted to rooms."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], emit: Emit) -> None:
        self._sessionmaker = sessionmaker
        self._emit = emit

    async def publish(
        self,
        event: str,
        payload: dict[str, Any],
        target: Target,
        *,
        coalesce_key: str | None = None,
        source: str | None = None,
    ) -> int | None:
        """Log and send one event; its event id (None: sent, but the log was unavailable)."""
        item = NewEvent(event, payload, target, coalesce_key=coalesce_key, source=source)
        return (await self.publish_many([item]))[0]

    async def publish_many(
        self, items: Sequence[NewEvent], *, wanted: Callable[[Target], bool] | None = None
    ) -> list[int | None]:
        """Log events in one transaction, then send each (in id order); their ids.

        `wanted` may say that nobody follows an event's target: it is logged, not sent.
        """
        if not items:
            return []
        for item in items:
            if item.event not in LOGGED_EVENTS:
                raise ValueError(f"{item.event!r} is not a live-feed event")
        try:
            async with self._sessionmaker() as session, session.begin():
                ids: list[int | None] = list(await event_log.append(session, items))
        except (SQLAlchemyError, OSError) as exc:
            # A carer must still see a fall while PostgreSQL is away: sent without an id,
            # such an event cannot be caught up later (clients are told by event_id null).
            log.error(
                "live-event log unavailable (%r); sending %d events unlogged", exc, len(items)
            )
            ids = [None] * len(items)
        for event_id, item in zip(ids, items, strict=True):
            if wanted is not None and not wanted(item.target):
                continue
            await self._emit(
                item.event, {"event_id": event_id, **item.payload}, rooms_of(item.target)
            )
        return ids

    async def video_session(
        self, *, facility_id: int, resident_id: int, home_id: int | None, state: dict[str, Any]
    ) -> int | None:
        """The hook of emergency video: a session's state, to staff following the resident."""
        target = Target(facility_id, resident_id, home_id, Audience.STAFF)
        return await self.publish(VIDEO_SESSION_EVENT, state, target)


def server_emit(sio: socketio.AsyncServer) -> Emit:
    """Emit through the backend's own Socket.IO server (and so its Redis manager)."""

    async def emit(event: str, data: dict[str, Any], rooms: list[str]) -> None:
        await sio.emit(event, data, to=rooms)

    return emit


def write_only_feed(
    redis_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> tuple[LiveFeed, socketio.AsyncRedisManager]:
    """A feed for a process that serves no sockets: events go out through Redis only."""
    manager = WriteOnlyRedisManager(redis_url, channel=socketio_channel(redis_url))

    async def emit(event: str, data: dict[str, Any], rooms: list[str]) -> None:
        await manager.emit(event, data, namespace="/", room=rooms)

    return LiveFeed(sessionmaker, emit), manager
