"""The gateway in-process against the real Mosquitto, PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_core.const import URGENT_STREAM, hub_topic
from sst_core.db.models import Sensor
from sst_hub_gateway.service import Gateway
from tests.factories import HomeFixture
from tests.hub_gateway.conftest import dead_letters, stored_readings, stream_entries
from tests.hub_gateway.helpers import HubPublisher, eventually, now_ms


async def test_readings_are_stored_and_streamed(
    gateway: Gateway, home: HomeFixture, publisher: HubPublisher, engine: AsyncEngine, redis: Redis
) -> None:
    t0 = now_ms() - 60_000
    motion, temp = home.sensors["kitchen-motion"], home.sensors["living-temp"]
    await publisher.telemetry(
        home.hub_serial,
        [
            {"sensor": "kitchen-motion", "ts": t0, "value": 1},
            {"sensor": "living-temp", "ts": t0 + 1, "value": 21.5},
            {"sensor": "kitchen-motion", "ts": t0 + 2000, "value": 0},
        ],
    )

    async def three_rows() -> bool:
        return len(await stored_readings(engine, [motion, temp])) == 3

    await eventually(three_rows)
    at = datetime.fromtimestamp(t0 / 1000, tz=UTC)
    rows = await stored_readings(engine, [motion, temp])
    assert rows[0] == (at, motion, home.resident_id, 1.0)
    assert rows[1][1:] == (temp, home.resident_id, 21.5)
    assert rows[1][0].timestamp() * 1000 == t0 + 1
    assert rows[2][1:] == (motion, home.resident_id, 0.0)

    async def streamed() -> bool:
        return len(await stream_entries(redis, home.hub_serial)) == 1

    await eventually(streamed)
    [entry] = await stream_entries(redis, home.hub_serial)
    assert [(r.sensor_id, r.resident_id, r.kind, r.ts, r.value) for r in entry] == [
        (motion, home.resident_id, "motion", t0, 1.0),
        (temp, home.resident_id, "temperature", t0 + 1, 21.5),
        (motion, home.resident_id, "motion", t0 + 2000, 0.0),
    ]


async def test_urgent_readings_also_go_to_the_urgent_stream(
    gateway: Gateway, home: HomeFixture, publisher: HubPublisher, redis: Redis
) -> None:
    """A fall or a button press, on either topic, is on the urgent stream; the rest is not."""
    t0 = now_ms() - 30_000
    fall, motion = home.sensors["fall-1"], home.sensors["bathroom-motion"]
    await publisher.telemetry(
        home.hub_serial,
        [
            {"sensor": "bathroom-motion", "ts": t0, "value": 1},
            {"sensor": "fall-1", "ts": t0 + 1, "value": 1},
            {"sensor": "living-temp", "ts": t0 + 2, "value": 20.5},
        ],
    )
    await publisher.event(home.hub_serial, {"sensor": "button-1", "ts": t0 + 3, "value": 1})

    async def both_streamed() -> bool:
        return len(await stream_entries(redis, home.hub_serial, URGENT_STREAM)) == 2

    await eventually(both_streamed)
    urgent = await stream_entries(redis, home.hub_serial, URGENT_STREAM)
    assert sorted((r.sensor_id, r.kind, r.ts) for entry in urgent for r in entry) == [
        (fall, "fall_detector", t0 + 1),
        (home.sensors["button-1"], "emergency_button", t0 + 3),
    ]
    everything = await stream_entries(redis, home.hub_serial)
    assert sorted(r.sensor_id for entry in everything for r in entry) == sorted(
        [motion, fall, home.sensors["living-temp"], home.sensors["button-1"]]
    )


async def test_duplicate_publish_stores_nothing_more(
    gateway: Gateway, home: HomeFixture, publisher: HubPublisher, engine: AsyncEngine, redis: Redis
) -> None:
    t0 = now_ms() - 5_000
    readings = [{"sensor": "bed-pressure", "ts": t0 + i, "value": float(i)} for i in range(50)]
    bed = home.sensors["bed-pressure"]
    duplicates_before = gateway.metrics.duplicates
    await publisher.telemetry(home.hub_serial, readings)
    await publisher.telemetry(home.hub_serial, readings)

    async def both_streamed() -> bool:
        return len(await stream_entries(redis, home.hub_serial)) == 2

    # Every accepted message is streamed, redelivered or not: inference is idempotent.
    await eventually(both_streamed)
    assert len(await stored_readings(engine, [bed])) == 50
    assert gateway.metrics.duplicates - duplicates_before == 50


async def test_event_is_stored(
    gateway: Gateway, home: HomeFixture, publisher: HubPublisher, engine: AsyncEngine
) -> None:
    ts = now_ms()
    fall = home.sensors["fall-1"]
    await publisher.publish(
        hub_topic(home.hub_serial, "events"), {"v": 1, "sensor": "fall-1", "ts": ts, "value": 1}
    )

    async def stored() -> bool:
        return len(await stored_readings(engine, [fall])) == 1

    await eventually(stored)


async def test_bad_messages_are_dead_lettered_and_good_ones_still_stored(
    gateway: Gateway, home: HomeFixture, publisher: HubPublisher, engine: AsyncEngine
) -> None:
    serial = home.hub_serial
    telemetry = hub_topic(serial, "telemetry")
    ts = now_ms()
    await publisher.publish(telemetry, b'{"readings": [{"sensor": "kitchen-motion"')
    await publisher.publish(
        telemetry, b'{"readings":[{"sensor":"kitchen-motion","ts":%d,"value":NaN}]}' % ts
    )
    far = 1_900_000_000_000  # 2030-03-17
    await publisher.telemetry(serial, [{"sensor": "kitchen-motion", "ts": far, "value": 1}])
    # One unknown sensor refuses only its own reading; the others of the message are kept.
    await publisher.telemetry(
        serial,
        [
            {"sensor": "attic-motion", "ts": ts, "value": 1},
            {"sensor": "front-door", "ts": ts, "value": 1},
        ],
    )
    await publisher.telemetry(serial, [{"sensor": "kitchen-motion", "ts": ts, "value": 1}])

    async def all_handled() -> bool:
        stored = await stored_readings(engine, [home.sensors["kitchen-motion"]])
        return len(await dead_letters(engine, serial)) == 4 and len(stored) == 1

    await eventually(all_handled)
    letters = await dead_letters(engine, serial)
    assert all(topic == telemetry for topic, _, _ in letters)
    reasons = [reason for _, reason, _ in letters]
    assert reasons[0].startswith("malformed JSON: ")
    assert reasons[1] == "schema: readings.0.value: value must be a finite number"
    assert reasons[2] == "timestamp 2030-03-17T17:46:40.000Z is more than 300 s in the future"
    assert (
        reasons[3] == f"unknown sensor 'attic-motion' on hub '{serial}' (1 of 2 readings refused)"
    )
    assert letters[0][2] == '{"readings": [{"sensor": "kitchen-motion"'
    assert len(await stored_readings(engine, [home.sensors["front-door"]])) == 1
    assert await stored_readings(engine, [home.sensors["kitchen-motion"]]) == [
        (
            datetime.fromtimestamp(ts / 1000, tz=UTC),
            home.sensors["kitchen-motion"],
            home.resident_id,
            1.0,
        )
    ]


async def test_unknown_hub_is_dead_lettered(
    gateway: Gateway, home: HomeFixture, publisher: HubPublisher, engine: AsyncEngine
) -> None:
    stranger = home.hub_serial + "-stranger"
    await publisher.telemetry(stranger, [{"sensor": "x", "ts": now_ms(), "value": 1}])

    async def refused() -> bool:
        return [r for _, r, _ in await dead_letters(engine, stranger)] == [
            f"unknown hub '{stranger}'"
        ]

    await eventually(refused)


async def test_sensor_registered_later_is_found_after_miss_retry(
    gateway: Gateway,
    home: HomeFixture,
    publisher: HubPublisher,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert gateway.directory is not None
    ts = now_ms()
    await publisher.telemetry(home.hub_serial, [{"sensor": "new-plug", "ts": ts, "value": 3}])

    async def refused() -> bool:
        return len(await dead_letters(engine, home.hub_serial)) == 1

    await eventually(refused)
    # A flood of readings from the unknown sensor does not turn into a flood of queries.
    queries, started = gateway.directory.queries, time.monotonic()
    for i in range(20):
        await publisher.telemetry(
            home.hub_serial, [{"sensor": "new-plug", "ts": ts + 10 + i, "value": 3}]
        )

    async def all_refused() -> bool:
        return len(await dead_letters(engine, home.hub_serial)) == 21

    await eventually(all_refused)
    allowed = 2 + (time.monotonic() - started) / gateway.settings.directory_miss_retry_s
    assert gateway.directory.queries - queries <= allowed
    async with sessionmaker() as session, session.begin():
        plug = Sensor(hub_id=home.hub_id, key="new-plug", kind="power")
        session.add(plug)
    await asyncio.sleep(gateway.settings.directory_miss_retry_s)
    await publisher.telemetry(home.hub_serial, [{"sensor": "new-plug", "ts": ts + 1, "value": 4}])

    async def stored() -> bool:
        return len(await stored_readings(engine, [plug.id])) == 1

    await eventually(stored)


async def test_status_tracks_presence(
    gateway: Gateway, home: HomeFixture, publisher: HubPublisher, engine: AsyncEngine
) -> None:
    topic = hub_topic(home.hub_serial, "status")

    async def hub_row() -> tuple[bool, str | None, datetime | None]:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT online, firmware, last_seen_at FROM hubs WHERE id = :id"),
                    {"id": home.hub_id},
                )
            ).one()
            return row.online, row.firmware, row.last_seen_at

    assert (await hub_row())[0] is False
    await publisher.publish(topic, {"v": 1, "online": True, "firmware": "1.4.2"})

    async def online() -> bool:
        state = await hub_row()
        return state[0] is True and state[1] == "1.4.2" and state[2] is not None

    await eventually(online)
    await publisher.publish(topic, {"v": 1, "online": False})

    async def offline() -> bool:
        state = await hub_row()
        return state[0] is False and state[1] == "1.4.2"

    await eventually(offline)
