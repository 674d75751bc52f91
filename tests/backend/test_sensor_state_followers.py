"""Two instances' sensor state and followed rooms, in this process, on the real Redis and
PostgreSQL: what the instance that folded a state sends when a socket of the other instance
begins to follow the facility (the socket itself got the newest state from its own
instance: tests/backend/test_two_backends.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.realtime.feed import LiveFeed
from sst_backend.realtime.followed import Followed
from sst_backend.realtime.sensor_state import SensorStateFeed
from sst_core.const import facility_room
from sst_core.messages import encode_stream_rows
from tests.factories import HomeFixture, make_home


class _Instance:
    """One backend instance's followed rooms and sensor state; what it emits is recorded."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis) -> None:
        self.rooms: dict[str, dict[str, str]] = {}  # this instance's sockets, by room
        sio: Any = SimpleNamespace(manager=SimpleNamespace(rooms={"/": self.rooms}))
        self.followed = Followed(sio, redis)
        self.followed.instance = f"test-{uuid.uuid4().hex[:8]}"
        self.sent: list[tuple[str, dict[str, Any], list[str]]] = []

        async def emit(event: str, data: dict[str, Any], rooms: list[str]) -> None:
            self.sent.append((event, data, rooms))

        self.state = SensorStateFeed(
            LiveFeed(sessionmaker, emit),
            sessionmaker,
            redis,
            interval_s=0.25,
            followed=self.followed,
        )

    async def fold(self, home: HomeFixture, value: float) -> None:
        sensor = home.sensors["kitchen-motion"]
        row = [sensor, home.resident_id, "motion", int(time.time() * 1000), value]
        fields = {k.encode(): v for k, v in encode_stream_rows(home.hub_serial, [row]).items()}
        await self.state.fold([(b"0-1", fields)])

    def residents_sent(self) -> list[int]:
        return [data["resident_id"] for event, data, _ in self.sent if event == "sensor_state"]


@pytest.fixture
async def instances(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis
) -> AsyncIterator[tuple[_Instance, _Instance]]:
    made = (_Instance(sessionmaker, redis), _Instance(sessionmaker, redis))
    yield made
    await redis.hdel("sst:live:followed", *[i.followed.instance for i in made])


async def test_a_new_follower_elsewhere_gets_only_what_it_may_have_missed(
    instances: tuple[_Instance, _Instance],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A folds the readings of a facility nobody follows: logged, not sent. A socket of B
    joins the facility. When A learns of it, A sends again the state it logged just before
    (B's socket may have joined before it), not that of every resident it ever folded."""
    a, b = instances
    just_now = await make_home(sessionmaker)
    long_ago = await make_home(sessionmaker, facility_id=just_now.facility_id)
    for instance in (a, b):
        await instance.followed.refresh()
    await a.fold(long_ago, 1.0)
    await a.fold(just_now, 2.0)
    assert await a.state.flush() == 2  # logged
    assert a.sent == [], "nobody follows the facility: logged, not sent"
    # The first state was logged longer ago than anyone could join unseen by A.
    a.state._idle_at[long_ago.resident_id] -= a.followed.lag_s + 1

    b.rooms[facility_room(just_now.facility_id)] = {"sid-on-b": "eio-sid"}
    await b.followed.refresh()
    await a.state.flush()
    assert a.sent == [], "A does not know yet"
    await a.followed.refresh()
    await a.state.flush()
    assert a.residents_sent() == [just_now.resident_id]
    _, data, rooms = a.sent[0]
    assert facility_room(just_now.facility_id) in rooms
    assert data["rooms"][0]["sensors"][0]["value"] == 2.0
    await a.state.flush()
    assert a.residents_sent() == [just_now.resident_id], "once"
