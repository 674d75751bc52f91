"""Reading the platform's Redis streams for the live feed, in groups shared by instances."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from contextlib import suppress

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from sst_core.streams import Handler, consume

log = logging.getLogger("sst.backend.streams")


def consumer_name() -> str:
    """This backend instance's name in the consumer groups."""
    return f"{socket.gethostname()}-{os.getpid()}"


async def start_group_at_end(redis: Redis, stream: str, group: str, *, skip_backlog: bool) -> None:
    """Create the group at the stream's end (history is not news); optionally skip a backlog."""
    try:
        await redis.xgroup_create(stream, group, id="$", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
        if skip_backlog:
            await redis.xgroup_setid(stream, group, id="$")


async def follow_stream(
    redis: Redis,
    *,
    stream: str,
    group: str,
    handler: Handler,
    stop: asyncio.Event,
    new_group_at_end: bool = True,
    skip_backlog: bool = False,
    count: int = 200,
    block_ms: int = 100,
) -> None:
    """Feed a stream's entries to `handler` until `stop`, surviving Redis going away."""
    consumer = consumer_name()
    while not stop.is_set():
        try:
            if new_group_at_end:
                await start_group_at_end(redis, stream, group, skip_backlog=skip_backlog)
                new_group_at_end = skip_backlog = False
            await consume(
                redis,
                stream=stream,
                group=group,
                consumer=consumer,
                handler=handler,
                stop=stop,
                count=count,
                block_ms=block_ms,
            )
        except (RedisError, OSError) as exc:
            log.warning("%s: %r; reading again in 1 s", stream, exc)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
        except Exception:  # e.g. PostgreSQL away: the entries stay pending and come again
            log.exception("%s: handling failed; reading again in 1 s", stream)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
