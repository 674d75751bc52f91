"""Several inference processes share the residents; a restart neither misses nor repeats."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_ai_inference import alerts as alerts_module
from sst_ai_inference import detector as detector_module
from sst_ai_inference.device_alerts import DeviceAlerts
from sst_ai_inference.directory import Directory
from sst_core.db.session import make_engine
from sst_core.device_messages import DeviceEvent, DeviceEventKind, OfflineCause
from sst_core.messages import AlertMessage
from tests.ai_inference.conftest import announcements, timeline
from tests.ai_inference.scenario import (
    BERLIN,
    Scenario,
    detector,
    hub_online,
    local,
    open_alerts,
    run_clock,
)
from tests.factories import HomeFixture, make_home

Sessions = async_sessionmaker[AsyncSession]
DAY = date(2024, 6, 13)


def day_with_bathroom_stay(home: HomeFixture, stay: tuple[datetime, datetime] | None) -> Scenario:
    """A day of moving about every 20 minutes, in the bathroom and nowhere else during `stay`."""
    s = Scenario(home).life(local(DAY, 5, 0), local(DAY, 16))
    t = local(DAY, 7)
    while t < local(DAY, 16):
        if stay is None or not stay[0] - timedelta(minutes=1) <= t <= stay[1]:
            s.add("living-motion", t)
        t += timedelta(minutes=20)
    if stay is not None:
        t = stay[0]
        while t < stay[1]:
            s.add("bathroom-motion", t)
            t += timedelta(minutes=7)
        s.add("kitchen-motion", stay[1] + timedelta(minutes=1))
    return s


async def homes(sessionmaker: Sessions, engine: AsyncEngine, n: int) -> list[HomeFixture]:
    """Berlin residents with their hubs online."""
    made = [await make_home(sessionmaker, timezone=BERLIN) for _ in range(n)]
    for home in made:
        await hub_online(engine, home)
    return made


async def test_two_processes_and_a_restart_raise_each_episode_once(
    engine: AsyncEngine, redis: Redis, sessionmaker: Sessions, database_url: str
) -> None:
    a, b, c = await homes(sessionmaker, engine, 3)
    stays = {
        a.resident_id: (local(DAY, 10), local(DAY, 11, 10)),  # while both processes run
        b.resident_id: (local(DAY, 11, 40), local(DAY, 12, 40)),  # while both are down
        c.resident_id: None,
    }
    for home in (a, b, c):
        await day_with_bathroom_stay(home, stays[home.resident_id]).write(engine)
    residents = [a.resident_id, b.resident_id, c.resident_id]

    engines = [make_engine(database_url, pool_size=2) for _ in range(2)]
    first = [detector(e, redis) for e in engines]
    await run_clock(first, residents, local(DAY, 9), local(DAY, 11, 30))
    for e in engines:
        await e.dispose()  # both processes stop
    assert all(d.evaluations > 0 for d in first), "both processes should have taken residents"
    assert sum(d.evaluations for d in first) == 3 * 31  # each resident once per instant

    engines = [make_engine(database_url, pool_size=2) for _ in range(2)]
    second = [detector(e, redis) for e in engines]  # restarted: nothing in memory
    await run_clock(second, residents, local(DAY, 13), local(DAY, 14))
    for e in engines:
        await e.dispose()

    [alert_a] = await open_alerts(engine, a.resident_id)
    assert (alert_a["kind"], alert_a["count"]) == ("long_bathroom_stay", 1)
    assert alert_a["opened_at"] == local(DAY, 10, 45)
    assert await timeline(engine, alert_a["id"]) == ["raised", "auto-resolved"]
    assert [m.state for m in await announcements(redis, alert_a["id"])] == ["open", "resolved"]

    # B's stay began and ended while no process ran: the restart caught up on it.
    [alert_b] = await open_alerts(engine, b.resident_id)
    assert (alert_b["kind"], alert_b["count"]) == ("long_bathroom_stay", 1)
    assert alert_b["opened_at"] == local(DAY, 12, 25)
    assert await timeline(engine, alert_b["id"]) == ["raised", "auto-resolved"]
    assert [m.state for m in await announcements(redis, alert_b["id"])] == ["resolved"]

    assert await open_alerts(engine, c.resident_id) == []


async def test_an_alert_stored_but_never_announced_is_announced_once_after_a_crash(
    engine: AsyncEngine, redis: Redis, sessionmaker: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    [home] = await homes(sessionmaker, engine, 1)
    await day_with_bathroom_stay(home, (local(DAY, 10), local(DAY, 11, 30))).write(engine)
    real_announce = detector_module.announce
    calls = {"n": 0}

    async def dies_once(redis: Redis, message: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RedisConnectionError("the process died between the commit and the XADD")
        await real_announce(redis, message)

    monkeypatch.setattr(detector_module, "announce", dies_once)
    crashing = detector(engine, redis)
    with pytest.raises(RedisConnectionError):
        await run_clock([crashing], [home.resident_id], local(DAY, 10, 30), local(DAY, 11))
    [alert] = await open_alerts(engine, home.resident_id)  # committed before the crash
    assert await announcements(redis, alert["id"]) == []

    await run_clock(
        [detector(engine, redis)], [home.resident_id], local(DAY, 10, 50), local(DAY, 11, 20)
    )
    [again] = await open_alerts(engine, home.resident_id)
    assert again["id"] == alert["id"] and again["count"] == 1
    assert [m.state for m in await announcements(redis, alert["id"])] == ["open"]


class Killed(BaseException):
    """The process stopped (SIGKILL, a power cut): nothing after this line ran."""


def _dies_at_a_resolution(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Kill the process the first time it is about to put a resolved alert on the stream,
    after the commit: the row says resolved, the stream never hears it."""
    real = alerts_module.announce_marked
    killed = {"n": 0}

    async def dies(redis: Redis, stream: str, entries: Any) -> None:
        resolving = any(
            AlertMessage.model_validate_json(e.fields["alert"]).state == "resolved" for e in entries
        )
        if resolving and killed["n"] == 0:
            killed["n"] += 1
            raise Killed
        await real(redis, stream, entries)

    monkeypatch.setattr(alerts_module, "announce_marked", dies)
    return killed


async def test_a_resolution_stored_but_never_announced_is_announced_once_after_a_crash(
    engine: AsyncEngine, redis: Redis, sessionmaker: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    [home] = await homes(sessionmaker, engine, 1)
    await day_with_bathroom_stay(home, (local(DAY, 10), local(DAY, 11, 30))).write(engine)
    residents = [home.resident_id]
    await run_clock([detector(engine, redis)], residents, local(DAY, 10, 30), local(DAY, 11))
    [alert] = await open_alerts(engine, home.resident_id)
    assert [m.state for m in await announcements(redis, alert["id"])] == ["open"]

    killed = _dies_at_a_resolution(monkeypatch)
    with pytest.raises(Killed):  # the stay ends at 11:31: resolved, then the process dies
        await run_clock([detector(engine, redis)], residents, local(DAY, 11, 5), local(DAY, 12))
    assert killed["n"] == 1
    [resolved] = await open_alerts(engine, home.resident_id)
    assert resolved["state"] == "resolved"  # committed before the crash
    assert [m.state for m in await announcements(redis, alert["id"])] == ["open"]

    # A restarted process: its first evaluation announces the resolution, later ones nothing.
    restarted = detector(engine, redis)
    restarted.resolution_grace = timedelta(0)  # the test does not wait out the 10 s
    await run_clock([restarted], residents, local(DAY, 11, 45), local(DAY, 12, 15))
    said = await announcements(redis, alert["id"])
    assert [m.state for m in said] == ["open", "resolved"]
    assert (said[1].count, said[1].last_seen_at) == (resolved["count"], resolved["last_seen_at"])
    assert await timeline(engine, alert["id"]) == ["raised", "auto-resolved"]


async def _device_alert(
    engine: AsyncEngine, redis: Redis, home: HomeFixture, kind: DeviceEventKind, at: datetime
) -> None:
    """A hub event as the gateway sends it once it committed the hub's new state."""
    await hub_online(engine, home, online=kind == DeviceEventKind.HUB_ONLINE)
    devices = DeviceAlerts(engine=engine, redis=redis, directory=Directory(engine, refresh_s=600))
    await devices.process(
        DeviceEvent(
            kind=kind,
            hub_id=home.hub_id,
            hub_serial=home.hub_serial,
            at=at,
            last_seen_at=at - timedelta(minutes=2),
            cause=OfflineCause.HEARTBEAT_TIMEOUT if kind == DeviceEventKind.HUB_OFFLINE else None,
        )
    )


async def test_a_device_alert_resolved_by_a_process_that_died_is_announced_by_the_rules(
    engine: AsyncEngine, redis: Redis, sessionmaker: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub is back, hub_offline resolves itself, the process dies before announcing it;
    a replay of the event cannot tell (nothing is open any more); the resident's next
    windowed evaluation does. Reopened by a person and resolved again: the new resolution is
    repaired too. Resolved by a person: the backend announced it, inference stays quiet."""
    [home] = await homes(sessionmaker, engine, 1)
    at = datetime.now(UTC) - timedelta(minutes=30)
    await _device_alert(engine, redis, home, DeviceEventKind.HUB_OFFLINE, at)
    [alert] = await open_alerts(engine, home.resident_id)
    assert alert["kind"] == "hub_offline"

    killed = _dies_at_a_resolution(monkeypatch)
    back = at + timedelta(minutes=10)
    with pytest.raises(Killed):
        await _device_alert(engine, redis, home, DeviceEventKind.HUB_ONLINE, back)
    assert killed["n"] == 1
    await _device_alert(engine, redis, home, DeviceEventKind.HUB_ONLINE, back)  # the replay
    assert [m.state for m in await announcements(redis, alert["id"])] == ["open"]

    judge = detector(engine, redis)
    judge.resolution_grace = timedelta(0)  # the test does not wait out the 10 s
    for minutes in (0, 5, 10):
        await judge.tick(back + timedelta(minutes=minutes), residents=[home.resident_id])
    assert [m.state for m in await announcements(redis, alert["id"])] == ["open", "resolved"]

    # Reopened by a person (the backend announces that), then resolved again by the hub's
    # return and lost again: the marker names the first resolution, not this one.
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE alerts SET state = 'open', resolved_at = NULL, resolution_note = NULL "
                "WHERE id = :a"
            ),
            {"a": alert["id"]},
        )
    killed["n"] = 0
    with pytest.raises(Killed):
        await _device_alert(engine, redis, home, DeviceEventKind.HUB_ONLINE, back)
    for minutes in (15, 20):
        await judge.tick(back + timedelta(minutes=minutes), residents=[home.resident_id])
    said = [m.state for m in await announcements(redis, alert["id"])]
    assert said == ["open", "resolved", "resolved"]
    assert await timeline(engine, alert["id"]) == ["raised", "auto-resolved", "auto-resolved"]

    # Reopened and resolved by a person: not inference's to announce, at any evaluation.
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE alerts SET state = 'resolved', resolved_at = now(), "
                "resolved_by = (SELECT id FROM users WHERE email = :e), "
                "resolution_note = 'checked the hub' WHERE id = :a"
            ),
            {"a": alert["id"], "e": home.staff_email},
        )
        await conn.execute(
            text(
                "INSERT INTO alert_events (alert_id, at, action, details) "
                "VALUES (:a, now(), 'resolved', '{}')"
            ),
            {"a": alert["id"]},
        )
    for minutes in (25, 30):
        await judge.tick(back + timedelta(minutes=minutes), residents=[home.resident_id])
    assert [m.state for m in await announcements(redis, alert["id"])] == said


async def test_the_service_runs_the_windowed_rules_on_its_clock(
    engine: AsyncEngine, redis: Redis, sessionmaker: Sessions
) -> None:
    import asyncio
    import uuid

    from sst_ai_inference.service import InferenceService
    from sst_ai_inference.settings import InferenceSettings
    from tests.ai_inference.conftest import wait_until

    [home] = await homes(sessionmaker, engine, 1)
    await day_with_bathroom_stay(home, (local(DAY, 10), local(DAY, 11, 30))).write(engine)
    now = {"t": local(DAY, 10, 40)}
    settings = InferenceSettings(
        consumer_name=f"test-{uuid.uuid4().hex[:8]}",
        block_ms=50,
        windowed_enabled=True,
        windowed_every_s=5,
    )
    service = InferenceService(
        settings=settings, engine=engine, redis=redis, clock=lambda: now["t"]
    )
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        await wait_until(lambda: _evaluated(service), within_s=60)
        assert await open_alerts(engine, home.resident_id) == []  # 40 min: under the limit
        now["t"] = local(DAY, 10, 50)  # the clock moves on
        alerts = await wait_until(lambda: open_alerts(engine, home.resident_id), within_s=60)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    [alert] = alerts
    assert alert["kind"] == "long_bathroom_stay" and alert["state"] == "open"
    assert [m.state for m in await announcements(redis, alert["id"])] == ["open"]


async def _evaluated(service: Any) -> bool:
    return bool(service.detector.evaluations)


async def test_a_resident_whose_rules_fail_is_skipped_and_the_others_are_judged(
    engine: AsyncEngine, redis: Redis, sessionmaker: Sessions
) -> None:
    from sst_ai_inference.windowed import WINDOWED_RULES, WindowedRule

    broken, fine = await homes(sessionmaker, engine, 2)
    for home in (broken, fine):
        await day_with_bathroom_stay(home, (local(DAY, 10), local(DAY, 11, 30))).write(engine)

    def explodes(view: Any, t: Any, params: Any, wake: Any) -> Any:
        if view.resident_id == broken.resident_id:
            raise ZeroDivisionError("a bug that only this resident's data reaches")
        return WINDOWED_RULES[0].judge(view, t, params, wake)

    rules = (WindowedRule(**{**WINDOWED_RULES[0].__dict__, "judge": explodes}), *WINDOWED_RULES[1:])
    judge = detector(engine, redis, rules=rules)
    await run_clock(
        [judge], [broken.resident_id, fine.resident_id], local(DAY, 10, 30), local(DAY, 11)
    )
    assert judge.failures == 7  # the broken resident, at each of the 7 instants
    [alert] = await open_alerts(engine, fine.resident_id)
    assert alert["kind"] == "long_bathroom_stay"
    assert await open_alerts(engine, broken.resident_id) == []


async def test_two_services_sharing_one_residents_readings_raise_one_alert(
    engine: AsyncEngine, redis: Redis, sessionmaker: Sessions
) -> None:
    """Entries of one resident spread over two consumers; the windowed state is unaffected."""
    import asyncio
    import uuid

    from sst_ai_inference.service import InferenceService
    from sst_ai_inference.settings import InferenceSettings
    from sst_core.const import INFERENCE_GROUP, READINGS_STREAM, URGENT_STREAM
    from sst_core.messages import StoredReading, datetime_to_ms, encode_readings_entry
    from sst_core.streams import ensure_group
    from tests.ai_inference.conftest import wait_consumed, wait_until

    [home] = await homes(sessionmaker, engine, 1)
    day = day_with_bathroom_stay(home, (local(DAY, 10), local(DAY, 11, 30)))
    kind_of = {sensor_id: key for key, sensor_id in home.sensors.items()}
    kinds_by_key = {
        "living-temp": "temperature",
        "bed-pressure": "bed",
        "living-motion": "motion",
        "bathroom-motion": "motion",
        "kitchen-motion": "motion",
    }
    await ensure_group(redis, URGENT_STREAM, INFERENCE_GROUP)
    # The clock starts where the day's readings start: a clock ahead of readings still being
    # written would rightly see silent sensors.
    now = {"t": local(DAY, 5)}
    counted: dict[str, int] = {}

    class Counting(InferenceService):
        async def handle(self, entries: list[Any]) -> None:
            counted[self.settings.consumer_name] = counted.get(
                self.settings.consumer_name, 0
            ) + len(entries)
            await super().handle(entries)

    services = [
        Counting(
            settings=InferenceSettings(
                consumer_name=f"test-{uuid.uuid4().hex[:8]}",
                block_ms=50,
                batch_size=1,
                windowed_enabled=True,
                windowed_every_s=5,
            ),
            engine=engine,
            redis=redis,
            clock=lambda: now["t"],
        )
        for _ in range(2)
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(s.run(stop)) for s in services]
    try:
        # As the gateway does: each batch into PostgreSQL first, then one stream entry.
        rows = sorted(day.rows)
        last: Any = b""
        for i in range(0, len(rows), 10):
            batch = rows[i : i + 10]
            await day.write(engine, batch)
            readings = [
                StoredReading(
                    sensor_id=sensor,
                    resident_id=resident,
                    kind=kinds_by_key[kind_of[sensor]],
                    ts=datetime_to_ms(at),
                    value=value,
                )
                for at, sensor, resident, value in batch
            ]
            await redis.xadd(READINGS_STREAM, encode_readings_entry(home.hub_serial, readings))
            # The hub's emergency button reports "not pressed" with each batch: an urgent
            # entry (inference reads only those) that raises nothing, spread over both.
            released = StoredReading(
                sensor_id=home.sensors["button-1"],
                resident_id=home.resident_id,
                kind="emergency_button",
                ts=datetime_to_ms(batch[-1][0]),
                value=0.0,
            )
            last = await redis.xadd(
                URGENT_STREAM, encode_readings_entry(home.hub_serial, [released])
            )
        await wait_consumed(redis, last, within_s=60)
        for t in (local(DAY, 10, 40), local(DAY, 10, 50), local(DAY, 11)):
            now["t"] = t
            await asyncio.sleep(1.5)
        alerts = await wait_until(lambda: open_alerts(engine, home.resident_id), within_s=60)
        await asyncio.sleep(2)  # both processes keep judging: nothing more may appear
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    assert len(counted) == 2 and all(counted.values()), counted
    got = await open_alerts(engine, home.resident_id)
    assert len(got) == 1, [(a["kind"], a["opened_at"], a["count"], a["explanation"]) for a in got]
    [alert] = got
    assert alert["kind"] == "long_bathroom_stay" and alert["count"] == 1
    assert alert["opened_at"] == local(DAY, 10, 45)
    assert [m.state for m in await announcements(redis, alert["id"])] == ["open"]
    assert alerts
