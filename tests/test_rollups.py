"""The platform-kept hourly rollups on plain PostgreSQL: incremental, exact, late data counted."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_backend.rollup_job import run_rollups
from sst_core.db import rollups
from tests.factories import HomeFixture
from tests.readings_data import insert_readings, refresh

HOUR = timedelta(hours=1)


async def _rollup(
    engine: AsyncEngine, sensor_id: int
) -> dict[datetime, tuple[int, float, float, float]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                f"SELECT bucket, readings, value_sum, value_min, value_max FROM {rollups.VIEW} "
                "WHERE sensor_id = :s ORDER BY bucket"
            ),
            {"s": sensor_id},
        )
        return {r.bucket: (r.readings, r.value_sum, r.value_min, r.value_max) for r in rows}


async def _truth(
    engine: AsyncEngine, sensor_id: int
) -> dict[datetime, tuple[int, float, float, float]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT date_bin('1 hour', time, '2000-01-01') AS bucket, count(*) AS n, "
                "sum(value) AS s, min(value) AS lo, max(value) AS hi FROM readings "
                "WHERE sensor_id = :s GROUP BY 1 ORDER BY 1"
            ),
            {"s": sensor_id},
        )
        return {r.bucket: (r.n, r.s, r.lo, r.hi) for r in rows}


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


async def test_refresh_aggregates_exactly_what_was_written(
    engine: AsyncEngine, home: HomeFixture
) -> None:
    sensor, rid = home.sensors["living-temp"], home.resident_id
    base = _hour(datetime.now(UTC)) - 5 * HOUR
    rows = [(base + timedelta(minutes=7 * i), sensor, rid, 20.0 + (i % 5)) for i in range(40)]
    await insert_readings(engine, rows)
    result = await refresh(engine)
    assert result.layout == "partman" and result.buckets >= 5
    rollup = await _rollup(engine, sensor)
    assert rollup == await _truth(engine, sensor)
    first = rollup[base]
    assert first == (9, sum(20.0 + (i % 5) for i in range(9)), 20.0, 24.0)


async def test_late_and_redelivered_readings_are_counted_once(
    engine: AsyncEngine, home: HomeFixture
) -> None:
    sensor, rid = home.sensors["kitchen-motion"], home.resident_id
    now = datetime.now(UTC)
    await insert_readings(engine, [(now - timedelta(minutes=2), sensor, rid, 1.0)])
    await refresh(engine)
    # A hub that was offline for three days delivers its backlog now, twice.
    late_at = _hour(now - timedelta(days=3)) + timedelta(minutes=10)
    late = [(late_at + timedelta(minutes=i), sensor, rid, 1.0) for i in range(6)]
    assert await insert_readings(engine, late) == 6
    assert await insert_readings(engine, late) == 0
    await refresh(engine)
    rollup = await _rollup(engine, sensor)
    assert rollup[_hour(late_at)] == (6, 6.0, 1.0, 1.0)
    assert rollup == await _truth(engine, sensor)


async def test_deleted_readings_leave_the_rollup(engine: AsyncEngine, home: HomeFixture) -> None:
    sensor, rid = home.sensors["front-door"], home.resident_id
    at = _hour(datetime.now(UTC)) - 2 * HOUR
    await insert_readings(engine, [(at, sensor, rid, 1.0), (at + HOUR, sensor, rid, 0.0)])
    await refresh(engine)
    assert len(await _rollup(engine, sensor)) == 2
    async with engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM readings WHERE sensor_id = :s AND time = :t"), {"s": sensor, "t": at}
        )
    await refresh(engine)
    assert await _rollup(engine, sensor) == await _truth(engine, sensor)
    assert list(await _rollup(engine, sensor)) == [at + HOUR]


async def test_a_full_rebuild_equals_the_incremental_result(
    engine: AsyncEngine, home: HomeFixture
) -> None:
    sensor, rid = home.sensors["bed-pressure"], home.resident_id
    base = _hour(datetime.now(UTC)) - 30 * HOUR
    await insert_readings(
        engine, [(base + timedelta(minutes=30 * i), sensor, rid, float(i % 2)) for i in range(60)]
    )
    await refresh(engine)
    incremental = await _rollup(engine, sensor)
    async with engine.begin() as conn:
        await conn.run_sync(rollups.rebuild)
    assert await _rollup(engine, sensor) == incremental == await _truth(engine, sensor)


async def test_sst_db_rollup_command_refreshes(
    engine: AsyncEngine, home: HomeFixture, test_env: dict[str, str]
) -> None:
    sensor, rid = home.sensors["toilet-flush"], home.resident_id
    at = datetime.now(UTC) - timedelta(minutes=1)
    await insert_readings(engine, [(at, sensor, rid, 1.0)])
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "from sst_core.db.cli import main; main(['rollup'])"],
        env={**os.environ, **test_env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "rollup (partman)" in done.stderr
    assert (await _rollup(engine, sensor))[_hour(at)] == (1, 1.0, 1.0, 1.0)


async def test_the_backend_scheduler_keeps_rollups_fresh(
    engine: AsyncEngine, home: HomeFixture
) -> None:
    sensor, rid = home.sensors["living-motion"], home.resident_id
    stop = asyncio.Event()
    task = asyncio.create_task(run_rollups(engine, stop, interval_s=0.05))
    try:
        at = datetime.now(UTC) - timedelta(minutes=1)
        await insert_readings(engine, [(at, sensor, rid, 1.0)])
        for _ in range(100):
            if _hour(at) in await _rollup(engine, sensor):
                break
            await asyncio.sleep(0.05)
        assert (await _rollup(engine, sensor)).get(_hour(at)) == (1, 1.0, 1.0, 1.0)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
