"""The live feed: joins checked with the token, events only for who may see them, catch-up."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.realtime.events import (
    CAUGHT_UP_EVENT,
    FEED_ERROR_EVENT,
    HUB_PRESENCE_EVENT,
    SENSOR_STATE_EVENT,
    Audience,
    Target,
)
from sst_backend.realtime.feed import LiveFeed
from sst_core.const import ALERT_EVENT, DEVICE_EVENTS_STREAM, READINGS_STREAM
from sst_core.device_messages import DeviceEvent, DeviceEventKind, OfflineCause
from sst_core.messages import encode_stream_rows
from tests.backend.conftest import login
from tests.backend.live import LiveClient, fall_alert_payload
from tests.factories import PASSWORD, HomeFixture, make_home


async def _client(
    made: list[LiveClient], url: str, http: httpx.AsyncClient, email: str, **auth: Any
) -> LiveClient:
    token = await login(http, email, PASSWORD)
    client = await LiveClient().connect(url, token=token, **auth)
    made.append(client)
    return client


def _alert(home: HomeFixture, alert_id: int) -> dict[str, Any]:
    return fall_alert_payload(home.resident_id, home.facility_id, alert_id)


async def _publish_alert(feed: LiveFeed, home: HomeFixture, alert_id: int) -> int:
    target = Target(home.facility_id, home.resident_id, None, Audience.ALL)
    event_id = await feed.publish(ALERT_EVENT, _alert(home, alert_id), target)
    assert event_id is not None
    return event_id


async def _publish_state(feed: LiveFeed, home: HomeFixture, value: float) -> int:
    target = Target(home.facility_id, home.resident_id, home.home_id, Audience.STAFF)
    payload = {"resident_id": home.resident_id, "rooms": [{"room": "Kitchen", "value": value}]}
    key = f"sensor_state:{home.resident_id}"
    event_id = await feed.publish(SENSOR_STATE_EVENT, payload, target, coalesce_key=key)
    assert event_id is not None
    return event_id


async def test_every_join_is_checked_and_bad_actions_get_a_clear_error(
    backend_url: str,
    http: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    clients: list[LiveClient],
) -> None:
    other = await make_home(sessionmaker)  # another facility
    staff = await _client(clients, backend_url, http, home.staff_email, join=False)
    admin = await _client(clients, backend_url, http, home.admin_email, join=False)
    guardian = await _client(clients, backend_url, http, home.guardian_email, join=False)

    ok = await staff.call("join", {"resident_id": home.resident_id})
    assert ok == {
        "ok": True,
        "following": {"facility_id": None, "resident_ids": [home.resident_id]},
    }
    assert (await admin.call("join", {"facility_id": home.facility_id}))["ok"] is True

    refused: dict[tuple[LiveClient, str], list[Any]] = {
        (staff, "forbidden"): [
            {"resident_id": other.resident_id},
            {"facility_id": home.facility_id},
        ],
        (guardian, "forbidden"): [{"facility_id": home.facility_id}],
        (admin, "forbidden"): [
            {"facility_id": other.facility_id},
            {"resident_id": other.resident_id},
        ],
        (staff, "bad_request"): [
            "resident 1",
            {},
            {"resident_id": str(home.resident_id)},
            {"resident_id": True},
            {"resident_id": -4},
            {"resident_id": home.resident_id, "facility_id": home.facility_id},
            {"room": "resident:1"},
        ],
        (staff, "unauthorized"): [{"resident_id": home.resident_id, "token": "forged.token.x"}],
    }
    for (client, code), bodies in refused.items():
        for body in bodies:
            before = len(client.of(FEED_ERROR_EVENT))
            ack = await client.call("join", body)
            assert ack["ok"] is False and ack["error"]["code"] == code, (body, ack)
            assert ack["error"]["message"]
            await client.wait_for(
                lambda _, c=client, n=before: len(c.of(FEED_ERROR_EVENT)) > n  # type: ignore[misc]
            )
            assert client.of(FEED_ERROR_EVENT)[-1]["code"] == code

    # Another person's (valid) token does not make a socket theirs.
    admin_token = await login(http, home.admin_email, home.password)
    ack = await staff.call("join", {"facility_id": home.facility_id, "token": admin_token})
    assert ack["error"]["code"] == "forbidden"
    ack = await staff.call("hack_the_planet", {"x": 1})
    assert ack["error"]["code"] == "unknown_action"
    ack = await staff.call("resume", {"last_event_id": "yesterday"})
    assert ack["error"]["code"] == "bad_request"
    assert staff.sio.connected and admin.sio.connected and guardian.sio.connected


async def test_events_reach_only_those_who_may_see_them(
    backend_url: str,
    http: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    feed: LiveFeed,
    clients: list[LiveClient],
) -> None:
    outsider_home = await make_home(sessionmaker)
    staff = await _client(clients, backend_url, http, home.staff_email)
    guardian = await _client(clients, backend_url, http, home.guardian_email)
    admin = await _client(clients, backend_url, http, home.admin_email)
    outsider = await _client(clients, backend_url, http, outsider_home.staff_email)

    state_id = await _publish_state(feed, home, 21.5)
    alert_id = await _publish_alert(feed, home, 555_001)
    offline = DeviceEvent(
        kind=DeviceEventKind.HUB_OFFLINE,
        hub_id=home.hub_id,
        hub_serial=home.hub_serial,
        at=datetime.now(UTC),
        last_seen_at=datetime.now(UTC),
        cause=OfflineCause.LAST_WILL,
    )
    await redis.xadd(DEVICE_EVENTS_STREAM, offline.to_stream())

    for client in (staff, admin):
        presence = await client.first(HUB_PRESENCE_EVENT, hub_id=home.hub_id)
        assert presence["online"] is False and presence["resident_id"] == home.resident_id
        assert isinstance(presence["event_id"], int) and presence["event_id"] > alert_id
        assert (await client.first(SENSOR_STATE_EVENT, event_id=state_id))["rooms"]
        assert (await client.first(ALERT_EVENT, event_id=alert_id))["id"] == 555_001
    assert (await guardian.first(ALERT_EVENT, event_id=alert_id))["id"] == 555_001
    await asyncio.sleep(0.5)
    # Guardians see their resident's alerts, nothing about sensors or devices.
    assert guardian.of(SENSOR_STATE_EVENT) == [] and guardian.of(HUB_PRESENCE_EVENT) == []
    assert outsider.events == []
    # Exactly once each, although staff sit in two rooms the events go to.
    assert len([d for d in staff.of(ALERT_EVENT) if d["event_id"] == alert_id]) == 1

    assert (await staff.call("leave", {"resident_id": home.resident_id}))["ok"] is True
    second = await _publish_alert(feed, home, 555_002)
    await guardian.first(ALERT_EVENT, event_id=second)
    await asyncio.sleep(0.5)
    assert not [d for d in staff.of(ALERT_EVENT) if d["event_id"] == second]


async def test_a_reconnecting_client_gets_what_it_missed_in_order_once(
    backend_url: str,
    http: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    feed: LiveFeed,
    clients: list[LiveClient],
) -> None:
    neighbour = await make_home(sessionmaker, facility_id=home.facility_id)  # not assigned
    staff = await _client(clients, backend_url, http, home.staff_email)
    seen = await _publish_alert(feed, home, 556_001)
    await staff.first(ALERT_EVENT, event_id=seen)
    await staff.close()

    missed_alert = await _publish_alert(feed, home, 556_002)
    await _publish_state(feed, home, 1.0)  # superseded by the next state
    newest_state = await _publish_state(feed, home, 2.0)
    await _publish_alert(feed, neighbour, 556_003)  # not this staff's resident
    last_alert = await _publish_alert(feed, home, 556_004)

    again = await _client(clients, backend_url, http, home.staff_email, last_event_id=seen)
    done = await again.first(CAUGHT_UP_EVENT)
    assert done == {"last_event_id": last_alert, "replayed": 3, "complete": True}
    numbered = [(e, d["event_id"]) for e, d in again.events if e != CAUGHT_UP_EVENT]
    assert numbered == [
        (ALERT_EVENT, missed_alert),
        (SENSOR_STATE_EVENT, newest_state),
        (ALERT_EVENT, last_alert),
    ]
    assert again.of(SENSOR_STATE_EVENT)[0]["rooms"][0]["value"] == 2.0
    assert all(d.get("replayed") is True for e, d in again.events if e != CAUGHT_UP_EVENT)

    guardian = await _client(clients, backend_url, http, home.guardian_email, last_event_id=seen)
    done = await guardian.first(CAUGHT_UP_EVENT)
    assert [d["event_id"] for d in guardian.of(ALERT_EVENT)] == [missed_alert, last_alert]
    assert guardian.of(SENSOR_STATE_EVENT) == [] and done["replayed"] == 2

    # The explicit action does the same on a live socket, for what it follows now.
    ack = await again.call("resume", {"last_event_id": newest_state})
    assert ack == {"ok": True}
    await again.wait_for(lambda events: len(again.of(CAUGHT_UP_EVENT)) == 2)
    assert again.of(CAUGHT_UP_EVENT)[1]["replayed"] == 1


async def test_catch_up_while_events_keep_coming_has_no_gap_duplicate_or_disorder(
    backend_url: str,
    http: httpx.AsyncClient,
    home: HomeFixture,
    feed: LiveFeed,
    clients: list[LiveClient],
) -> None:
    start = await _publish_alert(feed, home, 557_000)
    before = [await _publish_alert(feed, home, 557_001 + i) for i in range(30)]
    during: list[int] = []

    async def keep_publishing() -> None:
        for i in range(60):
            during.append(await _publish_alert(feed, home, 557_100 + i))
            await asyncio.sleep(0.005)

    publisher = asyncio.create_task(keep_publishing())
    await asyncio.sleep(0.02)
    client = await _client(clients, backend_url, http, home.staff_email, last_event_id=start)
    await publisher
    expected = before + during
    await client.wait_for(
        lambda _: {d["event_id"] for d in client.of(ALERT_EVENT)} >= set(expected), within=20
    )
    await asyncio.sleep(0.5)
    got = [d["event_id"] for d in client.of(ALERT_EVENT)]
    assert got == expected, "every missed and live event once, in id order"
    assert client.of(CAUGHT_UP_EVENT)[0]["complete"] is True


async def test_sensor_state_is_throttled_per_resident_and_the_latest_arrives(
    backend_url: str,
    http: httpx.AsyncClient,
    home: HomeFixture,
    redis: Redis,
    clients: list[LiveClient],
) -> None:
    staff = await _client(clients, backend_url, http, home.staff_email)
    sensor = home.sensors["kitchen-motion"]
    began = time.monotonic()
    for value in range(1, 301):  # 300 readings in about 1.5 s: far more than a browser needs
        row = [sensor, home.resident_id, "motion", int(time.time() * 1000), float(value)]
        await redis.xadd(READINGS_STREAM, encode_stream_rows(home.hub_serial, [row]))
        if value % 20 == 0:
            await asyncio.sleep(0.1)

    def kitchen(data: dict[str, Any]) -> float | None:
        for room in data["rooms"]:
            for reading in room["sensors"]:
                if reading["sensor_id"] == sensor:
                    return float(reading["value"])
        return None

    await staff.wait_for(
        lambda _: any(kitchen(d) == 300.0 for d in staff.of(SENSOR_STATE_EVENT)), within=15
    )
    elapsed = time.monotonic() - began
    updates = [d for d in staff.of(SENSOR_STATE_EVENT) if d["resident_id"] == home.resident_id]
    # At most one update per 0.25 s (the default throttle), plus the one in flight.
    assert 1 <= len(updates) <= elapsed / 0.25 + 2, (len(updates), elapsed)
    times = [
        t for (e, _), t in zip(staff.events, staff.arrivals, strict=True) if e == SENSOR_STATE_EVENT
    ]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Arrival gaps can shrink by scheduling jitter, never to two updates of one tick.
    assert all(gap > 0.1 for gap in gaps), gaps
    assert len(updates) < 40
    values = [kitchen(d) or 0.0 for d in updates]
    assert values == sorted(values), "states only move forward"
    last = updates[-1]
    assert last["home_id"] == home.home_id
    assert {r["room"] for r in last["rooms"]} == {"Kitchen"}


async def test_old_events_are_pruned_and_a_client_behind_them_is_told(
    backend_url: str,
    http: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    feed: LiveFeed,
    clients: list[LiveClient],
) -> None:
    from sst_backend.realtime.retention import prune_once

    old = await _publish_alert(feed, home, 558_001)
    kept = await _publish_alert(feed, home, 558_002)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE live_events SET at = now() - interval '2 days' WHERE id = :i"), {"i": old}
        )
    assert await prune_once(sessionmaker, redis, retention_s=86_400) >= 1
    async with sessionmaker() as session:
        left = (
            (
                await session.execute(
                    text("SELECT id FROM live_events WHERE id IN (:a, :b)"), {"a": old, "b": kept}
                )
            )
            .scalars()
            .all()
        )
    assert list(left) == [kept]
    client = await _client(clients, backend_url, http, home.staff_email, last_event_id=old - 1)
    done = await client.first(CAUGHT_UP_EVENT)
    assert done["complete"] is False, "it missed an event that is gone: it must reload"
    assert [d["event_id"] for d in client.of(ALERT_EVENT)] == [kept]


async def test_superseded_sensor_states_are_pruned_and_the_newest_kept(
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    feed: LiveFeed,
) -> None:
    from sst_backend.realtime.retention import prune_once

    states = [await _publish_state(feed, home, float(v)) for v in range(3)]
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE live_events SET at = now() - interval '1 minute' WHERE id = ANY(:i)"),
            {"i": states},
        )
    watermark = await redis.get("sst:live:pruned_through")
    await prune_once(sessionmaker, redis, retention_s=86_400)
    async with sessionmaker() as session:
        left = await session.execute(
            text("SELECT id FROM live_events WHERE id = ANY(:i)"), {"i": states}
        )
        assert list(left.scalars()) == [states[-1]]
    assert await redis.get("sst:live:pruned_through") == watermark, "no event was lost"


async def test_state_of_a_resident_nobody_follows_is_logged_for_catch_up(
    backend_url: str,
    http: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    clients: list[LiveClient],
) -> None:
    quiet = await make_home(sessionmaker)  # nobody of its facility is connected
    sensor = quiet.sensors["living-temp"]
    row = [sensor, quiet.resident_id, "temperature", int(time.time() * 1000), 23.5]
    async with sessionmaker() as session:
        before = await session.scalar(text("SELECT coalesce(max(id), 0) FROM live_events"))
    await redis.xadd(READINGS_STREAM, encode_stream_rows(quiet.hub_serial, [row]))

    async def logged() -> bool:
        async with sessionmaker() as session:
            found = await session.scalar(
                text(
                    "SELECT count(*) FROM live_events WHERE event = 'sensor_state'"
                    " AND resident_id = :r"
                ),
                {"r": quiet.resident_id},
            )
        return bool(found)

    deadline = time.monotonic() + 10
    while not await logged():
        assert time.monotonic() < deadline, "the state was never logged"
        await asyncio.sleep(0.1)
    staff = await _client(clients, backend_url, http, quiet.staff_email, last_event_id=before)
    done = await staff.first(CAUGHT_UP_EVENT)
    states = staff.of(SENSOR_STATE_EVENT)
    assert done["complete"] is True and len(states) == 1
    assert states[0]["rooms"][0]["sensors"][0] == {
        "sensor_id": sensor,
        "kind": "temperature",
        "value": 23.5,
        "ts": row[3],
    }


async def test_a_sensor_provisioned_just_after_a_miss_shows_its_first_reading(
    backend_url: str,
    http: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    clients: list[LiveClient],
) -> None:
    """A sensor the backend has not seen is looked up when it first reports, even right after
    another unknown sensor was looked up in vain (a miss once hid newcomers for 5 s)."""
    staff = await _client(clients, backend_url, http, home.staff_email)
    async with sessionmaker() as session:
        nowhere = await session.scalar(text("SELECT coalesce(max(id), 0) + 1000000 FROM sensors"))
    stray = [nowhere, home.resident_id, "motion", int(time.time() * 1000), 1.0]
    await redis.xadd(READINGS_STREAM, encode_stream_rows(home.hub_serial, [stray]))
    await asyncio.sleep(0.3)  # the backend looks the stray sensor up and finds nothing
    async with sessionmaker() as session, session.begin():
        kitchen = await session.scalar(
            text("SELECT id FROM rooms WHERE home_id = :h AND name = 'Kitchen'"),
            {"h": home.home_id},
        )
        added = await session.scalar(
            text(
                "INSERT INTO sensors (hub_id, room_id, key, kind)"
                " VALUES (:hub, :room, 'kitchen-door', 'door') RETURNING id"
            ),
            {"hub": home.hub_id, "room": kitchen},
        )
    row = [added, home.resident_id, "door", int(time.time() * 1000), 1.0]
    await redis.xadd(READINGS_STREAM, encode_stream_rows(home.hub_serial, [row]))

    def shows_it(data: dict[str, Any]) -> bool:
        return data["resident_id"] == home.resident_id and any(
            reading["sensor_id"] == added for room in data["rooms"] for reading in room["sensors"]
        )

    await staff.wait_for(lambda _: any(shows_it(d) for d in staff.of(SENSOR_STATE_EVENT)), 4)
