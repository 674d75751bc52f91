"""Hub presence and sensor batteries, end to end on the real services.

hub (reference agent or a raw publisher) -> Mosquitto -> gateway -> PostgreSQL + the
device-events stream -> inference -> alerts (row, timeline, alerts stream).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_ai_inference.service import InferenceService
from sst_ai_inference.settings import InferenceSettings
from sst_core.const import ALERTS_STREAM, DEVICE_EVENTS_STREAM, INFERENCE_GROUP, hub_topic
from sst_core.device_messages import DeviceEvent
from sst_core.messages import AlertMessage
from sst_devices.hub_agent import HubAgent
from sst_hub_gateway.service import Gateway
from tests.conftest import MQTT_HOST, MQTT_PASSWORD, MQTT_PORT, MQTT_USERNAME
from tests.devices.conftest import clear_retained
from tests.factories import HomeFixture, make_home, zone_at_midday
from tests.hub_gateway.conftest import dead_letters, gateway_settings
from tests.hub_gateway.helpers import HubPublisher, TcpProxy, eventually, now_ms, running

TIMEOUT_S = 1.5  # heartbeat timeout of the test gateway


@asynccontextmanager
async def inference(engine: AsyncEngine, redis: Redis) -> AsyncIterator[InferenceService]:
    """An inference consumer in this loop (readings and device events)."""
    settings = InferenceSettings(consumer_name=f"test-{uuid.uuid4().hex[:8]}", block_ms=50)
    service = InferenceService(settings=settings, engine=engine, redis=redis)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.fixture(scope="module")
async def gateway(database_url: str, redis: Redis) -> AsyncIterator[Gateway]:
    """A gateway that gives up on a silent hub after 1.5 s and looks every 0.2 s."""
    gw = Gateway(gateway_settings(hub_heartbeat_timeout_s=TIMEOUT_S, presence_sweep_interval_s=0.2))
    async with running(gw):
        yield gw


async def alerts(engine: AsyncEngine, resident_id: int, kind: str) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM alerts WHERE resident_id = :r AND kind = :k ORDER BY id"),
            {"r": resident_id, "k": kind},
        )
        return list(rows.mappings().all())


async def timeline(engine: AsyncEngine, alert_id: int) -> list[tuple[str, dict[str, Any]]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT action, details FROM alert_events WHERE alert_id = :a ORDER BY id"),
            {"a": alert_id},
        )
        return [(r.action, r.details) for r in rows]


async def hub_state(engine: AsyncEngine, hub_id: int) -> tuple[bool, Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT online, last_seen_at FROM hubs WHERE id = :id"), {"id": hub_id}
            )
        ).one()
    return row.online, row.last_seen_at


async def device_events(redis: Redis, hub_serial: str) -> list[DeviceEvent]:
    entries = await redis.xrange(DEVICE_EVENTS_STREAM) or []
    events = [DeviceEvent.from_stream(fields) for _, fields in entries if fields]
    return [e for e in events if e.hub_serial == hub_serial]


async def announced(redis: Redis, alert_id: int) -> list[AlertMessage]:
    entries = await redis.xrange(ALERTS_STREAM) or []
    messages = [AlertMessage.from_stream(fields) for _, fields in entries if fields]
    return [m for m in messages if m.id == alert_id]


async def all_consumed(redis: Redis) -> bool:
    """Inference has taken and acknowledged every device event so far."""
    last = (await redis.xinfo_stream(DEVICE_EVENTS_STREAM))["last-generated-id"]
    for group in await redis.xinfo_groups(DEVICE_EVENTS_STREAM):
        if group["name"] in (INFERENCE_GROUP, INFERENCE_GROUP.encode()):
            return bool(group["last-delivered-id"] == last and group["pending"] == 0)
    return False


def agent(serial: str, **options: Any) -> HubAgent:
    return HubAgent(
        serial,
        host=options.pop("host", MQTT_HOST),
        port=options.pop("port", MQTT_PORT),
        username=MQTT_USERNAME,
        password=MQTT_PASSWORD,
        client_id=f"{serial}-{uuid.uuid4().hex[:6]}",
        firmware="test-fw-2",
        **options,
    )


async def test_silent_hub_raises_one_offline_alert_then_resolves_when_back(
    gateway: Gateway,
    engine: AsyncEngine,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # A home where it is about noon: the words say "since 14:03" only when the hub was last
    # seen on the alert's local day (across a local midnight they name the day too, and the
    # expected text below would be wrong for a run in those seconds).
    home = await make_home(sessionmaker, timezone=zone_at_midday())
    status = hub_topic(home.hub_serial, "status")
    publisher = HubPublisher()
    try:
        async with inference(engine, redis):
            # One heartbeat, then silence (no last will: the network just stopped).
            await publisher.publish(status, {"v": 1, "online": True, "ts": now_ms()})

            async def online() -> bool:
                return (await hub_state(engine, home.hub_id))[0]

            await eventually(online)
            _, last_seen = await hub_state(engine, home.hub_id)

            async def offline_alert() -> bool:
                return len(await alerts(engine, home.resident_id, "hub_offline")) == 1

            await eventually(offline_alert, within=TIMEOUT_S + 5)
            # More sweeps find nothing new: still one alert, counted once.
            await asyncio.sleep(1.0)
            await eventually(lambda: all_consumed(redis))
            [alert] = await alerts(engine, home.resident_id, "hub_offline")
            assert (alert["severity"], alert["state"], alert["count"]) == ("high", "open", 1)
            async with engine.connect() as conn:
                name = await conn.scalar(
                    text("SELECT full_name FROM residents WHERE id = :r"), {"r": home.resident_id}
                )
            since = last_seen.astimezone(ZoneInfo(home.timezone)).strftime("%H:%M")
            assert alert["explanation"] == (
                f"The hub in {name}'s home has not reported since {since} (home time); "
                "sensors there are not watching. Check the power and the internet connection."
            )
            assert [e.kind for e in await device_events(redis, home.hub_serial)] == [
                "hub_online",
                "hub_offline",
            ]

            # The reference hub comes back and keeps beating: the alert resolves itself.
            hub = agent(home.hub_serial, heartbeat_s=0.3)
            await asyncio.to_thread(hub.connect)
            try:

                async def resolved() -> bool:
                    [row] = await alerts(engine, home.resident_id, "hub_offline")
                    return bool(row["state"] == "resolved")

                await eventually(resolved)
                await asyncio.sleep(TIMEOUT_S + 0.5)  # heartbeats keep it online
                assert (await hub_state(engine, home.hub_id))[0] is True
                [alert] = await alerts(engine, home.resident_id, "hub_offline")
                assert alert["resolution_note"] == "auto-resolved: hub back online"
                assert alert["resolved_by"] is None
                steps = await timeline(engine, alert["id"])
                assert [action for action, _ in steps] == ["raised", "auto-resolved"]
                assert steps[1][1]["reason"] == "hub back online"
                states = [m.state for m in await announced(redis, alert["id"])]
                assert states == ["open", "resolved"]
            finally:
                await asyncio.to_thread(hub.disconnect)
    finally:
        publisher.close()
        clear_retained(status)


async def test_a_hub_with_a_longer_timeout_of_its_own_stays_online(
    gateway: Gateway, home: HomeFixture, sessionmaker: Any, engine: AsyncEngine
) -> None:
    """hubs.heartbeat_timeout_s overrides the gateway's default, in both directions."""
    patient = await make_home(sessionmaker)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE hubs SET heartbeat_timeout_s = 600 WHERE id = :h"), {"h": patient.hub_id}
        )
    publisher = HubPublisher()
    topics = [hub_topic(h.hub_serial, "status") for h in (home, patient)]
    try:
        for topic in topics:
            await publisher.publish(topic, {"v": 1, "online": True, "ts": now_ms()})

        async def both_online() -> bool:
            return all([(await hub_state(engine, h.hub_id))[0] for h in (home, patient)])

        await eventually(both_online)

        async def default_one_offline() -> bool:
            return not (await hub_state(engine, home.hub_id))[0]

        # The default (1.5 s here) takes the first hub offline; sweeps go on meanwhile.
        await eventually(default_one_offline, within=TIMEOUT_S + 5)
        await asyncio.sleep(1.0)
        assert (await hub_state(engine, patient.hub_id))[0] is True
        # Its own timeout shortened to 30 s and its last sign of life 40 s ago: offline.
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE hubs SET heartbeat_timeout_s = 30, "
                    "last_seen_at = now() - interval '40 seconds' WHERE id = :h"
                ),
                {"h": patient.hub_id},
            )

        async def patient_offline() -> bool:
            return not (await hub_state(engine, patient.hub_id))[0]

        await eventually(patient_offline, within=5)
    finally:
        publisher.close()
        for topic in topics:
            clear_retained(topic)


async def test_last_will_on_an_abrupt_disconnect_marks_the_hub_offline(
    home: HomeFixture, engine: AsyncEngine, redis: Redis
) -> None:
    # A long heartbeat timeout, the hub's own (the module's 1.5 s gateway may be running
    # too and this hub sends no heartbeat): only the last will can say offline here.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE hubs SET heartbeat_timeout_s = 600 WHERE id = :h"), {"h": home.hub_id}
        )
    gw = Gateway(gateway_settings(hub_heartbeat_timeout_s=600))
    proxy = TcpProxy(MQTT_HOST, MQTT_PORT)
    await proxy.start()
    hub = agent(home.hub_serial, host="127.0.0.1", port=proxy.port, keepalive=5)
    try:
        async with running(gw), inference(engine, redis):
            await asyncio.to_thread(hub.connect)

            async def online() -> bool:
                return (await hub_state(engine, home.hub_id))[0]

            await eventually(online)
            await asyncio.sleep(3)
            await proxy.cut()  # the hub's power is cut: no DISCONNECT, the broker sends the will

            async def offline_alert() -> bool:
                return bool(await alerts(engine, home.resident_id, "hub_offline"))

            await eventually(offline_alert)
            assert (await hub_state(engine, home.hub_id))[0] is False
            [alert] = await alerts(engine, home.resident_id, "hub_offline")
            assert "lost its connection at" in alert["explanation"]
            [offline] = [
                e for e in await device_events(redis, home.hub_serial) if e.kind == "hub_offline"
            ]
            assert offline.cause == "last_will"

            await proxy.start()  # power back: paho reconnects, the hub says online

            async def resolved() -> bool:
                [row] = await alerts(engine, home.resident_id, "hub_offline")
                return bool(row["state"] == "resolved")

            await eventually(resolved, within=20)
    finally:
        await asyncio.to_thread(hub.disconnect)
        await proxy.cut()
        clear_retained(hub_topic(home.hub_serial, "status"))


async def test_low_battery_is_one_alert_until_the_batteries_are_replaced(
    gateway: Gateway, home: HomeFixture, engine: AsyncEngine, redis: Redis
) -> None:
    status = hub_topic(home.hub_serial, "status")
    publisher = HubPublisher()

    async def beat(**levels: float) -> None:
        batteries = {key.replace("_", "-"): pct for key, pct in levels.items()}
        await publisher.publish(
            status, {"v": 1, "online": True, "ts": now_ms(), "batteries": batteries}
        )

        async def stored() -> bool:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text("SELECT key, battery_pct FROM sensors WHERE hub_id = :h"),
                    {"h": home.hub_id},
                )
                now = {r.key: r.battery_pct for r in rows}
            return all(now.get(key) == pct for key, pct in batteries.items() if key in now)

        await eventually(stored)

    try:
        async with inference(engine, redis):
            # The front door's battery hovers around 20 %: one alert, counted once.
            for pct in (60, 18, 17, 19, 21, 19, 15, 24):
                await beat(front_door=pct, bathroom_motion=90)
            await eventually(lambda: all_consumed(redis))
            [alert] = await alerts(engine, home.resident_id, "low_battery")
            assert (alert["severity"], alert["state"], alert["count"]) == ("medium", "open", 1)
            assert alert["sensor_id"] == home.sensors["front-door"]
            assert alert["explanation"].startswith(
                "The battery of the door sensor in the Entrance is at 18%."
            )
            # The same words as keys with raw values: the sensor's kind, the room and its kind.
            where = {"sensor_kind": "door", "room": "Entrance", "room_kind": "entrance"}
            assert alert["text"]["title"] == {"key": "alert.low_battery.title", "params": where}
            assert alert["text"]["explanation"]["params"] == {
                **where,
                "pct": 18,
                "name": f"Resident {home.hub_serial[4:]}",
            }
            battery_events = [
                (e.kind, e.battery_pct)
                for e in await device_events(redis, home.hub_serial)
                if e.kind.startswith("battery")
            ]
            # The gateway reports crossings (21 -> 19 is one); inference sees the sensor is
            # already on the open alert and counts nothing.
            assert battery_events == [("battery_low", 18), ("battery_low", 19)]

            # A second sensor runs low: the open alert repeats (count 2), nothing new opens.
            await beat(front_door=24, bathroom_motion=12)
            await eventually(lambda: all_consumed(redis))
            [alert] = await alerts(engine, home.resident_id, "low_battery")
            assert alert["count"] == 2

            # One replaced is not enough; both replaced resolve it.
            await beat(front_door=100, bathroom_motion=12)
            await eventually(lambda: all_consumed(redis))
            [alert] = await alerts(engine, home.resident_id, "low_battery")
            assert alert["state"] == "open"
            await beat(front_door=100, bathroom_motion=98)
            await eventually(lambda: all_consumed(redis))
            [alert] = await alerts(engine, home.resident_id, "low_battery")
            assert alert["state"] == "resolved"
            assert alert["resolution_note"] == "auto-resolved: batteries replaced"
            steps = [action for action, _ in await timeline(engine, alert["id"])]
            assert steps == ["raised", "repeated", "auto-resolved"]

            # A heartbeat naming an unknown sensor keeps the rest and dead-letters that level.
            await publisher.publish(
                status,
                {"v": 1, "online": True, "ts": now_ms(), "batteries": {"attic-x": 5, "fall-1": 7}},
            )

            async def refused() -> bool:
                return any(
                    "attic-x" in r for _, r, _ in await dead_letters(engine, home.hub_serial)
                )

            await eventually(refused)
            async with engine.connect() as conn:
                fall = await conn.scalar(
                    text("SELECT battery_pct FROM sensors WHERE id = :s"),
                    {"s": home.sensors["fall-1"]},
                )
            assert fall == 7
    finally:
        publisher.close()
        clear_retained(status)
