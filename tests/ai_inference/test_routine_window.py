"""Scoring reads each home's readings only from its carry-over start: same scores as the
whole FETCH_HOURS window (the query before the narrowing, kept here as the reference)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_ai_inference.routine import score_one
from sst_ai_inference.routine_readings import FETCH_HOURS, carry_from_ms
from sst_core.features import FEATURE_SENSORS, Event
from sst_core.objects import LocalStore
from tests.ai_inference.routine_setup import TODAY, own_model, publish_version, scorer_for
from tests.factories import make_home
from tests.routine_history import write_history

# The fetch before: every home's readings of the last FETCH_HOURS, whatever its zone.
WHOLE_WINDOW_SQL = """
SELECT r.resident_id, (extract(epoch FROM r.time) * 1000)::bigint AS ts, s.kind,
       rm.kind AS room_kind, r.value
FROM readings r
JOIN sensors s ON s.id = r.sensor_id
LEFT JOIN rooms rm ON rm.id = s.room_id
WHERE r.resident_id = ANY($1::integer[]) AND r.time >= $2 AND r.time <= $3
  AND s.kind = ANY($4::text[])
"""


async def test_narrow_fetch_scores_like_the_whole_window(
    database_url: str,
    engine: AsyncEngine,
    redis: Redis,
    store: LocalStore,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    zones = ("Asia/Seoul", "Europe/London", "America/New_York", "Pacific/Auckland")
    homes = [await make_home(sessionmaker, timezone=zone) for zone in zones]
    # One moment in UTC: a different local hour in each home (night in one, day in another).
    now = datetime(2026, 11, 10, 15, 40, tzinfo=UTC)
    for seed, home in enumerate(homes, start=1):
        await write_history(database_url, home, TODAY - timedelta(days=2), 4, until=now, seed=seed)
        model = own_model(home, seed=seed)
        await publish_version(database_url, redis, store, home.resident_id, model.to_json())
    scorer = scorer_for(engine, redis, store)
    await scorer.sync()
    ids = [h.resident_id for h in homes]
    narrow = {s.resident_id: s for s in await scorer.score(ids, now=now)}

    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch(
            WHOLE_WINDOW_SQL,
            ids,
            now - timedelta(hours=FETCH_HOURS),
            now,
            sorted(FEATURE_SENSORS),
        )
    finally:
        await conn.close()
    whole: dict[int, list[Event]] = {rid: [] for rid in ids}
    for rid, ts, kind, room_kind, value in rows:
        whole[rid].append(Event(ts, kind, room_kind, value))
    now_ms = int(now.timestamp() * 1000)
    zone_of = {h.resident_id: ZoneInfo(h.timezone) for h in homes}
    fetched = await scorer.fetch_events(zone_of, now)
    skipped_somewhere = False
    for home in homes:
        events = sorted(whole[home.resident_id], key=lambda e: e.ts)
        zone = ZoneInfo(home.timezone)
        loaded = scorer.model_for(home.resident_id)
        assert loaded is not None
        expected = score_one(home.resident_id, loaded, events, zone, now)
        assert narrow[home.resident_id] == expected, home.timezone
        assert expected.score is not None
        # Exactly the readings score_one reads: none it needs left out, in time order.
        carry_from = carry_from_ms(zone, now_ms)
        narrow_events = fetched[home.resident_id]
        assert sorted(narrow_events) == sorted(e for e in events if e.ts >= carry_from)
        assert [e.ts for e in narrow_events] == sorted(e.ts for e in narrow_events)
        # The whole window held readings the narrow one leaves out (or this proves nothing).
        skipped_somewhere |= any(e.ts < carry_from for e in events)
    assert skipped_somewhere
