"""Run the inference service in-process against the real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_ai_inference.service import InferenceService
from sst_ai_inference.settings import InferenceSettings
from sst_core.const import ALERTS_STREAM, INFERENCE_GROUP, READINGS_STREAM, URGENT_STREAM
from sst_core.domain import URGENT_SENSOR_KINDS
from sst_core.messages import AlertMessage, StoredReading, datetime_to_ms, encode_readings_entry
from sst_core.objects import LocalStore
from sst_core.streams import ensure_group
from tests.factories import HomeFixture

KIND_OF_KEY = {
    "fall-1": "fall_detector",
    "button-1": "emergency_button",
    "smoke-1": "smoke",
    "bathroom-motion": "motion",
    "bed-pressure": "bed",
}

RunService = Callable[..., AbstractAsyncContextManager[InferenceService]]


def reading(home: HomeFixture, key: str, at: datetime, value: float = 1.0) -> StoredReading:
    """A reading of one of the home's sensors, resolved as the gateway resolves it."""
    return StoredReading(
        sensor_id=home.sensors[key],
        resident_id=home.resident_id,
        kind=KIND_OF_KEY[key],
        ts=datetime_to_ms(at),
        value=value,
    )


async def publish(redis: Redis, home: HomeFixture, *readings: StoredReading) -> bytes | None:
    """Stream readings exactly as the gateway does: all of them on the readings stream, the
    urgent ones (what inference reads) on the urgent stream too; the urgent entry's id, or
    None when there was nothing urgent (inference then has nothing to read)."""
    await redis.xadd(READINGS_STREAM, encode_readings_entry(home.hub_serial, list(readings)))
    urgent = [r for r in readings if r.kind in URGENT_SENSOR_KINDS]
    if not urgent:
        return None
    entry_id: Any = await redis.xadd(URGENT_STREAM, encode_readings_entry(home.hub_serial, urgent))
    return entry_id


def _id(value: bytes | str) -> tuple[int, int]:
    raw = value.decode() if isinstance(value, bytes) else value
    ms, seq = raw.split("-")
    return int(ms), int(seq)


async def wait_until(check: Callable[[], Awaitable[Any]], *, within_s: float = 15.0) -> Any:
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + within_s
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within_s}s")
        await asyncio.sleep(0.05)


async def wait_consumed(redis: Redis, entry_id: bytes | None, *, within_s: float = 15.0) -> None:
    """Wait until the inference group delivered `entry_id` of the urgent stream and
    acknowledged everything; None (nothing urgent was published): nothing to wait for."""
    if entry_id is None:
        return

    async def done() -> bool:
        for group in await redis.xinfo_groups(URGENT_STREAM):
            if group["name"] in (INFERENCE_GROUP, INFERENCE_GROUP.encode()):
                delivered = _id(group["last-delivered-id"]) >= _id(entry_id)
                return delivered and group["pending"] == 0
        return False

    await wait_until(done, within_s=within_s)


async def alerts_of(engine: AsyncEngine, resident_id: int) -> list[Any]:
    """Every alert row of a resident, oldest first."""
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT * FROM alerts WHERE resident_id = :r ORDER BY id"), {"r": resident_id}
        )
        return list(result.mappings().all())


async def timeline(engine: AsyncEngine, alert_id: int) -> list[str]:
    """Actions on an alert's timeline, in order."""
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT action FROM alert_events WHERE alert_id = :a ORDER BY id"),
            {"a": alert_id},
        )
        return list(result.scalars().all())


async def announcements(redis: Redis, alert_id: int) -> list[AlertMessage]:
    """Alerts-stream entries about one alert, decoded as the backend decodes them."""
    entries = await redis.xrange(ALERTS_STREAM) or []
    messages = [AlertMessage.from_stream(fields) for _, fields in entries if fields]
    return [m for m in messages if m.id == alert_id]


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    """A local object store of this test (where routine-model artifacts go)."""
    return LocalStore(tmp_path / "objects")


@pytest.fixture
async def run_service(engine: AsyncEngine, redis: Redis) -> RunService:
    """Start an inference consumer (a task in this loop) for the duration of a block."""
    await ensure_group(redis, URGENT_STREAM, INFERENCE_GROUP)

    @asynccontextmanager
    async def running(
        consumer: str | None = None, **overrides: Any
    ) -> AsyncIterator[InferenceService]:
        # The windowed rules judge every resident of the test database on the wall clock;
        # tests of the readings path run without them (tests/ai_inference/test_windowed*.py
        # run them, on their own clocks).
        settings = InferenceSettings(
            consumer_name=consumer or f"test-{uuid.uuid4().hex[:8]}",
            block_ms=50,
            **{"windowed_enabled": False, **overrides},
        )
        service = InferenceService(settings=settings, engine=engine, redis=redis)
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        try:
            yield service
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=10)

    return running
