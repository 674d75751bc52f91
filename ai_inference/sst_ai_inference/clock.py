"""The time inference judges at: the wall clock, or a clock a replay drives (bench, tests).

The windowed rules and the routine rounds ask what time it is; in production that is the
wall clock. `SST_INFERENCE_CLOCK_KEY` (for `bench/detect.py` and the tests only, never in a
deployment) names a Redis stream on which a replay appends times (`{"ms": epoch ms}`):
inference then judges at exactly those times and appends the last time it finished to
`<key>:windowed` and `<key>:routine`, so the replay moves the clock on only once every
reading up to it is stored and every judgement up to it is made. The windowed rules judge
at the newest time appended, catching up over the span since their last judgement every
`windowed_every_s` as after a restart (detector.instants); the routine scorer makes one
round at each time appended, in order. Driven, the
clock neither runs by itself nor depends on how fast the machine is: a replay gives the
same alerts on a busy machine as on a quiet one. Until a time is appended, a driven
inference judges nothing. Readings still arrive through MQTT, the gateway and the streams as
in production; the instant rules act on each reading as it arrives, at the reading's time.

Streams, not a key polled: a blocking XREAD wakes each loop the moment the replay moves the
clock, and costs nothing while it does not (a replay makes thousands of steps).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

WINDOWED_PART = "windowed"
ROUTINE_PART = "routine"
KEEP = 100  # entries kept on each clock stream: only the newest matters


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return int(moment.timestamp() * 1000)


def from_fields(fields: dict[bytes, bytes]) -> datetime:
    """The time of one clock stream entry."""
    return datetime.fromtimestamp(int(fields[b"ms"]) / 1000, tz=UTC)


class DrivenClock:
    """The times a replay appends on a Redis stream, and where inference says it judged."""

    def __init__(self, redis: Redis, key: str, block_s: float) -> None:
        self.redis = redis
        self.key = key
        self.block_s = block_s

    async def read(self, after: bytes) -> list[tuple[bytes, datetime]]:
        """Every time appended after entry `after` (b"0": all), in order, waiting up to
        block_s for one; empty when none came.

        The windowed rules judge only the newest (they catch up over the span themselves);
        the routine scorer makes a round at each.
        """
        reply: Any = await self.redis.xread({self.key: after}, block=int(self.block_s * 1000))
        if not reply:
            return []
        return [(entry_id, from_fields(fields)) for entry_id, fields in reply[0][1]]

    async def done(self, part: str, moment: datetime) -> None:
        """Say that `part` (windowed, routine) has judged everything due at `moment`."""
        await self.redis.xadd(
            f"{self.key}:{part}", {"ms": to_ms(moment)}, maxlen=KEEP, approximate=True
        )
