"""Live sensor state per resident: every reading folded in, at most a few updates a second.

Backend instances share the readings stream in one consumer group, so each folds only a
part of it. The state itself is therefore kept in Redis, one hash per resident (sensor ->
newest reading, a late older reading never overwrites a newer one), and an update always
carries the whole newest state of the resident's rooms, whichever instance folded what.
Every `interval_s` an instance publishes one `sensor_state` event for each resident it saw
news of, if it takes the resident's slot (a key that lives `interval_s`, so across all
instances a resident gets at most one update per interval; an instance that misses the
slot tries again next tick, and its news is in the next update anyway). On catch-up only
a resident's newest state is replayed (the events share a coalesce key). States of
residents nobody follows at the moment are logged (at most every 5 s) but not emitted
(followed.py); a socket of this instance that joined since the followed rooms were last
refreshed counts at once. A socket that begins to follow a resident gets their newest state
from its own instance at once (newest_state.py); a state logged unfollowed just before an
instance learned of the new follower is sent again on its next tick.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress
from typing import Any, NamedTuple

import orjson
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.realtime.events import SENSOR_STATE_EVENT, Audience, Target
from sst_backend.realtime.feed import LiveFeed
from sst_backend.realtime.followed import Followed
from sst_backend.realtime.log import NewEvent
from sst_backend.realtime.streams import follow_stream
from sst_core.const import READINGS_STREAM
from sst_core.streams import Entry

log = logging.getLogger("sst.backend.sensor_state")

LIVE_GROUP = "backend-live"
_DIRECTORY_SQL = """
    SELECT s.id AS sensor_id, s.kind, s.room_id, rm.name AS room, h.home_id,
           hm.facility_id, r.id AS resident_id
    FROM sensors s
    JOIN hubs h ON h.id = s.hub_id
    JOIN homes hm ON hm.id = h.home_id
    LEFT JOIN rooms rm ON rm.id = s.room_id
    LEFT JOIN residents r ON r.home_id = h.home_id
"""
_DIRECTORY = text(_DIRECTORY_SQL)
# Sensors the directory did not know yet (provisioned since the last load), in one query.
_SENSORS = text(_DIRECTORY_SQL + " WHERE s.id = ANY(:ids)")
_REFRESH_S = 60.0
_LOAD_PARTITION = 1000
_IDLE_LOG_S = 5.0
_MISS_RETRY_S = 5.0


class _Place(NamedTuple):
    """Where a sensor is (a tuple: the directory makes tens of thousands of them)."""

    kind: str
    room_id: int | None
    room: str | None
    home_id: int
    facility_id: int
    resident_id: int


# The state of one resident: sensor id -> "<ts>|<json [kind, room_id, room, value, ts]>".
STATE_KEY = "sst:live:state:{resident_id}"
# Rooms changed since the resident's last update (room ids; "-" for a sensor without room).
CHANGED_KEY = "sst:live:state-changed:{resident_id}"
# Held by the instance publishing the resident's next update, for one interval.
SLOT_KEY = "sst:live:state-slot:{resident_id}"
_STATE_TTL_S = 7 * 24 * 3600  # a resident whose home went silent a week ago: state forgotten
_NO_ROOM = "-"

# KEYS: for each resident, its state key then its changed-rooms key.
# ARGV: ttl, then for each resident: n, then n times (sensor, ts, room, payload).
# Returns, per resident, 1 if anything in its state changed.
_FOLD_LUA = """
local ttl = tonumber(ARGV[1])
local a = 2
local changed = {}
for i = 1, #KEYS, 2 do
  local state, rooms = KEYS[i], KEYS[i + 1]
  local n = tonumber(ARGV[a])
  a = a + 1
  local any = 0
  for _ = 1, n do
    local sensor, ts, room, payload = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3]
    a = a + 4
    local current = redis.call('HGET', state, sensor)
    local known = current and tonumber(string.match(current, '^(-?%d+)|'))
    if not known or known <= ts then
      redis.call('HSET', state, sensor, ts .. '|' .. payload)
      redis.call('SADD', rooms, room)
      any = 1
    end
  end
  if any == 1 then
    redis.call('EXPIRE', state, ttl)
    redis.call('EXPIRE', rooms, ttl)
  end
  changed[#changed + 1] = any
end
return changed
"""


class SensorStateFeed:
    """Folds readings into per-resident state (in Redis) and publishes it, throttled."""

    def __init__(
        self,
        feed: LiveFeed,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis,
        *,
        interval_s: float,
        followed: Followed | None = None,
    ) -> None:
        self.feed, self.sessionmaker, self.interval_s = feed, sessionmaker, interval_s
        self.redis = redis
        self.followed = followed
        self._fold_script = redis.register_script(_FOLD_LUA)
        self._places: dict[int, _Place | None] = {}
        self._unknown: dict[int, float] = {}  # sensor -> when the directory last lacked it
        # While the directory is read again: what _look_up found meanwhile.
        self._found_while_loading: dict[int, _Place | None] | None = None
        self._targets: dict[int, Target] = {}  # residents this instance has folded for
        self._dirty: set[int] = set()
        self._idle_at: dict[int, float] = {}  # resident -> when last logged unfollowed
        self.published = 0  # events, for tests and metrics
        self.directory_rows = 0  # rows read by the directory's current (or last) load

    async def _load(self) -> None:
        """Read the whole sensor directory again, without holding the event loop.

        Tens of thousands of rows: they are streamed and taken in partitions with a yield
        to the loop between them (in one go it stopped the backend for 0.1-0.4 s, alerts
        included). Sensors `_look_up` found meanwhile are kept if the new read lacks them.
        """
        self._found_while_loading = {}
        self.directory_rows = 0
        places: dict[int, _Place | None] = {}
        shared: dict[_Place, _Place] = {}  # one object per distinct place
        try:
            async with self.sessionmaker() as session:
                result = await session.stream(_DIRECTORY)
                async for partition in result.partitions(_LOAD_PARTITION):
                    for row in partition:
                        if row.resident_id is None:
                            places[row.sensor_id] = None  # an empty home: no one to show it to
                            continue
                        place = _Place(
                            row.kind,
                            row.room_id,
                            row.room,
                            row.home_id,
                            row.facility_id,
                            row.resident_id,
                        )
                        places[row.sensor_id] = shared.setdefault(place, place)
                    self.directory_rows += len(partition)
                    await _between_parts()
            for sensor_id, found in self._found_while_loading.items():
                places.setdefault(sensor_id, found)
        finally:
            self._found_while_loading = None
        self._places = places
        self._unknown.clear()
        # A resident erased (or moved out) since: their state goes with them.
        present = {place.resident_id for place in places.values() if place is not None}
        gone = set(self._targets) - present
        for resident_id in gone:
            del self._targets[resident_id]
            self._dirty.discard(resident_id)
        if gone:
            await self.redis.delete(*[k for r in gone for k in _keys(r)])

    async def _refresh(self, stop: asyncio.Event) -> None:
        """Load the directory now and every `_REFRESH_S`, beside the folding."""
        while not stop.is_set():
            try:
                await self._load()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("sensor directory not refreshed: %r", exc)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), _REFRESH_S)

    async def _look_up(self, sensor_ids: set[int]) -> None:
        """Add sensors missing from the directory: one query for a batch's newcomers.

        A sensor provisioned after the last load is looked up the first time it reports,
        whatever other sensors missed just before; one still unknown (deleted, or its row
        not committed yet) is asked about again at most every `_MISS_RETRY_S`.
        """
        now = time.monotonic()
        wanted = [
            sensor_id
            for sensor_id in sensor_ids
            if sensor_id not in self._places
            and now - self._unknown.get(sensor_id, -_MISS_RETRY_S) >= _MISS_RETRY_S
        ]
        if not wanted:
            return
        async with self.sessionmaker() as session:
            rows = (await session.execute(_SENSORS, {"ids": wanted})).all()
        for row in rows:
            place = (
                None
                if row.resident_id is None
                else _Place(
                    row.kind, row.room_id, row.room, row.home_id, row.facility_id, row.resident_id
                )
            )
            self._places[row.sensor_id] = place
            if self._found_while_loading is not None:
                self._found_while_loading[row.sensor_id] = place
        for sensor_id in wanted:
            if sensor_id in self._places:
                self._unknown.pop(sensor_id, None)
            else:
                self._unknown[sensor_id] = now

    async def fold(self, entries: list[Entry]) -> None:
        """Take a batch of readings-stream entries into the state.

        Sensors the directory lacks are looked up here; the whole directory is read again
        beside this, by `run` (a sensor moved or a resident erased shows then).
        """
        readings: list[tuple[int, int, float]] = []  # (sensor, ts, value)
        for entry_id, fields in entries:
            try:
                rows = orjson.loads(fields[b"r"])
                parsed = [(int(s), int(ts), float(v)) for s, _resident, _kind, ts, v in rows]
            except (KeyError, ValueError, TypeError, orjson.JSONDecodeError) as exc:
                log.error("skipping malformed readings entry %r: %r", entry_id, exc)
                continue
            readings.extend(parsed)
        try:
            await self._look_up({sensor_id for sensor_id, _, _ in readings})
        except (SQLAlchemyError, OSError) as exc:
            # Known sensors still fold; a newcomer's state is taken from its next reading.
            log.warning("sensor directory unavailable: %r; new sensors skipped", exc)
        # resident -> sensor -> (ts, place, value): the newest of this batch only.
        newest: dict[int, dict[int, tuple[int, _Place, float]]] = {}
        for sensor_id, ts, value in readings:
            place = self._places.get(sensor_id)
            if place is None:
                continue
            sensors = newest.setdefault(place.resident_id, {})
            known = sensors.get(sensor_id)
            if known is None or known[0] <= ts:
                sensors[sensor_id] = (ts, place, value)
        if newest:
            await self._store(newest)

    async def _store(self, newest: dict[int, dict[int, tuple[int, _Place, float]]]) -> None:
        keys: list[str] = []
        args: list[Any] = [_STATE_TTL_S]
        residents = sorted(newest)
        for resident_id in residents:
            sensors = newest[resident_id]
            keys.extend(_keys(resident_id)[:2])
            args.append(len(sensors))
            for sensor_id, (ts, place, value) in sensors.items():
                payload = orjson.dumps([place.kind, place.room_id, place.room, value, ts])
                room = _NO_ROOM if place.room_id is None else str(place.room_id)
                args.extend((sensor_id, ts, room, payload))
            place = next(iter(sensors.values()))[1]
            self._targets[resident_id] = Target(
                place.facility_id, resident_id, place.home_id, Audience.STAFF
            )
        # Redis away: the stream consumer reads the batch again (it stays pending).
        changed = await self._fold_script(keys=keys, args=args)
        for resident_id, news in zip(residents, changed, strict=True):
            if int(news):
                self._dirty.add(resident_id)

    async def _events(self, residents: list[int]) -> list[NewEvent]:
        """The newest whole state of each resident, read (and their changed rooms taken) at once."""
        if not residents:
            return []
        async with self.redis.pipeline(transaction=True) as pipe:
            for resident_id in residents:
                state_key, changed_key, _ = _keys(resident_id)
                pipe.hgetall(state_key)
                pipe.smembers(changed_key)
                pipe.delete(changed_key)
            replies = await pipe.execute()
        events = []
        for n, resident_id in enumerate(residents):
            state, changed = replies[3 * n], replies[3 * n + 1]
            target = self._targets.get(resident_id)
            if state and target is not None:
                events.append(_event(resident_id, target, state, changed))
        return events

    async def flush(self) -> int:
        """Publish one update per resident with news whose slot this instance takes; how many.

        A resident nobody follows is only logged, and at most every `_IDLE_LOG_S`: what a
        client catching up on them later gets is at most that old, and then live.
        """
        if self.followed is not None:
            await self._send_again_to_new_followers()
        if not self._dirty:
            return 0
        wants = self.followed.wants if self.followed is not None else None
        dirty = sorted(self._dirty)
        idle = [wants is not None and not wants(self._targets[r]) for r in dirty]
        async with self.redis.pipeline(transaction=False) as pipe:
            for resident_id, unfollowed in zip(dirty, idle, strict=True):
                slot_ms = int((_IDLE_LOG_S if unfollowed else self.interval_s) * 1000)
                pipe.set(_keys(resident_id)[2], b"1", px=slot_ms, nx=True)
            slots = await pipe.execute()
        # No slot: another instance (or this one) published within the interval.
        self._dirty = {r for r, slot in zip(dirty, slots, strict=True) if not slot}
        now = time.monotonic()
        for resident_id, unfollowed, slot in zip(dirty, idle, slots, strict=True):
            if slot and unfollowed:
                self._idle_at[resident_id] = now
        events = await self._events([r for r, slot in zip(dirty, slots, strict=True) if slot])
        await self.feed.publish_many(events, wanted=wants)
        self.published += len(events)
        return len(events)

    async def _send_again_to_new_followers(self) -> None:
        """Residents someone began to follow get what they may have missed, at once.

        The joining socket got the newest state from its own instance (newest_state.py). But
        this instance learns of a follower on another one only at the next refresh: a state
        it folded meanwhile was logged, not emitted, and took the resident's slot for
        `_IDLE_LOG_S`. Those residents, and any whose news waits behind such a slot, give
        the slot up and are sent again (two instances may then both send one: the same
        whole state twice, harmless). The others are not: a facility becoming followed
        would otherwise mean one logged event for each of its residents, to every follower.
        """
        assert self.followed is not None
        residents, facilities = self.followed.take_new()
        now = time.monotonic()
        self._idle_at = {r: at for r, at in self._idle_at.items() if now - at < _IDLE_LOG_S}
        if not residents and not facilities:
            return
        since = now - self.followed.lag_s - self.interval_s
        again = [
            resident_id
            for resident_id, target in self._targets.items()
            if (resident_id in residents or target.facility_id in facilities)
            and (resident_id in self._dirty or self._idle_at.get(resident_id, since - 1) >= since)
        ]
        if again:
            await self.redis.delete(*[_keys(r)[2] for r in again])
            self._dirty.update(again)

    async def run(self, stop: asyncio.Event) -> None:
        """Read the readings stream and publish throttled state until `stop`."""
        ticker = asyncio.create_task(self._tick(stop), name="sensor-state-ticker")
        refresher = asyncio.create_task(self._refresh(stop), name="sensor-directory")
        try:
            await follow_stream(
                self.redis,
                stream=READINGS_STREAM,
                group=LIVE_GROUP,
                handler=self.fold,
                stop=stop,
                skip_backlog=True,  # state from before the start is no longer live
                count=500,
            )
        finally:
            with suppress(asyncio.CancelledError):
                await ticker
            with suppress(asyncio.CancelledError):
                await refresher

    async def _tick(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval_s)
            try:
                await self.flush()
            except Exception:  # the next tick sends the newest state anyway
                log.exception("sensor state not published")


async def _between_parts() -> None:
    """Let the event loop run other tasks between two parts of the directory."""
    await asyncio.sleep(0)


def _keys(resident_id: int) -> tuple[str, str, str]:
    return (
        STATE_KEY.format(resident_id=resident_id),
        CHANGED_KEY.format(resident_id=resident_id),
        SLOT_KEY.format(resident_id=resident_id),
    )


def _event(
    resident_id: int, target: Target, state: dict[bytes, bytes], changed: set[bytes]
) -> NewEvent:
    payload = state_payload(resident_id, target.home_id, state, changed)
    key = f"sensor_state:{resident_id}"
    return NewEvent(SENSOR_STATE_EVENT, payload, target, coalesce_key=key)


def state_payload(
    resident_id: int, home_id: int | None, state: dict[bytes, bytes], changed: set[bytes]
) -> dict[str, Any]:
    """A `sensor_state` payload from a resident's state hash and changed rooms (Redis)."""
    rooms: dict[int | None, dict[str, Any]] = {}
    sensors = sorted((int(k), orjson.loads(v.split(b"|", 1)[1])) for k, v in state.items())
    for sensor_id, (kind, room_id, room, value, ts) in sensors:
        entry = rooms.setdefault(room_id, {"room_id": room_id, "room": room, "sensors": []})
        entry["sensors"].append({"sensor_id": sensor_id, "kind": kind, "value": value, "ts": ts})
    changed_rooms = sorted(
        (None if r == _NO_ROOM.encode() else int(r) for r in changed), key=lambda r: r or 0
    )
    return {
        "resident_id": resident_id,
        "home_id": home_id,
        "rooms": list(rooms.values()),
        "changed_room_ids": changed_rooms,
    }
