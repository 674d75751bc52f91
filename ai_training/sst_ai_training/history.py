"""History for data scientists: a resident's readings as a pandas DataFrame."""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg
import pandas as pd

from sst_ai_training.settings import TrainingSettings
from sst_ai_training.source import TIMEZONE_SQL, check_range

_READINGS_SQL = """
SELECT r.time, r.sensor_id, s.key AS sensor, s.kind AS sensor_kind,
       rm.name AS room, rm.kind AS room_kind, r.value
FROM readings r
JOIN sensors s ON s.id = r.sensor_id
LEFT JOIN rooms rm ON rm.id = s.room_id
WHERE r.resident_id = $1 AND r.time >= $2 AND r.time < $3
ORDER BY r.time, r.sensor_id
"""

COLUMNS = ["time", "local_time", "sensor_id", "sensor", "sensor_kind", "room", "room_kind", "value"]


async def load_readings_async(
    resident_id: int, start: datetime, end: datetime, *, settings: TrainingSettings | None = None
) -> pd.DataFrame:
    """Readings of one resident in [start, end), with sensor, room and home-local time."""
    check_range(start, end)
    settings = settings or TrainingSettings()
    conn = await asyncpg.connect(settings.asyncpg_dsn)
    try:
        timezone = await conn.fetchval(TIMEZONE_SQL, resident_id)
        if timezone is None:
            raise LookupError(f"resident {resident_id} does not exist or has no home")
        rows = await conn.fetch(_READINGS_SQL, resident_id, start, end)
    finally:
        await conn.close()
    frame = pd.DataFrame(
        [dict(row) for row in rows],
        columns=["time", "sensor_id", "sensor", "sensor_kind", "room", "room_kind", "value"],
    )
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame.insert(1, "local_time", frame["time"].dt.tz_convert(timezone))
    return frame[COLUMNS]


def load_readings(
    resident_id: int, start: datetime, end: datetime, *, settings: TrainingSettings | None = None
) -> pd.DataFrame:
    """`load_readings_async` for notebooks and scripts (not from inside an event loop)."""
    return asyncio.run(load_readings_async(resident_id, start, end, settings=settings))
