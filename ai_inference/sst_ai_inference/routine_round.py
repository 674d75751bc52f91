"""A routine scoring round shared by every inference process: one plan, chunks claimed one
at a time.

The first process to see a round (a slot of `routine_interval_s`) writes its plan to Redis
(ROUND_KEY, SET NX): every resident id, sorted, and the chunk size, so every process cuts
the same chunks even if a resident was added between their reads or their settings differ.
Each process then claims chunks in order with SET NX on CHUNK_KEY and scores the chunks it
wins, so N processes share a round as fast as each goes and a chunk is scored once. A
process marks each chunk it finished (scored, or failed and logged) in FINISHED_KEY; a
replay's driven clock waits for all of them before it says the round is done.

Every key expires after two intervals. A process that dies holding a claim leaves its chunk
unscored for that round (nobody else may take it: that is what makes a chunk scored at most
once); the next round scores those residents as usual.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import orjson
from redis.asyncio import Redis

log = logging.getLogger("sst.inference.routine")

ROUND_KEY = "sst:routine:round:{slot}"  # the round's plan: {"size": n, "residents": [...]}
CHUNK_KEY = "sst:routine:round:{slot}:chunk:{index}"  # who claimed the chunk
FINISHED_KEY = "sst:routine:round:{slot}:finished"  # set of the chunk indexes finished
WAIT_POLL_S = 0.02


class SharedRound:
    """One slot's round as seen by one process: its plan, its claims, what is finished."""

    def __init__(self, redis: Redis, *, slot: int, interval: float, owner: str) -> None:
        self.redis = redis
        self.slot = slot
        self.owner = owner
        self.expiry_s = max(1, int(interval * 2))

    async def plan(
        self, residents: Callable[[], Awaitable[list[int]]], chunk_size: int
    ) -> list[list[int]] | None:
        """The round's chunks: this process's plan if it is the first, else the first's.

        None: the plan kept in Redis is unreadable (logged; the round is left alone).
        """
        key = ROUND_KEY.format(slot=self.slot)
        raw = await self.redis.get(key)
        if raw is None:
            mine = orjson.dumps({"size": chunk_size, "residents": sorted(await residents())})
            if await self.redis.set(key, mine, nx=True, ex=self.expiry_s):
                raw = mine
            else:
                raw = await self.redis.get(key)
        try:
            doc = orjson.loads(raw or b"")
            size, ids = int(doc["size"]), [int(rid) for rid in doc["residents"]]
            if size < 1:
                raise ValueError(f"chunk size {size}")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            log.error("routine round %s: unreadable plan %r (%r); not taking part", key, raw, exc)
            return None
        return [ids[i : i + size] for i in range(0, len(ids), size)]

    async def claim(self, index: int) -> bool:
        """Whether this process won chunk `index` (nobody else will score it this round)."""
        key = CHUNK_KEY.format(slot=self.slot, index=index)
        return bool(await self.redis.set(key, self.owner, nx=True, ex=self.expiry_s))

    async def finish(self, index: int) -> None:
        """Say chunk `index` is finished (scored, or failed and logged)."""
        key = FINISHED_KEY.format(slot=self.slot)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, index)
            pipe.expire(key, self.expiry_s)
            await pipe.execute()

    async def finished(self) -> int:
        """How many chunks of the round are finished, by any process."""
        return int(await self.redis.scard(FINISHED_KEY.format(slot=self.slot)))

    async def wait_all(self, chunks: int) -> bool:
        """Wait until every chunk is finished; False if a claim expired first (its process
        died: that chunk will never be)."""
        deadline = time.monotonic() + self.expiry_s
        while await self.finished() < chunks:
            if time.monotonic() >= deadline:
                log.warning(
                    "routine round %s: %d of %d chunks finished after %d s; going on",
                    self.slot,
                    await self.finished(),
                    chunks,
                    self.expiry_s,
                )
                return False
            await asyncio.sleep(WAIT_POLL_S)
        return True
