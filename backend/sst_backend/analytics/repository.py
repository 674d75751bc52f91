"""Analytics queries: the same SQL on TimescaleDB (a continuous aggregate) and plain
PostgreSQL (a platform-kept table), both named `readings_hourly`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.access import visible_residents_query
from sst_core.db.models import Home, Resident, User
from sst_core.db.rollups import VIEW

# Buckets are cut on the home's wall clock: weeks start on Monday (2000-01-03 was one).
_SERIES = text(
    f"""
    SELECT date_bin(make_interval(hours => :hours), h.bucket AT TIME ZONE :tz,
                    TIMESTAMP '2000-01-03') AT TIME ZONE :tz AS start,
           sum(h.readings)::bigint AS count, min(h.value_min) AS min, max(h.value_max) AS max,
           sum(h.value_sum) / sum(h.readings) AS avg
    FROM {VIEW} h
    WHERE h.sensor_id = :sensor_id AND h.bucket >= :start AND h.bucket < :end
    GROUP BY 1 ORDER BY 1
    """
)

_ACTIVITY_KINDS = "('motion', 'door', 'toilet')"

# The resident's own rollup rows first (an index-only scan of a few thousand rows), then
# the joins: left to itself the planner may walk every sensor of the facility instead.
_MINE = f"""
    mine AS MATERIALIZED (
        SELECT sensor_id, bucket, readings, value_sum, value_max FROM {VIEW}
        WHERE resident_id = :resident_id AND bucket >= :start AND bucket < :end
    )"""

# Aggregated per (room, UTC hour) first, so the time zone is applied once per hour.
_HEATMAP = text(
    f"""
    WITH {_MINE}, per_hour AS (
        SELECT s.room_id, h.bucket, sum(h.value_sum) AS events
        FROM mine h JOIN sensors s ON s.id = h.sensor_id
        WHERE s.kind IN {_ACTIVITY_KINDS} AND s.room_id IS NOT NULL
        GROUP BY 1, 2
        HAVING sum(h.value_sum) > 0
    ), local AS (
        SELECT room_id, bucket AT TIME ZONE :tz AS lt, events FROM per_hour
    )
    SELECT room_id, lt::date AS day,
           array_agg(extract(hour FROM lt)::int ORDER BY lt) AS hours,
           array_agg(events::bigint ORDER BY lt) AS events
    FROM local GROUP BY 1, 2 ORDER BY 1, 2
    """
)

# Per hour first (UTC hours: the repeated hour of a DST change counts twice, as it was
# lived), then per local day. The night before a day (18:00 the evening before to 12:00)
# counts as that day's sleep: shifting by six hours puts it on one date.
_DAILY = text(
    f"""
    WITH {_MINE}, per_hour AS (
        SELECT h.bucket,
               sum(h.value_sum) FILTER (WHERE s.kind = 'bed')
                 / nullif(sum(h.readings) FILTER (WHERE s.kind = 'bed'), 0) AS bed_share,
               coalesce(bool_or((s.kind = 'motion' AND r.kind = 'bathroom')
                                OR s.kind = 'toilet'), false) AS bathroom,
               coalesce(bool_or(s.kind = 'motion'), false) AS motion,
               coalesce(bool_or(s.kind = 'door' AND h.value_max > 0), false) AS door_opened,
               coalesce(bool_or(r.kind = 'kitchen'
                                AND (s.kind = 'motion' OR (s.kind = 'power' AND h.value_max > 0))),
                        false) AS kitchen,
               coalesce(sum(h.value_sum) FILTER (WHERE s.kind IN {_ACTIVITY_KINDS}), 0) AS events
        FROM mine h
        JOIN sensors s ON s.id = h.sensor_id
        LEFT JOIN rooms r ON r.id = s.room_id
        GROUP BY h.bucket
    ), local AS (
        SELECT *, bucket AT TIME ZONE :tz AS lt FROM per_hour
    ), by_day AS (
        SELECT lt::date AS day, count(*) AS hours_with_data,
               count(*) FILTER (WHERE bathroom AND extract(hour FROM lt) < 5) AS night_bathroom,
               bool_or(door_opened) AS door_opened,
               count(*) FILTER (WHERE motion AND extract(hour FROM lt) BETWEEN 7 AND 21)
                 AS day_motion_hours,
               count(*) FILTER (WHERE kitchen) AS kitchen_hours,
               sum(events)::bigint AS events
        FROM local GROUP BY 1
    ), sleep AS (
        SELECT (lt + INTERVAL '6 hours')::date AS day,
               sum(bed_share) FILTER (WHERE extract(hour FROM lt + INTERVAL '6 hours') < 18)
                 AS sleep_hours
        FROM local GROUP BY 1
    )
    SELECT coalesce(d.day, s.day) AS day, d.hours_with_data, s.sleep_hours, d.night_bathroom,
           d.door_opened, d.day_motion_hours, d.kitchen_hours, d.events
    FROM by_day d FULL JOIN sleep s ON s.day = d.day
    ORDER BY 1
    """
)


async def series(
    session: AsyncSession, *, sensor_id: int, tz: str, hours: int, start: datetime, end: datetime
) -> Sequence[Row[Any]]:
    """Bucketed readings of one sensor in [start, end)."""
    params = {"sensor_id": sensor_id, "tz": tz, "hours": hours, "start": start, "end": end}
    return (await session.execute(_SERIES, params)).all()


async def heatmap(
    session: AsyncSession, *, resident_id: int, tz: str, start: datetime, end: datetime
) -> Sequence[Row[Any]]:
    """(room, local day, [local hours], [events]) of one resident in [start, end)."""
    params = {"resident_id": resident_id, "tz": tz, "start": start, "end": end}
    return (await session.execute(_HEATMAP, params)).all()


async def daily(
    session: AsyncSession, *, resident_id: int, tz: str, start: datetime, end: datetime
) -> Sequence[Row[Any]]:
    """Per local day figures of one resident in [start, end)."""
    params = {"resident_id": resident_id, "tz": tz, "start": start, "end": end}
    return (await session.execute(_DAILY, params)).all()


async def rooms_of_home(session: AsyncSession, *, home_id: int) -> Sequence[Row[Any]]:
    """(id, name, kind) of a home's rooms."""
    query = text("SELECT id, name, kind FROM rooms WHERE home_id = :h ORDER BY name, id")
    return (await session.execute(query, {"h": home_id})).all()


async def sensor_home(session: AsyncSession, *, sensor_id: int) -> Row[Any] | None:
    """(kind, home id, time zone) of a sensor."""
    query = text(
        "SELECT s.kind, h.home_id, hm.timezone FROM sensors s JOIN hubs h ON h.id = s.hub_id "
        "JOIN homes hm ON hm.id = h.home_id WHERE s.id = :s"
    )
    return (await session.execute(query, {"s": sensor_id})).first()


async def visible_resident_home(
    session: AsyncSession, *, user: User, resident_id: int
) -> Row[int | None, str] | None:  # timezone is null without a home
    """(home id, time zone) of a resident `user` may see (nulls: no home); None if not."""
    query = (
        select(Resident.home_id, Home.timezone)
        .outerjoin(Home, Home.id == Resident.home_id)
        .where(Resident.id == resident_id, Resident.id.in_(visible_residents_query(user)))
    )
    return (await session.execute(query)).first()
