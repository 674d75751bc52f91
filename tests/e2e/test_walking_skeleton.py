"""One fall travels hub → MQTT → gateway → PostgreSQL → inference → Redis → a staff browser.

Each service runs as its own process on the real PostgreSQL, Redis and Mosquitto, as
`make run` starts them. The second test kills services mid-flow and shows nothing is lost.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import paho.mqtt.client as mqtt
import pytest
import socketio
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_core.const import ALERT_EVENT, hub_topic
from sst_core.db.models import Alert, DeadLetter
from sst_devices.hub_agent import HubAgent
from tests.conftest import MQTT_HOST, MQTT_PASSWORD, MQTT_PORT, MQTT_USERNAME
from tests.e2e.hubs import gateway_listening
from tests.e2e.processes import Service, start_platform
from tests.factories import HomeFixture
from tests.ports import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def platform(
    test_env: dict[str, str], database_url: str
) -> AsyncIterator[dict[str, Service]]:
    """The gateway, inference and backend, each as its own process."""
    run_id = uuid.uuid4().hex[:8]
    port = free_port()
    env = {
        **test_env,
        "SST_PORT": str(port),
        "SST_MQTT_CLIENT_ID": f"e2e-gateway-{run_id}",
        "SST_MQTT_SHARE_GROUP": f"e2e-{run_id}",
        "SST_LOG_LEVEL": "INFO",
    }
    services = {
        "gateway": Service("gateway", ["sst-hub-gateway"], env),
        # This path is about instant alerts; the windowed rules would judge test homes that
        # have no day of life on the wall clock (no_wake_up...). They have their own tests.
        "inference": Service(
            "inference", ["sst-ai-inference"], {**env, "SST_INFERENCE_WINDOWED_ENABLED": "false"}
        ),
        "backend": Service("backend", ["sst-backend", "serve"], env),
    }
    await start_platform(services, port)
    yield services
    for service in services.values():
        service.stop()


def publish_raw(home: HomeFixture, kind: str, payload: bytes) -> None:
    """Publish as a misbehaving hub would, bypassing the reference agent's encoder."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"raw-{uuid.uuid4().hex}")
    client.username_pw_set(MQTT_USERNAME, MQTT_PASSWORD)
    client.connect(MQTT_HOST, MQTT_PORT)
    client.loop_start()
    try:
        client.publish(hub_topic(home.hub_serial, kind), payload, qos=1).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


async def staff_socket(
    base: str, home: HomeFixture
) -> tuple[socketio.AsyncClient, asyncio.Queue[dict]]:
    """A staff member's browser, logged in and following their residents."""
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        response = await http.post(
            "/api/v1/auth/login", json={"email": home.staff_email, "password": home.password}
        )
    assert response.status_code == 200, response.text
    client = socketio.AsyncClient(reconnection=False)
    inbox: asyncio.Queue[dict] = asyncio.Queue()
    client.on(ALERT_EVENT, inbox.put)
    await client.connect(base, auth={"token": response.json()["access_token"]}, wait_timeout=5)
    return client, inbox


@asynccontextmanager
async def hub_and_staff(
    platform: dict[str, Service], engine: AsyncEngine, home: HomeFixture
) -> AsyncIterator[tuple[HubAgent, asyncio.Queue[dict]]]:
    """The home's hub, connected to the gateway, and the alerts a staff member's browser gets;
    both are disconnected on leaving."""
    agent = await gateway_listening(platform, engine, home)
    client, inbox = await staff_socket(platform["backend"].env["_BASE_URL"], home)
    try:
        yield agent, inbox
    finally:
        await client.disconnect()
        agent.disconnect()


async def next_alert(
    inbox: asyncio.Queue[dict], resident_id: int, kind: str, within: float
) -> dict:
    """The next alert event for this resident and kind (others' events are ignored)."""
    deadline = time.monotonic() + within
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {kind} alert for resident {resident_id} within {within} s")
        event = await asyncio.wait_for(inbox.get(), timeout=remaining)
        if event["resident_id"] == resident_id and event["kind"] == kind:
            return event


async def test_fall_reaches_staff_browser_and_database(
    platform: dict[str, Service],
    home: HomeFixture,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with hub_and_staff(platform, engine, home) as (agent, inbox):
        fall_ts = int(time.time() * 1000)
        started = time.monotonic()
        agent.publish_event("fall-1", fall_ts, 1.0)
        agent.flush()
        event = await next_alert(inbox, home.resident_id, "fall", within=10)
        latency = time.monotonic() - started
    print(f"\nfall published -> alert in the staff browser: {latency * 1000:.0f} ms")
    assert event["severity"] == "critical"
    assert event["state"] == "open"
    assert event["room"] == "Bathroom"
    assert "Bathroom" in event["explanation"]

    async with engine.connect() as conn:
        stored = await conn.scalar(
            text(
                "SELECT count(*) FROM readings WHERE sensor_id = :s AND resident_id = :r "
                "AND time = to_timestamp(:t / 1000.0) AND value = 1"
            ),
            {"s": home.sensors["fall-1"], "r": home.resident_id, "t": fall_ts},
        )
    async with sessionmaker() as session:
        alert = await session.scalar(
            select(Alert).where(Alert.resident_id == home.resident_id, Alert.kind == "fall")
        )
    assert stored == 1
    assert alert is not None
    assert (alert.id, alert.severity, alert.state) == (event["id"], "critical", "open")


async def test_malformed_payload_is_dead_lettered_and_gateway_goes_on(
    platform: dict[str, Service],
    home: HomeFixture,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with hub_and_staff(platform, engine, home) as (agent, inbox):
        publish_raw(home, "events", b"{this is not json")
        agent.publish_event("button-1", int(time.time() * 1000), 1.0)
        agent.flush()
        event = await next_alert(inbox, home.resident_id, "emergency_button", within=10)
    assert event["severity"] == "critical"
    async with sessionmaker() as session:
        reasons = (
            await session.scalars(
                select(DeadLetter.reason).where(DeadLetter.hub_serial == home.hub_serial)
            )
        ).all()
    assert any("JSON" in reason for reason in reasons), reasons
    platform["gateway"].assert_running()


async def test_nothing_is_lost_when_services_are_killed(
    platform: dict[str, Service],
    home: HomeFixture,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with hub_and_staff(platform, engine, home) as (agent, inbox):
        # Inference dies: the reading waits in the stream's consumer group for its return.
        platform["inference"].kill()
        agent.publish_event("smoke-1", int(time.time() * 1000), 1.0)
        agent.flush()
        await asyncio.sleep(1.0)
        assert inbox.empty()
        platform["inference"].start()
        smoke = await next_alert(inbox, home.resident_id, "smoke", within=20)

        # The gateway dies: the broker keeps the QoS 1 event for its persistent session.
        platform["gateway"].kill()
        fall_ts = int(time.time() * 1000)
        agent.publish_event("fall-1", fall_ts, 1.0)
        agent.flush()
        platform["gateway"].start()
        fall = await next_alert(inbox, home.resident_id, "fall", within=20)
    assert smoke["severity"] == "critical"
    assert fall["severity"] == "critical"
    async with sessionmaker() as session:
        alerts = (
            await session.scalars(select(Alert).where(Alert.resident_id == home.resident_id))
        ).all()
    assert sorted(a.kind for a in alerts) == ["fall", "smoke"]
    assert all(a.count == 1 for a in alerts), [(a.kind, a.count) for a in alerts]
