"""Routine features as pandas DataFrames for data scientists, and Parquet export.

The numbers are those training fits on and inference scores with: sst_core.features
computes them; this module only lays them out as tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import asyncpg
import pandas as pd

from sst_ai_training.settings import TrainingSettings
from sst_ai_training.source import load_events, resident_zone
from sst_core.features import DAILY_FEATURES, SNAPSHOT_FEATURES, DayRecord, history_days
from sst_core.routine_model import WEEKDAYS


async def history_records(
    resident_id: int, start: datetime, end: datetime, *, settings: TrainingSettings | None = None
) -> list[DayRecord]:
    """Complete local days of a resident's history in [start, end), with their snapshots."""
    settings = settings or TrainingSettings()
    conn = await asyncpg.connect(settings.asyncpg_dsn)
    try:
        zone = await resident_zone(conn, resident_id)
        events = await load_events(conn, resident_id, start, end)
    finally:
        await conn.close()
    return list(history_days(events, zone))


def daily_table(records: Sequence[DayRecord]) -> pd.DataFrame:
    """One row per local day: wake-up, sleep onset, night bathroom visits, kitchen use..."""
    frame = pd.DataFrame(
        [{"day": rec.day, **rec.daily} for rec in records], columns=["day", *DAILY_FEATURES]
    )
    frame["weekday"] = [WEEKDAYS[d.weekday()] for d in frame["day"]]
    return frame


def hourly_table(records: Sequence[DayRecord]) -> pd.DataFrame:
    """One row per local day and hour (0-24): the day so far, as inference sees it then."""
    rows = [
        {"day": rec.day, "hour": hour, **snap}
        for rec in records
        for hour, snap in enumerate(rec.hourly)
    ]
    return pd.DataFrame(rows, columns=["day", "hour", *SNAPSHOT_FEATURES])


def expected_activity(records: Sequence[DayRecord]) -> pd.DataFrame:
    """Mean activity readings per room kind and hour of the week (rows: weekday, hour)."""
    rows = []
    for rec in records:
        for hour in range(24):
            before, after = rec.hourly[hour], rec.hourly[hour + 1]
            row: dict[str, object] = {"weekday": rec.day.weekday(), "hour": hour}
            for name in after:
                if name.startswith("activity_") or name == "total_activity":
                    row[name] = after[name] - before[name]
            rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    table = frame.groupby(["weekday", "hour"]).mean().reset_index()
    table["weekday"] = [WEEKDAYS[i] for i in table["weekday"]]
    return table


def daily_features(
    resident_id: int, start: datetime, end: datetime, *, settings: TrainingSettings | None = None
) -> pd.DataFrame:
    """Daily features of one resident's complete days in [start, end)."""
    return daily_table(asyncio.run(history_records(resident_id, start, end, settings=settings)))


def hourly_features(
    resident_id: int, start: datetime, end: datetime, *, settings: TrainingSettings | None = None
) -> pd.DataFrame:
    """Hourly snapshots of one resident's complete days in [start, end)."""
    return hourly_table(asyncio.run(history_records(resident_id, start, end, settings=settings)))


def to_parquet(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as Parquet (pyarrow); the path written."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(target, index=False)
    return target
