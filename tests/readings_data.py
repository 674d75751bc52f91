"""Readings written straight into PostgreSQL for tests of rollups and analytics."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_core.db import rollups
from sst_core.db.models import Reading
from sst_devices.life import SimHome, SimSensor, day_readings
from tests.factories import STANDARD_LAYOUT, HomeFixture

ReadingRow = tuple[datetime, int, int | None, float]  # time, sensor id, resident id, value


async def insert_readings(engine: AsyncEngine, rows: Iterable[ReadingRow]) -> int:
    """Insert readings as the gateway would (a redelivered one is ignored)."""
    values = [{"time": t, "sensor_id": s, "resident_id": r, "value": v} for t, s, r, v in rows]
    if not values:
        return 0
    inserted = 0
    async with engine.begin() as conn:
        for i in range(0, len(values), 5000):  # one statement each, so rowcount is exact
            statement = insert(Reading).values(values[i : i + 5000]).on_conflict_do_nothing()
            inserted += int((await conn.execute(statement)).rowcount)
    return inserted


async def refresh(engine: AsyncEngine) -> rollups.RefreshResult:
    """One incremental refresh of the hourly rollups."""
    async with engine.begin() as conn:
        return await conn.run_sync(rollups.refresh)


def sim_home(home: HomeFixture) -> SimHome:
    """The simulator's view of a test home (same keys, kinds and rooms)."""
    sensors = tuple(
        SimSensor(key=key, kind=kind, room_kind=room_kind, room_name=room_name)
        for room_name, room_kind, keys in STANDARD_LAYOUT
        for key, kind in keys
    )
    return SimHome(hub_serial=home.hub_serial, timezone=home.timezone, sensors=sensors)


def simulated_days(home: HomeFixture, first: date, days: int, seed: int = 7) -> list[ReadingRow]:
    """A plausible life of the test home's resident over local days, as reading rows."""
    sim = sim_home(home)
    rows: list[ReadingRow] = []
    for offset in range(days):
        for key, ts, value in day_readings(sim, first + timedelta(days=offset), seed):
            at = datetime.fromtimestamp(ts / 1000, tz=UTC)
            rows.append((at, home.sensors[key], home.resident_id, value))
    return rows


def at_local(day: date, hour: int, minute: int, zone: str) -> datetime:
    """A wall-clock time of a local day, in UTC."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone)).astimezone(UTC)
