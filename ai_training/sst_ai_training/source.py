"""Reading a resident's history for the routine features (no pandas: workers stay light)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from sst_core.features import FEATURE_SENSORS, Event

# Only what the routine features read (no thermometers), as epoch milliseconds.
EVENTS_SQL = """
SELECT (extract(epoch FROM r.time) * 1000)::bigint AS ts, s.kind, rm.kind AS room_kind, r.value
FROM readings r
JOIN sensors s ON s.id = r.sensor_id
LEFT JOIN rooms rm ON rm.id = s.room_id
WHERE r.resident_id = $1 AND r.time >= $2 AND r.time < $3 AND s.kind = ANY($4::text[])
ORDER BY r.time
"""

# Several residents in one query: one plan over the partitions instead of one per resident.
EVENTS_MANY_SQL = """
SELECT r.resident_id, (extract(epoch FROM r.time) * 1000)::bigint AS ts, s.kind,
       rm.kind AS room_kind, r.value
FROM readings r
JOIN sensors s ON s.id = r.sensor_id
LEFT JOIN rooms rm ON rm.id = s.room_id
WHERE r.resident_id = ANY($1::integer[]) AND r.time >= $2 AND r.time < $3
  AND s.kind = ANY($4::text[])
ORDER BY r.resident_id, r.time
"""

ZONES_SQL = """
SELECT res.id, COALESCE(h.timezone, f.timezone) FROM residents res
JOIN facilities f ON f.id = res.facility_id
LEFT JOIN homes h ON h.id = res.home_id WHERE res.id = ANY($1::integer[])
"""

TIMEZONE_SQL = """
SELECT COALESCE(h.timezone, f.timezone) FROM residents res
JOIN facilities f ON f.id = res.facility_id
LEFT JOIN homes h ON h.id = res.home_id WHERE res.id = $1
"""


def check_range(start: datetime, end: datetime) -> None:
    """Refuse naive times: a history range needs a zone."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware (UTC or the home's zone)")


async def resident_zone(conn: asyncpg.Connection, resident_id: int) -> ZoneInfo:
    """The time zone of a resident's home; LookupError for an unknown resident."""
    name = await conn.fetchval(TIMEZONE_SQL, resident_id)
    if name is None:
        raise LookupError(f"resident {resident_id} does not exist")
    return ZoneInfo(name)


async def load_events(
    conn: asyncpg.Connection, resident_id: int, start: datetime, end: datetime
) -> list[Event]:
    """The readings the routine features use, of one resident in [start, end), oldest first."""
    check_range(start, end)
    rows = await conn.fetch(EVENTS_SQL, resident_id, start, end, sorted(FEATURE_SENSORS))
    return [Event(row[0], row[1], row[2], row[3]) for row in rows]


async def resident_zones(conn: asyncpg.Connection, resident_ids: list[int]) -> dict[int, ZoneInfo]:
    """The time zones of several residents' homes (unknown residents are left out)."""
    rows = await conn.fetch(ZONES_SQL, resident_ids)
    return {row[0]: ZoneInfo(row[1]) for row in rows}


async def load_events_many(
    conn: asyncpg.Connection, resident_ids: list[int], start: datetime, end: datetime
) -> dict[int, list[Event]]:
    """`load_events` of several residents in one query: resident id -> events, oldest first."""
    check_range(start, end)
    rows = await conn.fetch(EVENTS_MANY_SQL, resident_ids, start, end, sorted(FEATURE_SENSORS))
    events: dict[int, list[Event]] = {rid: [] for rid in resident_ids}
    for rid, ts, kind, room_kind, value in rows:
        events[rid].append(Event(ts, kind, room_kind, value))
    return events
