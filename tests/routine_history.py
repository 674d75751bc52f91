"""Simulated history of a test home, written to `readings` as the gateway would store it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from sst_backend.seed import STANDARD_LAYOUT
from sst_core.features import Event
from sst_devices.life import SimHome, SimSensor, day_readings
from tests.factories import HomeFixture

KINDS = {key: (kind, room_kind) for _, room_kind, keys in STANDARD_LAYOUT for key, kind in keys}


def sim_home(home: HomeFixture) -> SimHome:
    """The simulator's view of a test home (the standard flat).

    Its serial, which seeds the simulated life, is the same for every test home: the same
    seed gives the same days on every run, so no test depends on a lucky draw.
    """
    sensors = tuple(
        SimSensor(key, kind, room_kind, room)
        for room, room_kind, keys in STANDARD_LAYOUT
        for key, kind in keys
    )
    return SimHome(hub_serial="test-life", timezone=home.timezone, sensors=sensors)


def local_midnight(day: date, timezone: str) -> datetime:
    """Local midnight of a day in a home's zone."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone))


def history_rows(
    home: HomeFixture,
    first: date,
    days: int,
    *,
    until: datetime | None = None,
    alive_until: datetime | None = None,
    seed: int = 1,
) -> list[tuple[datetime, int, int, float]]:
    """(time, sensor_id, resident_id, value) of simulated days, cut at `until` if given.

    With `alive_until`, the thermometer goes on reporting until then although nothing
    else does: the hub is alive, the resident is not moving.
    """
    life = sim_home(home)
    cut = None if until is None else until.timestamp() * 1000
    alive = cut if alive_until is None else alive_until.timestamp() * 1000
    rows = []
    for offset in range(days):
        for key, ts, value in day_readings(life, first + timedelta(days=offset), seed):
            limit = alive if KINDS[key][0] == "temperature" else cut
            if limit is not None and ts >= limit:
                continue
            moment = datetime.fromtimestamp(ts / 1000, tz=ZoneInfo("UTC"))
            rows.append((moment, home.sensors[key], home.resident_id, value))
    return rows


def history_events(
    home: HomeFixture, first: date, days: int, *, until: datetime | None = None, seed: int = 1
) -> list[Event]:
    """The same simulated days as feature events (for fitting a model without a database)."""
    kinds = {home.sensors[key]: kind for key, kind in KINDS.items()}
    return [
        Event(int(t.timestamp() * 1000), kinds[s][0], kinds[s][1], v)
        for t, s, _, v in history_rows(home, first, days, until=until, seed=seed)
    ]


async def write_history(
    database_url: str,
    home: HomeFixture,
    first: date,
    days: int,
    *,
    until: datetime | None = None,
    alive_until: datetime | None = None,
    seed: int = 1,
) -> int:
    """COPY simulated days of a home into `readings`; the number of rows."""
    rows = history_rows(home, first, days, until=until, alive_until=alive_until, seed=seed)
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.copy_records_to_table(
            "readings", records=rows, columns=["time", "sensor_id", "resident_id", "value"]
        )
    finally:
        await conn.close()
    return len(rows)
