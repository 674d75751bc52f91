"""A gap in Redis pub/sub (the listener cut off, a publish given up) is healed from the log.

python-socketio's Redis manager loses an emit silently when Redis is away: its publish
"gives up", and its listener hears nothing until it subscribes again. The backend heals
such a gap from the live-event log, so a connected carer still gets the fall, once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.realtime.events import CAUGHT_UP_EVENT, Audience, Target
from sst_backend.realtime.feed import LiveFeed, write_only_feed
from sst_backend.realtime.managers import WriteOnlyRedisManager
from sst_core.const import ALERT_EVENT
from tests.backend.conftest import login
from tests.backend.live import LiveClient, fall_alert_payload
from tests.factories import PASSWORD, HomeFixture


def _alert(home: HomeFixture, alert_id: int) -> dict[str, Any]:
    return fall_alert_payload(home.resident_id, home.facility_id, alert_id)


def _target(home: HomeFixture) -> Target:
    return Target(home.facility_id, home.resident_id, None, Audience.ALL)


async def _lost(
    sessionmaker: async_sessionmaker[AsyncSession], home: HomeFixture, alert_id: int
) -> int:
    """An event that was logged but whose emit went nowhere (as in a pub/sub gap)."""

    async def nowhere(event: str, data: dict[str, Any], rooms: list[str]) -> None:
        return None

    event_id = await LiveFeed(sessionmaker, nowhere).publish(
        ALERT_EVENT, _alert(home, alert_id), _target(home)
    )
    assert event_id is not None
    return event_id


@pytest.fixture
async def staff(
    backend_url: str, http: httpx.AsyncClient, home: HomeFixture
) -> AsyncIterator[LiveClient]:
    token = await login(http, home.staff_email, PASSWORD)
    client = await LiveClient().connect(backend_url, token=token)
    yield client
    await client.close()


async def _pubsub_clients(redis: Redis, db: int) -> list[dict[str, Any]]:
    return [
        c
        for c in await redis.client_list()
        if int(c.get("db", -1)) == db and (int(c.get("sub", 0)) > 0 or "P" in c.get("flags", ""))
    ]


async def test_an_event_lost_while_the_listener_was_cut_off_is_healed_once(
    staff: LiveClient,
    home: HomeFixture,
    redis: Redis,
    test_env: dict[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    live, manager = write_only_feed(test_env["SST_REDIS_URL"], sessionmaker)
    try:
        seen = await live.publish(ALERT_EVENT, _alert(home, 771_001), _target(home))
        await staff.first(ALERT_EVENT, event_id=seen)
    finally:
        await manager.redis.aclose()
    lost = await _lost(sessionmaker, home, 771_002)
    await asyncio.sleep(0.5)
    assert [d["event_id"] for d in staff.of(ALERT_EVENT)] == [seen]  # really lost, so far

    # Cut the backend's pub/sub connection, as a Redis restart does.
    db = int(urlsplit(test_env["SST_REDIS_URL"]).path.strip("/") or 0)
    listeners = await _pubsub_clients(redis, db)
    assert listeners, "the backend's Socket.IO listener is not subscribed"
    for client in listeners:
        await redis.client_kill_filter(_id=str(client["id"]))

    done = await staff.first(CAUGHT_UP_EVENT, within=15)
    assert done["replayed"] == 1
    alerts = staff.of(ALERT_EVENT)
    assert [d["event_id"] for d in alerts] == [seen, lost]  # the seen one not again
    assert alerts[1]["replayed"] is True and alerts[1]["id"] == 771_002


async def test_a_publish_that_gave_up_is_announced_and_every_backend_heals(
    staff: LiveClient,
    home: HomeFixture,
    redis: Redis,
    test_env: dict[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # A Redis account that may not publish, until the test lets it: a publish that fails.
    user, password = f"sst-test-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    await redis.acl_setuser(
        user,
        enabled=True,
        passwords=[f"+{password}"],
        keys=["*"],
        channels=["*"],
        commands=["+@all", "-publish"],
    )
    parts = urlsplit(test_env["SST_REDIS_URL"])
    url = urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.hostname}:{parts.port}"))
    live, manager = write_only_feed(url, sessionmaker)
    assert isinstance(manager, WriteOnlyRedisManager)
    try:
        event_id = await live.publish(ALERT_EVENT, _alert(home, 772_001), _target(home))
        assert event_id is not None  # logged: PostgreSQL is the truth
        await asyncio.sleep(1.0)
        assert staff.of(ALERT_EVENT) == []  # the publish really failed

        await redis.acl_setuser(user, enabled=True, commands=["+publish"])
        done = await staff.first(CAUGHT_UP_EVENT, within=15)
        alerts = staff.of(ALERT_EVENT)
        assert [d["event_id"] for d in alerts] == [event_id]
        assert alerts[0]["replayed"] is True and done["replayed"] == 1
    finally:
        await redis.acl_deluser(user)
        await manager.close()
        if manager.redis is not None:
            await manager.redis.aclose()
