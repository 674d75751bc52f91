"""Today's readings of many homes for a scoring round: one query, one row per home.

A round for 1,000 homes reads about 120,000 readings. Fetched as one row per reading
(asyncpg makes a Record and two strings for each), turned into 120,000 events kept at
once and sorted, that cost about as much as scoring them (docs/detection.md, "Scoring
throughput"). Here PostgreSQL returns one row per home: its readings' times, sensors and
values as three arrays, and the time of its latest reading of any kind (the silence rule).
Sensors' kinds and rooms, a few per home, come from a second small query and are shared
by every reading of the sensor; a home's events are made one at a time as scoring reads
them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sst_core.features import FEATURE_SENSORS, Event, local_clock, local_minute

CARRY_OVER_MS = 6 * 3600 * 1000  # readings before today's midnight that still matter
FETCH_HOURS = 24 + 6 + 2  # today (at most a day, plus a clock change) and the evening before

# asyncpg's own placeholders: this runs on the raw driver connection. One row per home,
# aggregated in a LATERAL subquery: each home's readings come from the (resident_id, time)
# index together, so no sort and no hash of 100,000 rows is needed to group them (a GROUP
# BY over the join cost 1.5-2x the plain rows, its hash aggregate spilling to disk). The
# kinds the features read are checked against a hash of the other sensors (NOT IN, built
# once per query; a join to sensors here made the planner probe its index once per
# reading). Only each home's readings from its carry-over start (score_one reads nothing
# older); the window bounds stay for partition pruning. The arrays are in no particular
# order: Python sorts each home's events. `last` is any sensor's (a thermometer too: the
# hub is alive) within the window, one index probe per home.
_TODAY_SQL = """
SELECT w.resident_id,
       (SELECT max(l.time) FROM readings l
        WHERE l.resident_id = w.resident_id AND l.time >= $3 AND l.time <= $4) AS last,
       f.ts, f.sensor_ids, f.values
FROM unnest($1::integer[], $2::timestamptz[]) AS w(resident_id, since)
CROSS JOIN LATERAL (
    SELECT array_agg((extract(epoch FROM r.time) * 1000)::bigint) AS ts,
           array_agg(r.sensor_id) AS sensor_ids,
           array_agg(r.value) AS values
    FROM readings r
    WHERE r.resident_id = w.resident_id AND r.time >= w.since
      AND r.time >= $3 AND r.time <= $4
      AND r.sensor_id NOT IN (SELECT o.id FROM sensors o WHERE o.kind <> ALL($5::text[]))
) AS f
"""
_PLACES_SQL = """
SELECT s.id, s.kind, rm.kind AS room_kind
FROM sensors s LEFT JOIN rooms rm ON rm.id = s.room_id
WHERE s.id = ANY($1::integer[])
"""
_FEATURE_KINDS = sorted(FEATURE_SENSORS)


Columns = tuple[list[int], list[int], list[float]]  # times (UTC ms), sensor ids, values


@dataclass(frozen=True)
class TodayReadings:
    """What a scoring round reads of each home."""

    columns: dict[int, Columns]  # feature readings from the carry-over start, in any order
    places: dict[int, tuple[str, str | None]]  # sensor id -> its kind and its room's kind
    last: dict[int, datetime]  # the latest reading of any sensor in the window (none: absent)

    def events(self, resident_id: int) -> Iterator[Event]:
        """A home's readings as feature events, in time order, made one at a time.

        Made as scoring reads them, not kept: 100,000 events alive at once made Python's
        garbage collector walk them again and again (a third of the fetch's time).
        """
        columns = self.columns.get(resident_id)
        if columns is None:
            return
        places, make = self.places, Event._make
        # Ties in time go by sensor id, so a round reads the same sequence every time.
        for at, sensor_id, value in sorted(zip(*columns, strict=True)):
            place = places.get(sensor_id)
            if place is not None:  # else the sensor is gone (readings keep no foreign key)
                yield make((at, *place, value))


def carry_from_ms(zone: Any, now_ms: int) -> int:
    """UTC ms of the oldest reading scoring at `now_ms` reads: the evening before today."""
    # Yesterday evening says whether she went to bed and when she last moved; earlier
    # readings change nothing today's score reads.
    today, _ = local_minute(now_ms, zone)
    return local_clock(zone).moment_ms(today, 0) - CARRY_OVER_MS


async def fetch_today(driver: Any, zones: dict[int, ZoneInfo], now: datetime) -> TodayReadings:
    """Each home's feature readings from its carry-over start to `now`, and its last reading.

    `driver` is an asyncpg connection; `zones` holds every resident to read.
    """
    homes = list(zones)
    now_ms = int(now.timestamp() * 1000)
    # A millisecond early: a reading's ts is its time rounded to the millisecond.
    since = [
        datetime.fromtimestamp((carry_from_ms(zones[rid], now_ms) - 1) / 1000, tz=UTC)
        for rid in homes
    ]
    start = now - timedelta(hours=FETCH_HOURS)
    async with driver.transaction():
        # The planner's cost of the per-home subquery is far above its real cost and
        # would compile it (JIT): 70-100 ms of a 200 ms query.
        await driver.execute("SET LOCAL jit = off")
        rows = await driver.fetch(_TODAY_SQL, homes, since, start, now, _FEATURE_KINDS)
        sensors = {sid for row in rows if row["sensor_ids"] for sid in row["sensor_ids"]}
        places = await _places(driver, sensors)
    columns: dict[int, Columns] = {}
    last: dict[int, datetime] = {}
    for rid, seen, ts, sensor_ids, values in rows:
        if seen is not None:
            last[rid] = seen
        if ts:
            columns[rid] = (ts, sensor_ids, values)
    return TodayReadings(columns=columns, places=places, last=last)


async def _places(driver: Any, sensor_ids: set[int]) -> dict[int, tuple[str, str | None]]:
    """Kind and room kind of each sensor that reported."""
    if not sensor_ids:
        return {}
    rows = await driver.fetch(_PLACES_SQL, list(sensor_ids))
    return {sid: (kind, room_kind) for sid, kind, room_kind in rows}
