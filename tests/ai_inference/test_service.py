"""The inference service on the real PostgreSQL and Redis: readings in, alerts out."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_ai_inference import alerts as alert_store
from sst_ai_inference.rules import ReadingContext, evaluate
from sst_ai_inference.service import InferenceService
from sst_ai_inference.settings import InferenceSettings
from sst_core.const import INFERENCE_GROUP, URGENT_STREAM
from sst_core.db.session import make_engine
from sst_core.messages import StoredReading
from sst_core.streams import ensure_group
from sst_core.texts import AlertText, english
from tests.ai_inference.conftest import (
    RunService,
    alerts_of,
    announcements,
    publish,
    reading,
    timeline,
    wait_consumed,
    wait_until,
)
from tests.factories import HomeFixture, make_home

# 05:03 UTC is 14:03 in Seoul, the fixture home's time zone.
FALL_AT = datetime(2024, 5, 2, 5, 3, 27, tzinfo=UTC)


async def resident_name(engine: AsyncEngine, resident_id: int) -> str:
    async with engine.connect() as conn:
        name = await conn.scalar(
            text("SELECT full_name FROM residents WHERE id = :r"), {"r": resident_id}
        )
    assert isinstance(name, str)
    return name


async def test_fall_raises_one_critical_alert_and_announces_it(
    engine: AsyncEngine, redis: Redis, home: HomeFixture, run_service: RunService
) -> None:
    async with run_service():
        entry = await publish(
            redis,
            home,
            reading(home, "bathroom-motion", FALL_AT - timedelta(seconds=20)),
            reading(home, "fall-1", FALL_AT),
        )
        await wait_consumed(redis, entry)

    [alert] = await alerts_of(engine, home.resident_id)
    name = await resident_name(engine, home.resident_id)
    assert (alert["kind"], alert["severity"], alert["state"]) == ("fall", "critical", "open")
    assert alert["count"] == 1
    assert alert["sensor_id"] == home.sensors["fall-1"]
    assert alert["opened_at"] == alert["last_seen_at"] == FALL_AT.replace(microsecond=0)
    assert alert["explanation"] == (
        f"Fall detected in the Bathroom at 14:03 (home time). "
        f"Check on {name} now: call, or send someone."
    )
    assert await timeline(engine, alert["id"]) == ["raised"]

    [message] = await announcements(redis, alert["id"])
    assert message.resident_id == home.resident_id
    assert message.facility_id == home.facility_id
    assert (message.kind, message.severity, message.count) == ("fall", "critical", 1)
    assert message.room == "Bathroom"
    assert message.explanation == alert["explanation"]
    # Next to the English words: the same words as message keys with raw values, stored and
    # streamed, from which the English was rendered.
    params = {"room": "Bathroom", "room_kind": "bathroom", "time": "14:03", "name": name}
    assert alert["text"] == {
        "title": {"key": "alert.fall.title", "params": params},
        "explanation": {"key": "alert.fall.explanation", "params": params},
    }
    assert message.text == AlertText.model_validate(alert["text"])
    assert english(message.text.title) == alert["title"] == "Fall detected in the Bathroom"
    assert english(message.text.explanation) == alert["explanation"]


async def test_repeat_counts_and_replay_changes_nothing(
    engine: AsyncEngine, redis: Redis, home: HomeFixture, run_service: RunService
) -> None:
    later = FALL_AT + timedelta(minutes=2)
    async with run_service():
        await wait_consumed(redis, await publish(redis, home, reading(home, "fall-1", FALL_AT)))
        await wait_consumed(redis, await publish(redis, home, reading(home, "fall-1", later)))
        [alert] = await alerts_of(engine, home.resident_id)
        assert alert["count"] == 2
        assert alert["last_seen_at"] == later
        assert [m.count for m in await announcements(redis, alert["id"])] == [1, 2]

        # The gateway redelivers both entries (a restart): nothing may change.
        await publish(redis, home, reading(home, "fall-1", later))
        await wait_consumed(redis, await publish(redis, home, reading(home, "fall-1", FALL_AT)))

    [after] = await alerts_of(engine, home.resident_id)
    assert after["id"] == alert["id"]
    assert after["count"] == 2
    assert after["last_seen_at"] == later
    assert after["updated_at"] == alert["updated_at"]
    assert await timeline(engine, alert["id"]) == ["raised", "repeated"]
    assert [m.count for m in await announcements(redis, alert["id"])] == [1, 2]


async def test_resolved_alert_then_new_fall_opens_a_new_alert(
    engine: AsyncEngine, redis: Redis, home: HomeFixture, run_service: RunService
) -> None:
    async with run_service():
        await wait_consumed(redis, await publish(redis, home, reading(home, "fall-1", FALL_AT)))
        [first] = await alerts_of(engine, home.resident_id)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE alerts SET state = 'resolved', resolved_at = now(), "
                    "resolution_note = 'helped up, unhurt' WHERE id = :a"
                ),
                {"a": first["id"]},
            )
        # A late redelivery of the resolved fall is not a new fall...
        await wait_consumed(redis, await publish(redis, home, reading(home, "fall-1", FALL_AT)))
        assert len(await alerts_of(engine, home.resident_id)) == 1
        # ...but a fall after it is.
        again = FALL_AT + timedelta(hours=3)
        await wait_consumed(redis, await publish(redis, home, reading(home, "fall-1", again)))

    old, new = await alerts_of(engine, home.resident_id)
    assert old["id"] == first["id"] and old["state"] == "resolved" and old["count"] == 1
    assert new["state"] == "open" and new["count"] == 1 and new["opened_at"] == again
    assert "at 17:03 (home time)" in new["explanation"]
    assert [m.count for m in await announcements(redis, new["id"])] == [1]
    assert [m.count for m in await announcements(redis, first["id"])] == [1]


async def test_button_and_smoke_open_separate_alerts(
    engine: AsyncEngine, redis: Redis, home: HomeFixture, run_service: RunService
) -> None:
    async with run_service():
        entry = await publish(
            redis,
            home,
            reading(home, "button-1", FALL_AT),
            reading(home, "smoke-1", FALL_AT + timedelta(seconds=5)),
            reading(home, "smoke-1", FALL_AT + timedelta(seconds=10), value=0.0),  # cleared
        )
        await wait_consumed(redis, entry)

    rows = await alerts_of(engine, home.resident_id)
    assert sorted((r["kind"], r["severity"], r["count"]) for r in rows) == [
        ("emergency_button", "critical", 1),
        ("smoke", "critical", 1),
    ]
    smoke = next(r for r in rows if r["kind"] == "smoke")
    assert "in the Living room at 14:03 (home time)" in smoke["explanation"]


async def test_ordinary_readings_and_bad_entries_raise_nothing_and_do_not_crash(
    engine: AsyncEngine, redis: Redis, home: HomeFixture, run_service: RunService
) -> None:
    async with run_service():
        await redis.xadd(URGENT_STREAM, {b"garbage": b"1"})
        await redis.xadd(URGENT_STREAM, {b"hub": b"x", b"r": b"not json"})
        await redis.xadd(URGENT_STREAM, {b"hub": b"x", b"r": b"[[1, 2]]"})
        orphan = StoredReading(
            sensor_id=home.sensors["fall-1"],
            resident_id=None,
            kind="fall_detector",
            ts=1,
            value=1.0,
        )
        await publish(redis, home, orphan, reading(home, "bathroom-motion", FALL_AT))
        await wait_consumed(
            redis, await publish(redis, home, reading(home, "bed-pressure", FALL_AT))
        )
        assert await alerts_of(engine, home.resident_id) == []
        # Still alive: the next fall is handled.
        await wait_consumed(redis, await publish(redis, home, reading(home, "fall-1", FALL_AT)))
    assert [a["kind"] for a in await alerts_of(engine, home.resident_id)] == ["fall"]


async def test_restart_resumes_entries_read_but_never_acknowledged(
    engine: AsyncEngine, redis: Redis, home: HomeFixture, run_service: RunService
) -> None:
    consumer = f"crashed-{uuid.uuid4().hex[:8]}"
    await ensure_group(redis, URGENT_STREAM, INFERENCE_GROUP)
    entry = await publish(redis, home, reading(home, "fall-1", FALL_AT))
    # A consumer reads the entry and dies before acknowledging it.
    reply: Any = await redis.xreadgroup(INFERENCE_GROUP, consumer, {URGENT_STREAM: ">"}, count=100)
    assert entry in [entry_id for entry_id, _ in reply[0][1]]
    pending = await redis.xpending(URGENT_STREAM, INFERENCE_GROUP)
    assert pending["pending"] >= 1
    assert await alerts_of(engine, home.resident_id) == []

    async with run_service(consumer=consumer):  # the same consumer, restarted
        await wait_consumed(redis, entry)
    [alert] = await alerts_of(engine, home.resident_id)
    assert alert["kind"] == "fall" and alert["count"] == 1


async def test_another_consumer_takes_over_a_dead_ones_entries(
    engine: AsyncEngine, redis: Redis, home: HomeFixture, run_service: RunService
) -> None:
    await ensure_group(redis, URGENT_STREAM, INFERENCE_GROUP)
    entry = await publish(redis, home, reading(home, "smoke-1", FALL_AT))
    await redis.xreadgroup(INFERENCE_GROUP, "dead-one", {URGENT_STREAM: ">"}, count=100)
    await asyncio.sleep(1.1)  # idle longer than claim_idle_ms below
    async with run_service(claim_idle_ms=1000):
        await wait_consumed(redis, entry)
    [alert] = await alerts_of(engine, home.resident_id)
    assert alert["kind"] == "smoke"


async def test_alert_stored_but_not_announced_is_announced_on_replay(
    engine: AsyncEngine,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
    run_service: RunService,
) -> None:
    home = await make_home(sessionmaker, timezone="Europe/Paris")
    fall = reading(home, "fall-1", FALL_AT)
    name = await resident_name(engine, home.resident_id)
    [draft] = evaluate(
        ReadingContext(
            reading=fall,
            resident_id=home.resident_id,
            resident_name=name,
            timezone=ZoneInfo(home.timezone),
            room_name="Bathroom",
        )
    )
    # The process committed the alert and died before its XADD.
    async with engine.begin() as conn:
        await alert_store._record(conn, draft)
    [alert] = await alerts_of(engine, home.resident_id)
    assert await announcements(redis, alert["id"]) == []

    async with run_service():
        await wait_consumed(redis, await publish(redis, home, fall))  # the redelivery
        await wait_until(lambda: announcements(redis, alert["id"]))
        await wait_consumed(redis, await publish(redis, home, fall))  # and once more

    [message] = await announcements(redis, alert["id"])
    assert message.count == 1
    assert "at 07:03 (home time)" in message.explanation  # Paris, summer time
    [after] = await alerts_of(engine, home.resident_id)
    assert after["count"] == 1
    assert await timeline(engine, alert["id"]) == ["raised"]


async def test_database_down_keeps_the_reading_pending_instead_of_skipping_it(
    engine: AsyncEngine, redis: Redis, home: HomeFixture, run_service: RunService
) -> None:
    consumer = f"unlucky-{uuid.uuid4().hex[:8]}"
    dead = make_engine("postgresql+asyncpg://sst@127.0.0.1:1/nowhere", pool_size=1)
    settings = InferenceSettings(consumer_name=consumer, block_ms=50)
    service = InferenceService(settings=settings, engine=dead, redis=redis)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    entry = await publish(redis, home, reading(home, "fall-1", FALL_AT))

    async def stuck() -> bool:
        info = await redis.xpending_range(URGENT_STREAM, INFERENCE_GROUP, "-", "+", 10, consumer)
        return any(p["message_id"] == entry for p in info)

    await wait_until(stuck)
    await asyncio.sleep(1.0)  # it keeps retrying rather than skipping
    assert not task.done()
    stop.set()
    await asyncio.wait_for(task, timeout=15)  # stops without acknowledging
    await dead.dispose()
    assert await stuck()
    assert await alerts_of(engine, home.resident_id) == []

    async with run_service(consumer=consumer):  # PostgreSQL is back
        await wait_consumed(redis, entry)
    [alert] = await alerts_of(engine, home.resident_id)
    assert alert["kind"] == "fall"


def test_every_instant_rule_watches_a_sensor_the_gateway_streams_as_urgent() -> None:
    """Inference reads only the urgent stream: a hard rule on any other kind would never fire."""
    from sst_ai_inference.rules import HARD_RULES
    from sst_core.domain import URGENT_SENSOR_KINDS

    assert HARD_RULES
    assert {rule.sensor_kind for rule in HARD_RULES} <= URGENT_SENSOR_KINDS
