"""Analytics in the home's local time: sensor series, activity heatmap, daily summaries.

Everything is read from the hourly rollups (`readings_hourly`), never from raw readings,
so a month of one resident is a few thousand rows whatever the reading rate. Days are the
home's local days (DST-aware: a local day is 23, 24 or 25 hours long).

Limits of hour granularity, stated once: a local hour is the UTC hour it starts in, so
for zones whose offset is not whole hours (India, Nepal) buckets are shifted by 30 or 45
minutes; "visits" and "hours out" count hours, not events.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.analytics import repository
from sst_backend.analytics.schemas import (
    BUCKET_HOURS,
    ActivityHeatmap,
    BucketSize,
    DailySummaries,
    DailySummary,
    HeatmapRoom,
    HeatmapRow,
    MetricTrend,
    SensorSeries,
    SeriesPoint,
)
from sst_backend.audit import record
from sst_backend.care_access import home_to_read
from sst_backend.errors import APIError, not_found
from sst_core.db.models import User

BASELINE_DAYS = 28
MIN_BASELINE_DAYS = 7
MAX_SERIES_BUCKETS = 5000
MAX_RANGE_DAYS = 366
# A past day with fewer hours of data (a hub offline, the day it was installed) is left
# out rather than dragging the baseline down.
MIN_HOURS_WITH_DATA = 12
DAYTIME_HOURS = range(7, 22)  # 07:00-22:00 local: when "no motion" means "not at home"
METRICS = (
    "sleep_hours",
    "night_bathroom_visits",
    "out_of_home_hours",
    "kitchen_active_hours",
    "activity_events",
)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local day starts (DST-aware), in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _bad_range(message: str) -> APIError:
    return APIError(422, "invalid_range", message)


def check_days(start_date: date, end_date: date) -> None:
    """Refuse an empty, reversed or too long range of local days."""
    if end_date < start_date:
        raise _bad_range("end_date is before start_date.")
    if (end_date - start_date).days + 1 > MAX_RANGE_DAYS:
        raise _bad_range(f"Ask for at most {MAX_RANGE_DAYS} days at a time.")


def default_days(zone: ZoneInfo, start: date | None, end: date | None) -> tuple[date, date]:
    """The last 30 local days up to today, unless given."""
    end = end or datetime.now(zone).date()
    return (start or end - timedelta(days=29)), end


async def _resident_days(
    session: AsyncSession,
    *,
    user: User,
    resident_id: int,
    start_date: date | None,
    end_date: date | None,
) -> tuple[int, ZoneInfo, date, date]:
    """The resident's home and its zone, and the range of local days asked for (checked)."""
    row = await repository.visible_resident_home(session, user=user, resident_id=resident_id)
    if row is None:
        raise not_found("The resident")
    if row.timezone is None:
        raise APIError(409, "no_home", "This resident has no home yet, so there is no data.")
    zone = ZoneInfo(row.timezone)
    start_date, end_date = default_days(zone, start_date, end_date)
    check_days(start_date, end_date)
    return row.home_id, zone, start_date, end_date


def _record_view(
    session: AsyncSession, *, user: User, resident_id: int, view: str, days: tuple[date, date]
) -> None:
    """Audit that `user` looked at a resident's analytics over a range of local days."""
    record(
        session,
        actor=user,
        action="resident.analytics.view",
        target_type="resident",
        target_id=resident_id,
        details={"view": view, "from": str(days[0]), "to": str(days[1])},
    )


async def sensor_series(
    session: AsyncSession,
    *,
    user: User,
    sensor_id: int,
    bucket: BucketSize,
    start: datetime | None,
    end: datetime | None,
) -> SensorSeries:
    """A sensor's readings in buckets of the home's local time."""
    row = await repository.sensor_home(session, sensor_id=sensor_id)
    if row is None:
        raise not_found("The sensor")
    try:
        await home_to_read(session, user=user, home_id=row.home_id)
    except APIError as exc:
        raise not_found("The sensor") from exc
    hours = BUCKET_HOURS[bucket]
    end = (end or datetime.now(UTC)).astimezone(UTC)
    start = (start or end - timedelta(days=7)).astimezone(UTC)
    if end <= start:
        raise _bad_range("end must be after start.")
    if (end - start) / timedelta(hours=hours) > MAX_SERIES_BUCKETS:
        raise _bad_range(f"That is more than {MAX_SERIES_BUCKETS} buckets: widen the bucket.")
    zone = ZoneInfo(row.timezone)
    rows = await repository.series(
        session, sensor_id=sensor_id, tz=row.timezone, hours=hours, start=start, end=end
    )
    points = [
        SeriesPoint(start=r.start.astimezone(zone), count=r.count, min=r.min, max=r.max, avg=r.avg)
        for r in rows
    ]
    return SensorSeries(
        sensor_id=sensor_id,
        kind=row.kind,
        bucket=bucket,
        timezone=row.timezone,
        start=start,
        end=end,
        points=points,
    )


async def activity_heatmap(
    session: AsyncSession,
    *,
    user: User,
    resident_id: int,
    start_date: date | None,
    end_date: date | None,
) -> ActivityHeatmap:
    """Activity per room per local hour over local days."""
    home_id, zone, start_date, end_date = await _resident_days(
        session, user=user, resident_id=resident_id, start_date=start_date, end_date=end_date
    )
    rooms = await repository.rooms_of_home(session, home_id=home_id)
    rows = await repository.heatmap(
        session,
        resident_id=resident_id,
        tz=zone.key,
        start=local_midnight(start_date, zone),
        end=local_midnight(end_date + timedelta(days=1), zone),
    )
    _record_view(
        session, user=user, resident_id=resident_id, view="heatmap", days=(start_date, end_date)
    )
    return ActivityHeatmap(
        resident_id=resident_id,
        timezone=zone.key,
        start_date=start_date,
        end_date=end_date,
        rooms=[HeatmapRoom(room_id=r.id, name=r.name, kind=r.kind) for r in rooms],
        rows=[HeatmapRow(room_id=r.room_id, date=r.day, events=_by_hour(r)) for r in rows],
    )


def _by_hour(row: Any) -> list[int]:
    """24 counts from a row's (hours, events) arrays; a DST repeated hour adds up."""
    counts = [0] * 24
    for hour, events in zip(row.hours, row.events, strict=True):
        counts[hour] += events
    return counts


def _daytime_hours_elapsed(day: date, now_local: datetime) -> int:
    """Daytime hours of a local day that are already over (all of them for past days)."""
    if day < now_local.date():
        return len(DAYTIME_HOURS)
    if day > now_local.date():
        return 0
    return sum(1 for h in DAYTIME_HOURS if h + 1 <= now_local.hour)


def trend(value: float | None, history: list[float]) -> MetricTrend:
    """`value` against the mean and band (two standard deviations) of `history`."""
    if len(history) < MIN_BASELINE_DAYS:
        return MetricTrend(
            baseline_mean=None,
            band_low=None,
            band_high=None,
            baseline_days=len(history),
            status="no_baseline",
        )
    # Plain float arithmetic: statistics.stdev is exact (Fractions) and costs ~0.1 ms a call.
    mean = math.fsum(history) / len(history)
    spread = 2 * math.sqrt(math.fsum((v - mean) ** 2 for v in history) / (len(history) - 1))
    low, high = max(0.0, mean - spread), mean + spread
    status = "usual"
    if value is not None and value < low - 1e-9:
        status = "below"
    elif value is not None and value > high + 1e-9:
        status = "above"
    return MetricTrend(
        baseline_mean=round(mean, 3),
        band_low=round(low, 3),
        band_high=round(high, 3),
        baseline_days=len(history),
        status=status,
    )


async def daily_summaries(
    session: AsyncSession,
    *,
    user: User,
    resident_id: int,
    start_date: date | None,
    end_date: date | None,
) -> DailySummaries:
    """How each local day went, with its trend against the previous 28 days."""
    _, zone, start_date, end_date = await _resident_days(
        session, user=user, resident_id=resident_id, start_date=start_date, end_date=end_date
    )
    first = start_date - timedelta(days=BASELINE_DAYS)
    # The evening before the first day holds that night's sleep.
    rows = await repository.daily(
        session,
        resident_id=resident_id,
        tz=zone.key,
        start=local_midnight(first, zone) - timedelta(hours=6),
        end=local_midnight(end_date + timedelta(days=1), zone),
    )
    now_local = datetime.now(zone)
    figures: dict[date, dict[str, float | None]] = {}
    for r in rows:
        if r.day < first or r.day > end_date or r.events is None:
            continue  # a day with sleep rows only is the evening before the window
        if r.hours_with_data < (MIN_HOURS_WITH_DATA if r.day < now_local.date() else 1):
            continue
        out = 0.0
        if r.door_opened:
            out = float(max(0, _daytime_hours_elapsed(r.day, now_local) - r.day_motion_hours))
        figures[r.day] = {
            "sleep_hours": round(float(r.sleep_hours), 2) if r.sleep_hours is not None else 0.0,
            "night_bathroom_visits": r.night_bathroom,
            "out_of_home_hours": out,
            "kitchen_active_hours": r.kitchen_hours,
            "activity_events": r.events,
        }
    days = []
    day = start_date
    while day <= end_date:
        today = figures.get(day)
        history = [
            figures[d]
            for d in (day - timedelta(days=k) for k in range(1, BASELINE_DAYS + 1))
            if d in figures
        ]
        trends = {
            m: trend(
                today[m] if today else None,
                [float(v) for h in history if (v := h[m]) is not None and math.isfinite(v)],
            )
            for m in METRICS
        }
        days.append(
            DailySummary(
                date=day,
                has_data=today is not None,
                sleep_hours=today["sleep_hours"] if today else None,
                night_bathroom_visits=_int(today, "night_bathroom_visits"),
                out_of_home_hours=today["out_of_home_hours"] if today else None,
                kitchen_active_hours=_int(today, "kitchen_active_hours"),
                activity_events=_int(today, "activity_events"),
                trend=trends,
            )
        )
        day += timedelta(days=1)
    _record_view(
        session, user=user, resident_id=resident_id, view="daily", days=(start_date, end_date)
    )
    return DailySummaries(
        resident_id=resident_id,
        timezone=zone.key,
        start_date=start_date,
        end_date=end_date,
        baseline_days=BASELINE_DAYS,
        days=days,
    )


def _int(figures: dict[str, float | None] | None, name: str) -> int | None:
    value = figures.get(name) if figures else None
    return None if value is None else int(value)
