"""Announcements a later evaluation can check and repair: a stream entry with its marker.

PostgreSQL holds the truth and commits first; a stream then tells the backend. Each entry
goes on the stream in one Redis transaction with a marker, a key naming what was announced,
so the marker is there exactly when the entry is. A crash or a Redis outage between the
commit and the XADD leaves the marker missing (or naming an older state): whoever reads
the row next sees it and announces again. If Redis lost the marker it lost the stream
entry too, so a repeat is then harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from sst_core.const import STREAM_MAXLEN
from sst_core.messages import StreamFields

ANNOUNCED_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Marked:
    """A stream entry and the marker that says it was made."""

    fields: StreamFields
    marker_key: str
    marker: bytes = b"1"


async def announce_marked(redis: Redis, stream: str, entries: Sequence[Marked]) -> None:
    """Put the entries on `stream` in order and set their markers, all or none."""
    if not entries:
        return
    async with redis.pipeline(transaction=True) as pipe:
        for entry in entries:
            pipe.xadd(stream, entry.fields, maxlen=STREAM_MAXLEN, approximate=True)
            pipe.set(entry.marker_key, entry.marker, ex=ANNOUNCED_TTL_S)
        await pipe.execute()


async def markers(
    redis: Redis, keys: Sequence[str], *, renew: bool = False
) -> list[bytes | str | None]:
    """The markers under `keys`, None where missing; `renew` restarts their time to live.

    A marker read at every evaluation is renewed, so that a state unchanged for longer than
    the time to live is not announced again; markers of what is gone expire.
    """
    if not keys:
        return []
    if not renew:
        return list(await redis.mget(keys))
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.getex(key, ex=ANNOUNCED_TTL_S)
        return list(await pipe.execute())
