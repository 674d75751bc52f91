"""Which residents and facilities someone follows right now, over every backend instance.

Sensor state is the feed's firehose (every resident with news, several times a second);
most of it concerns residents nobody is looking at. Each instance writes the resident and
facility rooms its own sockets are in to a Redis hash every second, and reads everyone's:
a state for a resident nobody follows is logged (for catch-up) but not emitted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress

import orjson
import socketio
from redis.asyncio import Redis
from redis.exceptions import RedisError

from sst_backend.realtime.events import Target
from sst_backend.realtime.rooms import resident_staff_room
from sst_backend.realtime.streams import consumer_name
from sst_core.const import facility_room

log = logging.getLogger("sst.backend.followed")

_KEY = "sst:live:followed"
_STALE_S = 5.0  # an instance that stopped writing for this long follows nothing


class Followed:
    """The union of what every instance's sockets follow, refreshed every `every_s`."""

    def __init__(self, sio: socketio.AsyncServer, redis: Redis, *, every_s: float = 1.0) -> None:
        self.sio, self.redis, self.every_s = sio, redis, every_s
        # The longest an instance takes to learn of a socket that joined on another: that
        # one's refresh, then its own (and the round trips).
        self.lag_s = 2 * every_s + 0.5
        self.instance = consumer_name()
        self.residents: set[int] = set()
        self.facilities: set[int] = set()
        self.known = False  # until the first refresh, everything counts as followed
        # Followed since the last take_new(): their newest state is sent again, since what
        # was logged before anyone followed them was not emitted.
        self._new_residents: set[int] = set()
        self._new_facilities: set[int] = set()

    def wants(self, target: Target) -> bool:
        """Whether anyone may be following what `target` is about."""
        if not self.known:
            return True
        if target.facility_id in self.facilities or target.resident_id in self.residents:
            return True
        # A socket of this instance that joined since the last refresh follows it already.
        rooms = self.sio.manager.rooms.get("/", {})
        if rooms.get(facility_room(target.facility_id)):
            return True
        return target.resident_id is not None and bool(
            rooms.get(resident_staff_room(target.resident_id))
        )

    def take_new(self) -> tuple[set[int], set[int]]:
        """Residents and facilities someone began to follow since the last call."""
        new = (self._new_residents, self._new_facilities)
        self._new_residents, self._new_facilities = set(), set()
        return new

    def local(self) -> tuple[list[int], list[int]]:
        """Residents (staff rooms) and facilities this instance's sockets are in."""
        residents, facilities = [], []
        for room, members in list(self.sio.manager.rooms.get("/", {}).items()):
            if not isinstance(room, str) or not members:
                continue
            kind, _, rest = room.partition(":")
            if kind == "resident" and rest.endswith(":staff"):
                residents.append(int(rest.removesuffix(":staff")))
            elif kind == "facility":
                facilities.append(int(rest))
        return residents, facilities

    async def refresh(self) -> None:
        """Publish ours, read everyone's."""
        residents, facilities = self.local()
        now = time.time()
        mine = orjson.dumps({"r": residents, "f": facilities, "t": now})
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(_KEY, self.instance, mine)
            pipe.hgetall(_KEY)
            _, everyone = await pipe.execute()
        union_r: set[int] = set()
        union_f: set[int] = set()
        stale = []
        for instance, raw in everyone.items():
            entry = orjson.loads(raw)
            if now - float(entry["t"]) > _STALE_S:
                stale.append(instance)
                continue
            union_r.update(entry["r"])
            union_f.update(entry["f"])
        if stale:
            await self.redis.hdel(_KEY, *stale)
        if self.known:
            self._new_residents |= union_r - self.residents
            self._new_facilities |= union_f - self.facilities
        self.residents, self.facilities, self.known = union_r, union_f, True

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh until `stop`; then say this instance follows nothing."""
        while not stop.is_set():
            try:
                await self.refresh()
            except (RedisError, OSError, ValueError, KeyError) as exc:
                self.known = False  # unsure: emit everything rather than miss a follower
                log.warning("followed rooms not refreshed: %r", exc)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every_s)
        with suppress(RedisError, OSError):
            await self.redis.hdel(_KEY, self.instance)
