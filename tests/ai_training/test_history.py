"""A resident's history comes back as a DataFrame in the home's local time, theirs only."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_ai_training.history import load_readings_async
from tests.factories import HomeFixture, make_home


async def _insert(engine: AsyncEngine, home: HomeFixture, key: str, at: datetime, v: float) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO readings VALUES (:t, :s, :r, :v)"),
            {"t": at, "s": home.sensors[key], "r": home.resident_id, "v": v},
        )


async def test_load_readings_of_one_resident_in_local_time(
    engine: AsyncEngine, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    other = await make_home(sessionmaker)
    base = datetime(2026, 11, 20, 22, 30, tzinfo=UTC)  # 07:30 the next day in Seoul
    await _insert(engine, home, "bed-pressure", base, 0.0)
    await _insert(engine, home, "kitchen-motion", base + timedelta(minutes=5), 1.0)
    await _insert(engine, home, "kitchen-motion", base + timedelta(days=2), 1.0)  # outside
    await _insert(engine, other, "kitchen-motion", base, 1.0)  # someone else
    frame = await load_readings_async(home.resident_id, base, base + timedelta(hours=1))
    assert list(frame["sensor"]) == ["bed-pressure", "kitchen-motion"]
    assert list(frame["room"]) == ["Bedroom", "Kitchen"]
    assert frame["local_time"].iloc[0].hour == 7
    assert str(frame["local_time"].dt.tz) == "Asia/Seoul"


async def test_naive_times_and_unknown_residents_are_refused(home: HomeFixture) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await load_readings_async(home.resident_id, datetime(2026, 1, 1), datetime(2026, 1, 2))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(LookupError):
        await load_readings_async(10**9, start, start + timedelta(days=1))


def test_cli_exports_csv(database_url: str, home: HomeFixture) -> None:
    result = subprocess.run(
        [
            "sst-train",
            "export",
            "--resident",
            str(home.resident_id),
            "--start",
            "2026-01-01T00:00+00:00",
            "--end",
            "2026-01-02T00:00+00:00",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.splitlines()[0].startswith("time,local_time,sensor_id,sensor")
