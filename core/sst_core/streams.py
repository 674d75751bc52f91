"""Consuming a Redis stream in a consumer group so that a restart resumes where it stopped.

An entry is acknowledged only after its handler returned; a consumer that died leaves its
entries pending, and the next start (or another consumer, after `claim_idle_ms`) takes
them over. Handlers must therefore be idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from sst_core.const import database_channel

log = logging.getLogger("sst.streams")


def channel(redis: Redis, base: str) -> str:
    """The pub/sub channel `base` of the database this client uses (see database_channel)."""
    return database_channel(base, redis.connection_pool.connection_kwargs.get("db", 0))


Entry = tuple[bytes, dict[bytes, bytes]]
Handler = Callable[[list[Entry]], Awaitable[None]]


async def ensure_group(redis: Redis, stream: str, group: str) -> None:
    """Create the consumer group (and the stream) if they do not exist yet."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def consume(
    redis: Redis,
    *,
    stream: str,
    group: str,
    consumer: str,
    handler: Handler,
    stop: asyncio.Event,
    count: int = 500,
    block_ms: int = 200,
    claim_idle_ms: int = 30_000,
) -> None:
    """Feed batches of entries to `handler` until `stop` is set; ack after each batch."""
    await ensure_group(redis, stream, group)
    backlog = True  # first our own pending entries (id 0), then new ones (>)
    last_claim = 0.0
    while not stop.is_set():
        try:
            loop_time = asyncio.get_running_loop().time()
            if loop_time - last_claim > claim_idle_ms / 1000:
                last_claim = loop_time
                await _claim_abandoned(redis, stream, group, consumer, claim_idle_ms, handler)
            reply = await redis.xreadgroup(
                group, consumer, {stream: "0" if backlog else ">"}, count=count, block=block_ms
            )
        except (RedisConnectionError, OSError) as exc:
            log.warning("redis unavailable on %s: %s; retrying", stream, exc)
            await asyncio.sleep(1.0)
            continue
        except ResponseError as exc:
            # Redis lost its data (a restart without persistence), or the stream was deleted
            # while we waited on it (UNBLOCKED): make the group again and go on.
            if "NOGROUP" in str(exc) or "UNBLOCKED" in str(exc):
                log.warning(
                    "stream %s or its group %s vanished (%s); recreating", stream, group, exc
                )
                await ensure_group(redis, stream, group)
                continue
            raise
        entries: list[Entry] = reply[0][1] if reply else []  # type: ignore[index,assignment]
        if backlog and not entries:
            backlog = False
            continue
        if not entries:
            continue
        await handler(entries)
        await redis.xack(stream, group, *[entry_id for entry_id, _ in entries])


async def _claim_abandoned(
    redis: Redis, stream: str, group: str, consumer: str, idle_ms: int, handler: Handler
) -> None:
    """Take over entries another consumer read but never acknowledged (it died)."""
    start = "0-0"
    while True:
        reply = await redis.xautoclaim(stream, group, consumer, idle_ms, start, count=500)
        start, entries = reply[0], reply[1]
        entries = [e for e in entries if e[1] is not None]
        if entries:
            await handler(entries)
            await redis.xack(stream, group, *[entry_id for entry_id, _ in entries])
        if start in (b"0-0", "0-0"):
            return
