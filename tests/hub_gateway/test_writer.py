"""Binary COPY straight into `readings`, and the staging step when rows are already there."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_hub_gateway.copyformat import ReadingColumns
from sst_hub_gateway.writer import BatchWrite, StagingPolicy, create_pool, write_batch
from tests.factories import HomeFixture
from tests.hub_gateway.conftest import stored_readings
from tests.hub_gateway.helpers import now_ms


def _columns(rows: Sequence[tuple[int, int, int | None, float]]) -> ReadingColumns:
    columns = ReadingColumns()
    for ts, sensor_id, resident_id, value in rows:
        columns.ts_ms.append(ts)
        columns.sensor_ids.append(sensor_id)
        columns.resident_ids.append(resident_id)
        columns.values.append(value)
    return columns


async def test_copy_is_exact_and_a_rewrite_goes_through_staging(
    database_url: str, engine: AsyncEngine, home: HomeFixture
) -> None:
    sensors = sorted(home.sensors.values())[:3]
    base = now_ms()
    first = [
        (base + 1, sensors[0], home.resident_id, 21.25),
        (base + 2, sensors[1], None, -0.5),  # a home without resident: a NULL field
        (base + 3, sensors[2], home.resident_id, 7),  # JSON integers are valid values
    ]
    pool = await create_pool(database_url.replace("postgresql+asyncpg", "postgresql"))
    policy = StagingPolicy(staged_for_s=60)
    try:
        assert await write_batch(pool, BatchWrite(readings=_columns(first)), policy) == 3
        assert policy.conflicts == 0 and policy.direct

        rows = await stored_readings(engine, sensors)
        assert rows == [
            (datetime.fromtimestamp(ts / 1000, tz=UTC), sensor, resident, float(value))
            for ts, sensor, resident, value in first
        ]

        # A redelivery of two stored readings with one new: only the new one is added.
        again = [*first[:2], (base + 4, sensors[0], home.resident_id, 1.0)]
        assert await write_batch(pool, BatchWrite(readings=_columns(again)), policy) == 1
        assert policy.conflicts == 1 and not policy.direct
        # While staging, a plain redelivery is a no-op without another failed COPY.
        assert await write_batch(pool, BatchWrite(readings=_columns(again)), policy) == 0
        assert policy.conflicts == 1
        assert len(await stored_readings(engine, sensors)) == 4
    finally:
        await pool.close()


async def test_a_failed_copy_leaves_the_batch_transaction_usable(
    database_url: str, engine: AsyncEngine, home: HomeFixture
) -> None:
    """The direct COPY runs in a savepoint: its failure must not abort the dead letters."""
    sensor = min(home.sensors.values())
    reading = [(now_ms(), sensor, home.resident_id, 1.0)]
    pool = await create_pool(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await write_batch(pool, BatchWrite(readings=_columns(reading)), StagingPolicy())
        moment = datetime.now(tz=UTC)
        write = BatchWrite(
            readings=_columns(reading),
            dead_letters=[(moment, home.hub_serial, "t", "test: after a conflict", "x")],
        )
        assert await write_batch(pool, write, StagingPolicy()) == 0
        conn: asyncpg.Connection
        async with pool.acquire() as conn:
            reasons = await conn.fetch(
                "SELECT reason FROM dead_letters WHERE hub_serial = $1", home.hub_serial
            )
        assert [r["reason"] for r in reasons] == ["test: after a conflict"]
    finally:
        await pool.close()
