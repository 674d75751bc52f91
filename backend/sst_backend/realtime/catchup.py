"""Catch-up after a reconnect: what a socket missed since its last event id, from PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import socketio
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.realtime import log as event_log
from sst_backend.realtime.events import CAUGHT_UP_EVENT, FEED_ERROR_EVENT, RESUME_ACTION
from sst_backend.realtime.following import following_of
from sst_backend.realtime.guard import ReplayGuard
from sst_backend.settings import BackendSettings

log = logging.getLogger("sst.backend.catchup")

# The highest event id the retention deleted: a client behind it missed events for good.
PRUNED_THROUGH_KEY = "sst:live:pruned_through"


class CatchUp:
    """Replays the log to one socket while its live events wait (see guard.py)."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis,
        guard: ReplayGuard,
        settings: BackendSettings,
    ) -> None:
        self.sio, self.sessionmaker, self.redis, self.guard = sio, sessionmaker, redis, guard
        self.limit = settings.live_replay_limit

    async def _send(self, sid: str, event: str, data: dict[str, Any]) -> None:
        # Straight to this instance's socket: not through Redis, so not past the guard.
        await self.sio.manager.emit(event, data, namespace="/", room=sid, ignore_queue=True)

    async def run(
        self, sid: str, after: int, *, skip: Callable[[int], bool] | None = None
    ) -> list[int]:
        """Send `sid` what it may see after event `after`, in order, then `caught_up`.

        `skip(id)` leaves out events the socket already has (a heal: see managers.py).
        Returns the ids replayed.
        """
        self.guard.begin(sid)  # usually begun already, before the socket joined its rooms
        try:
            saved = await self.sio.get_session(sid)
        except KeyError:  # disconnected meanwhile
            saved = {}
        if "user_id" not in saved:
            self.guard.end(sid)
            return []
        newest, sent, complete = after, 0, True
        replayed: list[int] = []
        try:
            async with self.sessionmaker() as session:
                replay, complete = await event_log.missed(
                    session, following_of(saved), after=after, limit=self.limit
                )
            pruned = await self.redis.get(PRUNED_THROUGH_KEY)
            if pruned is not None and int(pruned) > after:
                complete = False  # some of what it missed is past the retention period
            for event_id, event, payload in replay:
                if skip is not None and skip(event_id):
                    newest = max(newest, event_id)
                    continue
                self.guard.replayed(sid, event_id)
                replayed.append(event_id)
                await self._send(sid, event, {"event_id": event_id, **payload, "replayed": True})
                newest, sent = max(newest, event_id), sent + 1
        except (SQLAlchemyError, RedisError, OSError) as exc:
            log.error("catch-up of socket %s after %s failed: %r", sid, after, exc)
            error = {
                "action": RESUME_ACTION,
                "code": "unavailable",
                "message": "What you missed cannot be read now; reload the page.",
            }
            await self._send(sid, FEED_ERROR_EVENT, error)
            complete = False
        finally:
            held = self.guard.end(sid)
        for event, data in held:
            await self._send(sid, event, data)
            held_id = data.get("event_id") if isinstance(data, dict) else None
            if isinstance(held_id, int):
                newest = max(newest, held_id)
        summary = {"last_event_id": newest, "replayed": sent, "complete": complete}
        await self._send(sid, CAUGHT_UP_EVENT, summary)
        log.info("socket %s caught up after %s: %s", sid, after, summary)
        return replayed


# Events logged this long before a gap began are replayed too (an emitter that committed
# just before the gap may have emitted into it); what was delivered live is left out.
HEAL_MARGIN_S = 10.0
# Sockets replayed at once during a heal (each is one query of the log).
HEAL_CONCURRENCY = 16
HEAL_RETRY_S = (0.5, 10.0)
HEAL_GIVE_UP_S = 300.0


class Healer:
    """Heals a Redis pub/sub gap: each of this instance's sockets gets what it missed."""

    def __init__(self, catch_up: CatchUp, note_delivered: Callable[[int], None]) -> None:
        self.catch_up = catch_up
        self.note_delivered = note_delivered

    async def __call__(self, since: float, delivered: Callable[[int], bool]) -> None:
        after = await self._start_id(since)
        if after is None:
            return
        sio = self.catch_up.sio
        sids = [sid for sid, _ in sio.manager.get_participants("/", None)]
        limit = asyncio.Semaphore(HEAL_CONCURRENCY)

        async def one(sid: str) -> list[int]:
            async with limit:
                return await self.catch_up.run(sid, after, skip=delivered)

        results = await asyncio.gather(*(one(sid) for sid in sids), return_exceptions=True)
        healed: set[int] = set()
        for sid, result in zip(sids, results, strict=True):
            if isinstance(result, BaseException):
                log.error("heal of socket %s failed: %r", sid, result)
            else:
                healed.update(result)
        for event_id in sorted(healed):
            self.note_delivered(event_id)  # a later heal must not send them again
        log.warning(
            "live feed healed after a Redis gap since %s: %d sockets, %d events replayed",
            datetime.fromtimestamp(since, UTC).isoformat(timespec="seconds"),
            len(sids),
            len(healed),
        )

    async def _start_id(self, since: float) -> int | None:
        """The event id to replay after, read while PostgreSQL may still be away."""
        before = datetime.fromtimestamp(since - HEAL_MARGIN_S, UTC)
        delay, deadline = HEAL_RETRY_S[0], time.monotonic() + HEAL_GIVE_UP_S
        while True:
            try:
                async with self.catch_up.sessionmaker() as session:
                    return await event_log.newest_before(session, before)
            except (SQLAlchemyError, OSError) as exc:
                if time.monotonic() > deadline:
                    log.error("live feed gap since %s not healed: %r", before.isoformat(), exc)
                    return None
                await asyncio.sleep(delay)
                delay = min(delay * 2, HEAL_RETRY_S[1])
