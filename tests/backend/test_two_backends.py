"""Two backend processes share Socket.IO rooms through Redis: an event raised on one reaches
a client connected to the other, and each can catch up a client on events raised on either.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.realtime.events import (
    CAUGHT_UP_EVENT,
    ROBOT_COMMAND_EVENT,
    SENSOR_STATE_EVENT,
    SENSOR_STATES_EVENT,
)
from sst_backend.realtime.sensor_state import STATE_KEY
from sst_core.const import READINGS_STREAM
from sst_core.db.models import Robot
from sst_core.messages import encode_stream_rows
from tests.backend.conftest import login
from tests.backend.live import LiveClient
from tests.e2e.processes import ARTIFACTS, Service
from tests.factories import HomeFixture, make_home
from tests.ports import free_port


async def _serving(service: Service, url: str, within: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    async with httpx.AsyncClient(base_url=url, timeout=2) as http:
        while True:
            service.assert_running()
            try:
                if (await http.get("/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{service.name} not ready within {within} s")
            await asyncio.sleep(0.2)


@pytest.fixture
async def two_backends(test_env: dict[str, str], database_url: str) -> AsyncIterator[list[str]]:
    """Two `sst-backend serve` processes on their own ports, same PostgreSQL and Redis."""
    services, urls = [], []
    for name in ("backend-a", "backend-b"):
        port = free_port()
        env = {
            **test_env,
            "SST_PORT": str(port),
            "SST_SCHEDULER_ENABLED": "false",
            "SST_ROLLUP_INTERVAL_S": "0",
            "SST_LOG_LEVEL": "INFO",
        }
        argv = [sys.executable, "-m", "sst_backend", "serve"]
        service = Service(f"{name}-{uuid.uuid4().hex[:6]}", argv, env)
        service.start()
        services.append(service)
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for service, url in zip(services, urls, strict=True):
            await _serving(service, url)
        yield urls
    finally:
        # uvicorn shuts down gracefully on SIGTERM, then re-raises it: -15 is a clean stop.
        codes = {service.name: service.stop() for service in services}
    assert all(code in (0, -15) for code in codes.values()), f"{codes} (logs in {ARTIFACTS})"
    for service in services:
        log = (ARTIFACTS / f"{service.name}.log").read_text(errors="replace")
        assert "Application shutdown complete" in log, f"{service.name}: no clean shutdown"


async def test_an_event_raised_on_one_backend_reaches_a_client_of_the_other(
    two_backends: list[str],
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    url_a, url_b = two_backends
    async with sessionmaker() as session, session.begin():
        robot = Robot(
            home_id=home.home_id, serial=f"robot-{uuid.uuid4().hex[:8]}", capabilities=["speak"]
        )
        session.add(robot)
        await session.flush()
        robot_id = robot.id
    async with httpx.AsyncClient(base_url=url_a, timeout=10) as http_a:
        token = await login(http_a, home.staff_email, home.password)
        on_b = await LiveClient().connect(url_b, token=token)
        on_a = await LiveClient().connect(url_a, token=token)
        try:
            # Raised by an HTTP request to A; the client on B sees it.
            response = await http_a.post(
                f"/api/v1/robots/{robot_id}/commands",
                json={"command": "speak", "args": {"text": "Help is on the way"}},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 202, response.text
            from_a = response.json()["id"]
            seen_on_b = await on_b.first(ROBOT_COMMAND_EVENT, command_id=from_a)
            assert seen_on_b["state"] == "queued"
            # Raised by a socket action on B; the client on A sees it.
            ack = await on_b.call(
                "robot_command", {"robot_id": robot_id, "body": {"command": "stop"}}
            )
            assert ack["ok"] is True, ack
            seen_on_a = await on_a.first(ROBOT_COMMAND_EVENT, command_id=ack["command"]["id"])
            assert seen_on_a["event_id"] > seen_on_b["event_id"]
            await asyncio.sleep(0.3)
            for client in (on_a, on_b):
                ids = [d["event_id"] for d in client.of(ROBOT_COMMAND_EVENT)]
                assert len(ids) == len(set(ids)) == 2, "each event once on each instance"
        finally:
            await on_a.close()
            await on_b.close()
        # A client that reconnects to B catches up on what A raised.
        again = await LiveClient().connect(
            url_b, token=token, last_event_id=seen_on_b["event_id"] - 1
        )
        try:
            done = await again.first(CAUGHT_UP_EVENT)
            assert done["replayed"] == 2 and done["last_event_id"] == seen_on_a["event_id"]
        finally:
            await again.close()


async def test_sensor_state_is_whole_and_newest_whichever_backend_folded_what(
    two_backends: list[str],
    home: HomeFixture,
    redis: Redis,
) -> None:
    """The instances share the readings stream, each folding a part; every update a client
    gets still carries the newest value of every sensor, and no value goes back in time."""
    url_a, _ = two_backends
    kitchen, living = home.sensors["kitchen-motion"], home.sensors["living-temp"]
    async with httpx.AsyncClient(base_url=url_a, timeout=10) as http_a:
        token = await login(http_a, home.staff_email, home.password)
    client = await LiveClient().connect(url_a, token=token)
    try:
        t0 = int(time.time() * 1000)
        state_key = STATE_KEY.format(resident_id=home.resident_id)
        for n in range(1, 121):  # one entry per reading: the group spreads them over instances
            sensor, kind = (kitchen, "motion") if n % 2 else (living, "temperature")
            row = [sensor, home.resident_id, kind, t0 + n, float(n)]
            await redis.xadd(READINGS_STREAM, encode_stream_rows(home.hub_serial, [row]))
            if n <= 2:
                # The first reading of each sensor is folded (by whichever instance) before
                # the next one exists: from then on every update must carry both. Without
                # this the instance given a sensor's first reading may fold it late (each
                # looks a new sensor up in PostgreSQL at its own pace) while the other sends
                # updates, rightly without it.
                for _ in range(200):
                    if await redis.hexists(state_key, str(sensor)):
                        break
                    await asyncio.sleep(0.05)
                assert await redis.hexists(state_key, str(sensor)), f"{sensor} never folded"
            if n % 10 == 0:
                await asyncio.sleep(0.05)

        def values(data: dict[str, Any]) -> dict[int, float]:
            return {s["sensor_id"]: s["value"] for r in data["rooms"] for s in r["sensors"]}

        def newest(events: list[tuple[str, Any]]) -> bool:
            states = [values(d) for e, d in events if e == SENSOR_STATE_EVENT]
            return any(v == {kitchen: 119.0, living: 120.0} for v in states)

        await client.wait_for(newest, within=15)
        states = [
            values(d) for d in client.of(SENSOR_STATE_EVENT) if d["resident_id"] == home.resident_id
        ]
        for sensor in (kitchen, living):
            seen = [state[sensor] for state in states if sensor in state]
            assert seen == sorted(seen), f"sensor {sensor} went back in time: {seen}"
        # Whichever instance sent it, an update carries every sensor folded so far: the
        # kitchen always, the living room in all but (at most) a first update.
        assert all(kitchen in state for state in states), states
        assert sum(1 for state in states if living not in state) <= 1, states
        assert all(living in state for state in states[1:]), states
    finally:
        await client.close()


async def test_a_client_joining_on_one_backend_gets_every_newest_state_at_once(
    two_backends: list[str],
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
) -> None:
    """A dashboard that begins to follow a resident (or the whole facility) on one instance
    gets each resident's newest state at once, without a new reading: whichever instance
    folded the readings and holds the update slot, also when a client of the other instance
    already follows the resident (so no instance sees the room become followed)."""
    url_a, url_b = two_backends
    quiet = await make_home(sessionmaker, facility_id=home.facility_id)  # followed by nobody
    async with httpx.AsyncClient(base_url=url_a, timeout=10) as http_a:
        staff = await login(http_a, home.staff_email, home.password)
        nurse = await login(http_a, home.admin_email, home.password)  # sees the whole facility
        guardian = await login(http_a, home.guardian_email, home.password)
    watcher = await LiveClient().connect(url_a, token=staff)  # follows `home`'s resident
    joiners: list[LiveClient] = []
    try:
        t0 = int(time.time() * 1000)
        expected: dict[int, dict[int, float]] = {}
        for fixture in (home, quiet):
            kitchen, living = fixture.sensors["kitchen-motion"], fixture.sensors["living-temp"]
            for n in range(1, 41):  # one entry per reading: both instances fold some
                sensor, kind = (kitchen, "motion") if n % 2 else (living, "temperature")
                row = [sensor, fixture.resident_id, kind, t0 + n, float(n)]
                await redis.xadd(READINGS_STREAM, encode_stream_rows(fixture.hub_serial, [row]))
            expected[fixture.resident_id] = {kitchen: 39.0, living: 40.0}

        def values(data: dict[str, Any]) -> dict[int, float]:
            return {s["sensor_id"]: s["value"] for r in data["rooms"] for s in r["sensors"]}

        def has_newest(client: LiveClient, resident_id: int) -> bool:
            # One resident's state comes as `sensor_state`, several at once as `sensor_states`.
            states = [
                *client.of(SENSOR_STATE_EVENT),
                *(state for batch in client.of(SENSOR_STATES_EVENT) for state in batch["states"]),
            ]
            return any(
                d["resident_id"] == resident_id and values(d) == expected[resident_id]
                for d in states
            )

        await watcher.wait_for(lambda _: has_newest(watcher, home.resident_id), within=15)
        state_key = f"sst:live:state:{quiet.resident_id}"

        async def quiet_folded() -> bool:
            state: dict[Any, Any] = await redis.hgetall(state_key)
            return {int(v.split(b"|", 1)[0]) for v in state.values()} == {t0 + 39, t0 + 40}

        deadline = time.monotonic() + 15
        while not await quiet_folded():
            assert time.monotonic() < deadline, "the quiet resident's readings were not folded"
            await asyncio.sleep(0.05)
        # Every instance has seen who follows what (refreshed every second): the resident
        # is followed, so a second follower is no news to any instance.
        await asyncio.sleep(2.5)

        # Staff opening the resident on B: the newest state comes with the join.
        second = await LiveClient().connect(url_b, token=staff, join=False)
        joiners.append(second)
        ack = await second.call("join", {"resident_id": home.resident_id})
        assert ack["ok"] is True, ack
        await second.wait_for(lambda _: has_newest(second, home.resident_id), within=1.0)

        # A charge nurse opening the whole facility on B: every resident's newest state,
        # that of the resident nobody followed too (logged, not sent, its slot taken).
        both = [home.resident_id, quiet.resident_id]
        charge = await LiveClient().connect(url_b, token=nurse, join=False)
        joiners.append(charge)
        ack = await charge.call("join", {"facility_id": home.facility_id})
        assert ack["ok"] is True, ack
        await charge.wait_for(lambda _: all(has_newest(charge, r) for r in both), within=1.0)

        # A reading just after the join, maybe folded by A before A knows the facility is
        # followed (so logged, not sent, and the resident's slot taken for 5 s): it arrives.
        kitchen = quiet.sensors["kitchen-motion"]
        row = [kitchen, quiet.resident_id, "motion", t0 + 100, 99.0]
        await redis.xadd(READINGS_STREAM, encode_stream_rows(quiet.hub_serial, [row]))
        expected[quiet.resident_id] = {**expected[quiet.resident_id], kitchen: 99.0}
        await charge.wait_for(lambda _: has_newest(charge, quiet.resident_id), within=4.0)

        # Another charge nurse opening the facility, on A, once every instance knows it is
        # followed: the same.
        await asyncio.sleep(2.5)
        relief = await LiveClient().connect(url_a, token=nurse, join=False)
        joiners.append(relief)
        ack = await relief.call("join", {"facility_id": home.facility_id})
        assert ack["ok"] is True, ack
        await relief.wait_for(lambda _: all(has_newest(relief, r) for r in both), within=1.0)

        # A page opened afresh (connect with the default rooms, no event id to resume).
        fresh = await LiveClient().connect(url_b, token=staff)
        joiners.append(fresh)
        await fresh.wait_for(lambda _: has_newest(fresh, home.resident_id), within=1.0)

        # A guardian following the resident on B gets no sensor state (staff only).
        family = await LiveClient().connect(url_b, token=guardian, join=False)
        joiners.append(family)
        ack = await family.call("join", {"resident_id": home.resident_id})
        assert ack["ok"] is True, ack
        await asyncio.sleep(0.5)
        assert family.of(SENSOR_STATE_EVENT) == family.of(SENSOR_STATES_EVENT) == []
    finally:
        await watcher.close()
        for client in joiners:
            await client.close()
