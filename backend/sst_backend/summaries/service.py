"""A resident's daily summary, computed from readings in the home's local day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.summaries import repository
from sst_backend.summaries.calculation import DayFigures, local_bounds, night_bounds, summarize


async def daily_figures(
    session: AsyncSession, *, resident_id: int, day: date, timezone: str, now: datetime
) -> DayFigures:
    """The figures of one local day of one resident (the day so far, for today)."""
    day_start, day_end = local_bounds(day, timezone)
    night_start, _ = night_bounds(day, timezone)
    end = min(day_end, now)
    rows = await repository.readings(session, resident_id=resident_id, start=night_start, end=end)
    figures = summarize(rows, day=day, timezone=timezone, now=now)
    figures.alerts = await repository.alerts(
        session, resident_id=resident_id, start=day_start, end=end
    )
    return figures
