"""sst_core.streams.consume: a consumer survives its stream vanishing under it."""

from __future__ import annotations

import asyncio
import uuid

from redis.asyncio import Redis

from sst_core.const import socketio_channel
from sst_core.streams import Entry, channel, consume


async def test_a_stream_deleted_while_the_consumer_waits_is_recreated_and_read_on(
    redis: Redis,
) -> None:
    stream = f"sst:test:stream:{uuid.uuid4().hex[:8]}"
    seen: list[bytes] = []

    async def handler(entries: list[Entry]) -> None:
        seen.extend(fields[b"n"] for _, fields in entries)

    stop = asyncio.Event()
    task = asyncio.create_task(
        consume(
            redis, stream=stream, group="g", consumer="c", handler=handler, stop=stop, block_ms=2000
        )
    )
    try:
        await redis.xadd(stream, {"n": "1"})
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # the consumer is blocked in XREADGROUP now
        await redis.delete(stream)  # wakes it with UNBLOCKED (a FLUSHDB does the same)
        await asyncio.sleep(0.3)
        assert not task.done(), task.exception() if task.done() else None
        await redis.xadd(stream, {"n": "2"})
        for _ in range(100):
            if len(seen) == 2:
                break
            await asyncio.sleep(0.05)
        assert seen == [b"1", b"2"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await redis.delete(stream)


async def test_channels_carry_the_database_their_deployment_uses() -> None:
    """Pub/sub channels are shared by every database of a Redis server."""
    first = Redis.from_url("redis://127.0.0.1:6379/3")
    second = Redis.from_url("redis://127.0.0.1:6379/4")
    try:
        assert channel(first, "sst:x") == "sst:x:3"
        assert channel(second, "sst:x") == "sst:x:4"
        assert channel(Redis.from_url("redis://127.0.0.1:6379"), "sst:x") == "sst:x:0"
    finally:
        await first.aclose()
        await second.aclose()
    assert socketio_channel("redis://127.0.0.1:6379/3") == "sst-socketio:3"
