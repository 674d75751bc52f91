"""Retention of the live-event log: events older than the period are deleted."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.realtime import log as event_log
from sst_backend.realtime.catchup import PRUNED_THROUGH_KEY

log = logging.getLogger("sst.backend.retention")

# A state a newer one replaced is kept this long (a catch-up in flight may still read it).
_SUPERSEDED_AFTER_S = 30.0

# Keep the highest pruned id (the key only grows, whichever instance prunes).
_RAISE = "local v = tonumber(redis.call('GET', KEYS[1]) or '0') if tonumber(ARGV[1]) > v then redis.call('SET', KEYS[1], ARGV[1]) end return 1"  # noqa: E501


async def prune_once(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, *, retention_s: float
) -> int:
    """Delete superseded states, and every event older than the retention period; how many."""
    now = datetime.now(UTC)
    before = now - timedelta(seconds=retention_s)
    total = 0
    while True:  # superseded states first: a catch-up never sends them (no watermark)
        async with sessionmaker() as session, session.begin():
            count = await event_log.prune_superseded(
                session, before=now - timedelta(seconds=_SUPERSEDED_AFTER_S)
            )
        total += count
        if count == 0:
            break
    while True:
        async with sessionmaker() as session, session.begin():
            count, highest = await event_log.prune(session, before=before)
        if highest:
            await redis.eval(_RAISE, 1, PRUNED_THROUGH_KEY, highest)
        total += count
        if count == 0:
            return total


async def run_retention(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    stop: asyncio.Event,
    *,
    retention_s: float,
    interval_s: float,
) -> None:
    """Prune the log every `interval_s` until `stop`."""
    while not stop.is_set():
        try:
            pruned = await prune_once(sessionmaker, redis, retention_s=retention_s)
            if pruned:
                log.info("deleted %d live events older than %.0f s", pruned, retention_s)
        except (SQLAlchemyError, RedisError, OSError) as exc:
            log.warning("live-event retention failed: %r; next try in an interval", exc)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
