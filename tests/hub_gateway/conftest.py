"""A gateway running in the test's event loop against the real broker, database and Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_core.const import READINGS_STREAM
from sst_core.messages import StoredReading, decode_readings_entry
from sst_hub_gateway.service import Gateway
from sst_hub_gateway.settings import GatewaySettings
from tests.hub_gateway.helpers import HubPublisher, running


def gateway_settings(**overrides: Any) -> GatewaySettings:
    """Settings for a test gateway: its own client id and share group, quick lookups."""
    tag = uuid.uuid4().hex[:10]
    values: dict[str, Any] = {
        "mqtt_client_id": f"sst-gw-test-{tag}",
        "mqtt_share_group": f"sst-gw-test-{tag}",
        "directory_miss_retry_s": 0.3,
        "retry_max_delay_s": 0.5,
        "metrics_port": 0,  # a test that scrapes picks a free port itself
    }
    values.update(overrides)
    return GatewaySettings(**values)


@pytest.fixture(scope="module")
async def gateway(database_url: str, redis: Redis) -> AsyncIterator[Gateway]:
    """One gateway per test module, subscribed before any test publishes.

    Module scope, not session: a module that runs its own gateways (outages) must not
    have this one storing the same messages behind its back.
    """
    gw = Gateway(gateway_settings())
    async with running(gw):
        yield gw


@pytest.fixture
def publisher() -> Iterator[HubPublisher]:
    """A hub-like MQTT client."""
    pub = HubPublisher()
    yield pub
    pub.close()


async def stored_readings(engine: AsyncEngine, sensor_ids: list[int]) -> list[tuple[Any, ...]]:
    """Rows of `readings` for these sensors, oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT time, sensor_id, resident_id, value FROM readings "
                "WHERE sensor_id = ANY(:ids) ORDER BY time, sensor_id"
            ),
            {"ids": sensor_ids},
        )
        return [tuple(r) for r in rows]


async def dead_letters(engine: AsyncEngine, hub_serial: str) -> list[tuple[str, str, str]]:
    """(topic, reason, excerpt) of this hub's dead letters, oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT topic, reason, excerpt FROM dead_letters "
                "WHERE hub_serial = :serial ORDER BY id"
            ),
            {"serial": hub_serial},
        )
        return [(r.topic, r.reason, r.excerpt) for r in rows]


async def stream_entries(
    redis: Redis, hub_serial: str, stream: str = READINGS_STREAM
) -> list[list[StoredReading]]:
    """Readings-stream (or urgent-stream) entries this hub caused, decoded."""
    entries = await redis.xrange(stream) or []
    out = []
    for _id, fields in entries:
        # Other suites share this stream (some add deliberately malformed entries).
        if fields and fields.get(b"hub") == hub_serial.encode():
            out.append(decode_readings_entry(fields)[1])
    return out
