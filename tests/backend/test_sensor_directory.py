"""The live sensor state's directory (sensor -> room, resident) is read without stalling."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.realtime import sensor_state
from sst_backend.realtime.feed import LiveFeed
from sst_backend.realtime.sensor_state import SensorStateFeed
from tests.factories import HomeFixture

BULK = 600


async def _add_sensors(
    sessionmaker: async_sessionmaker[AsyncSession], home: HomeFixture, count: int, prefix: str
) -> list[int]:
    async with sessionmaker() as session, session.begin():
        rows = await session.execute(
            text(
                "INSERT INTO sensors (hub_id, room_id, key, kind)"
                " SELECT :hub, (SELECT min(id) FROM rooms WHERE home_id = :home),"
                "        :prefix || n, 'motion'"
                " FROM generate_series(1, :count) AS n RETURNING id"
            ),
            {"hub": home.hub_id, "home": home.home_id, "prefix": prefix, "count": count},
        )
        return [row[0] for row in rows]


async def test_the_directory_is_read_in_parts_with_the_loop_free_between(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    feed: LiveFeed,
    home: HomeFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A directory of tens of thousands of sensors once stopped the backend for 0.1-0.4 s
    while it was read in one go; another task now runs between its parts."""
    monkeypatch.setattr(sensor_state, "_LOAD_PARTITION", 50)
    bulk = await _add_sensors(sessionmaker, home, BULK, "bulk-")
    states = SensorStateFeed(feed, sessionmaker, redis, interval_s=0.25)
    seen: set[int] = set()  # how far the load had got, each time another task ran
    loading = asyncio.create_task(states._load())
    while not loading.done():
        seen.add(states.directory_rows)
        await asyncio.sleep(0)
    await loading
    assert states.directory_rows >= BULK
    partial = {n for n in seen if 0 < n < states.directory_rows}
    assert len(partial) >= BULK // 50 - 2, sorted(seen)
    place = states._places[bulk[0]]
    assert place is not None and place.resident_id == home.resident_id


async def test_a_sensor_found_while_the_directory_loads_is_kept(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    feed: LiveFeed,
    home: HomeFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A newcomer looked up while a load is under way (its read began before the sensor
    existed) is still known when the load's result replaces the directory."""
    monkeypatch.setattr(sensor_state, "_LOAD_PARTITION", 50)
    await _add_sensors(sessionmaker, home, BULK, "bulk-")
    paused, go_on = asyncio.Event(), asyncio.Event()

    async def hold_after_the_first_part() -> None:
        paused.set()
        await go_on.wait()

    monkeypatch.setattr(sensor_state, "_between_parts", hold_after_the_first_part)
    states = SensorStateFeed(feed, sessionmaker, redis, interval_s=0.25)
    loading = asyncio.create_task(states._load())
    await asyncio.wait_for(paused.wait(), 10)  # the load's read has begun
    (newcomer,) = await _add_sensors(sessionmaker, home, 1, "late-")
    await states._look_up({newcomer})
    assert newcomer in states._places
    go_on.set()
    await loading
    assert states.directory_rows >= BULK
    place = states._places.get(newcomer)
    assert place is not None and place.resident_id == home.resident_id
