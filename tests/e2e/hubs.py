"""A test home's hub on the real broker, for the end-to-end tests."""

from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_devices.hub_agent import HubAgent
from tests.conftest import MQTT_HOST, MQTT_PASSWORD, MQTT_PORT, MQTT_USERNAME
from tests.e2e.processes import Service, eventually
from tests.factories import HomeFixture


async def gateway_listening(
    platform: dict[str, Service], engine: AsyncEngine, home: HomeFixture
) -> HubAgent:
    """Connect the home's hub; it reports the temperature until the gateway has stored it."""
    agent = HubAgent(
        home.hub_serial,
        host=MQTT_HOST,
        port=MQTT_PORT,
        username=MQTT_USERNAME,
        password=MQTT_PASSWORD,
    )
    agent.connect()
    sensor = home.sensors["living-temp"]

    async def stored() -> bool:
        platform["gateway"].assert_running()
        agent.publish_readings([("living-temp", int(time.time() * 1000), 21.5)])
        async with engine.connect() as conn:
            count = await conn.scalar(
                text("SELECT count(*) FROM readings WHERE sensor_id = :s"), {"s": sensor}
            )
        return bool(count)

    await eventually(stored, 30, "the gateway to store the hub's readings")
    return agent
