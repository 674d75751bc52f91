"""A scoring round's query (arrays per home, events made as scoring reads them, homes in
chunks) reads exactly what the query of one row per reading read, and scores the same.

The reference is the fetch before this path: one row per reading with its sensor's kind
and room joined in, the last reading of each home from a query of its own, and each
home's events sorted in Python.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_ai_inference.routine import score_one
from sst_ai_inference.routine_readings import FETCH_HOURS, carry_from_ms, fetch_today
from sst_core.features import FEATURE_SENSORS, Event
from sst_core.objects import LocalStore
from tests.ai_inference.routine_setup import TODAY, own_model, publish_version, scorer_for
from tests.factories import HomeFixture, make_home
from tests.routine_history import KINDS, write_history

ROWS_SQL = """
SELECT r.resident_id, (extract(epoch FROM r.time) * 1000)::bigint AS ts, r.sensor_id, s.kind,
       rm.kind AS room_kind, r.value
FROM unnest($1::integer[], $2::timestamptz[]) AS w(resident_id, since)
JOIN readings r ON r.resident_id = w.resident_id AND r.time >= w.since
JOIN sensors s ON s.id = r.sensor_id
LEFT JOIN rooms rm ON rm.id = s.room_id
WHERE r.time >= $3 AND r.time <= $4 AND s.kind = ANY($5::text[])
"""
LAST_SQL = """
SELECT resident_id, max(time) AS last FROM readings
WHERE resident_id = ANY($1::integer[]) AND time >= $2 AND time <= $3
GROUP BY resident_id
"""
NOW = datetime(2026, 11, 10, 15, 40, tzinfo=UTC)


def _key(home: HomeFixture, kind: str) -> str:
    return next(key for key, (k, _) in KINDS.items() if k == kind and key in home.sensors)


async def _reference(
    conn: asyncpg.Connection, zones: dict[int, ZoneInfo]
) -> tuple[dict[int, list[Event]], dict[int, datetime]]:
    """The fetch before: a row per reading, sorted per home in Python (ties by sensor)."""
    ids = list(zones)
    now_ms = int(NOW.timestamp() * 1000)
    since = [
        datetime.fromtimestamp((carry_from_ms(zones[rid], now_ms) - 1) / 1000, tz=UTC)
        for rid in ids
    ]
    start = NOW - timedelta(hours=FETCH_HOURS)
    rows = await conn.fetch(ROWS_SQL, ids, since, start, NOW, sorted(FEATURE_SENSORS))
    keyed: dict[int, list[tuple[int, int, float, Event]]] = {rid: [] for rid in ids}
    for rid, ts, sensor_id, kind, room_kind, value in rows:
        keyed[rid].append((ts, sensor_id, value, Event(ts, kind, room_kind, value)))
    events = {
        rid: [e for *_, e in sorted(found, key=lambda k: k[:3])] for rid, found in keyed.items()
    }
    last = {rid: at for rid, at in await conn.fetch(LAST_SQL, ids, start, NOW)}
    return events, last


async def test_one_query_reads_and_scores_like_a_row_per_reading(
    database_url: str,
    engine: AsyncEngine,
    redis: Redis,
    store: LocalStore,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    zones = ("Asia/Seoul", "Europe/London", "America/New_York")
    homes = [await make_home(sessionmaker, timezone=zone) for zone in zones]
    for seed, home in enumerate(homes[:2], start=1):
        await write_history(database_url, home, TODAY - timedelta(days=2), 3, until=NOW, seed=seed)
    # The third home has readings of yesterday only: nothing to read today, no last reading.
    await write_history(database_url, homes[2], TODAY - timedelta(days=5), 1)
    for seed, home in enumerate(homes, start=1):
        await publish_version(
            database_url, redis, store, home.resident_id, own_model(home, seed=seed).to_json()
        )
    first = homes[0]
    tie = NOW - timedelta(minutes=20)
    # Two sensors in one millisecond (the order must not depend on the query's), a
    # thermometer after every feature reading (it is the last reading, and no event), and
    # a reading of a sensor since deleted (readings keep no foreign key): no event.
    extra = [
        (tie, first.sensors[_key(first, "motion")], first.resident_id, 1.0),
        (tie, first.sensors[_key(first, "door")], first.resident_id, 1.0),
        (
            NOW - timedelta(seconds=1),
            first.sensors[_key(first, "temperature")],
            first.resident_id,
            21.5,
        ),
        (NOW - timedelta(minutes=5), 2_147_483_000, first.resident_id, 1.0),
    ]
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(
            "DELETE FROM readings WHERE sensor_id = ANY($1::integer[]) AND time = $2",
            [sid for _, sid, _, _ in extra[:2]],
            tie,
        )
        await conn.copy_records_to_table(
            "readings", records=extra, columns=["time", "sensor_id", "resident_id", "value"]
        )
        zone_of = {h.resident_id: ZoneInfo(h.timezone) for h in homes}
        expected_events, expected_last = await _reference(conn, zone_of)
        today = await fetch_today(conn, zone_of, NOW)
    finally:
        await conn.close()

    assert today.last == expected_last
    assert homes[2].resident_id not in today.last
    assert today.last[first.resident_id] == extra[2][0]
    for home in homes:
        assert list(today.events(home.resident_id)) == expected_events[home.resident_id]
    assert list(today.events(homes[2].resident_id)) == []
    ties = [e for e in expected_events[first.resident_id] if e.ts == int(tie.timestamp() * 1000)]
    assert len(ties) == 2

    scorer = scorer_for(engine, redis, store)
    await scorer.sync()
    ids = [h.resident_id for h in homes]
    scored = {s.resident_id: s for s in await scorer.score(ids, now=NOW)}
    for home in homes[:2]:
        loaded = scorer.model_for(home.resident_id)
        assert loaded is not None
        expected = score_one(
            home.resident_id,
            loaded,
            expected_events[home.resident_id],
            zone_of[home.resident_id],
            NOW,
        )
        assert expected.score is not None
        assert scored[home.resident_id] == expected
    assert scored[homes[2].resident_id].skipped == "no readings for a day"
    # In chunks (the next one read while one is scored): the same scores in the same order.
    whole = await scorer.score(ids, now=NOW)
    scorer.chunk_homes = 2
    assert await scorer.score(ids, now=NOW) == whole
    assert [s.resident_id for s in whole] == ids
