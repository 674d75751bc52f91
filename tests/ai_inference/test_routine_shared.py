"""A routine round shared by several inference processes: each chunk of residents is
scored by exactly one of them, and a replay's clock waits for the whole round."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_ai_inference.clock import to_ms
from sst_ai_inference.routine import LoadedModel, ResidentScore, RoutineScorer
from sst_ai_inference.routine_round import CHUNK_KEY, FINISHED_KEY, ROUND_KEY
from sst_ai_inference.trend_watch import TREND_KEY
from sst_core.objects import LocalStore
from tests.ai_inference.conftest import alerts_of, wait_until
from tests.ai_inference.routine_setup import (
    TODAY,
    at,
    holds_model,
    judged_at,
    own_model,
    publish_version,
    scorer_for,
)
from tests.ai_inference.test_trend import fitted
from tests.factories import HomeFixture, make_home
from tests.routine_history import local_midnight, write_history

INTERVAL_S = 600.0


def scorer(engine: AsyncEngine, redis: Redis, store: LocalStore, **overrides: Any) -> RoutineScorer:
    """One inference process's routine scorer; each round is given its time."""
    return scorer_for(engine, redis, store, clock=lambda: 0.0, **overrides)


async def homes_with_prior(
    database_url: str,
    redis: Redis,
    store: LocalStore,
    sessionmaker: async_sessionmaker[AsyncSession],
    count: int,
    now_hhmm: str,
) -> tuple[list[HomeFixture], datetime]:
    """`count` homes scored with the population prior; every other one still since 09:00."""
    homes = [await make_home(sessionmaker, timezone="Asia/Seoul") for _ in range(count)]
    now = at(homes[0], now_hhmm)
    for i, home in enumerate(homes):
        until = at(home, "09:00") if i % 2 == 0 else now
        await write_history(
            database_url, home, TODAY - timedelta(days=1), 2, until=until, alive_until=now
        )
    prior = own_model(homes[0], population=True, seed=3)
    await publish_version(database_url, redis, store, None, prior.to_json())
    return homes, now


async def rows_at(engine: AsyncEngine, homes: list[HomeFixture], now: datetime) -> dict[int, int]:
    """How many risk_scores rows each home has at `now`."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT resident_id, count(*) AS n FROM risk_scores "
                "WHERE resident_id = ANY(:ids) AND at = :at GROUP BY resident_id"
            ),
            {"ids": [h.resident_id for h in homes], "at": now},
        )
        return {r.resident_id: r.n for r in rows}


async def test_two_processes_share_a_round_and_score_each_resident_once(
    database_url: str,
    engine: AsyncEngine,
    redis: Redis,
    store: LocalStore,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    homes, now = await homes_with_prior(database_url, redis, store, sessionmaker, 8, "15:30")
    one, two, late = (
        scorer(engine, redis, store, routine_chunk_size=2, routine_interval_s=INTERVAL_S)
        for _ in range(3)
    )
    for process in (one, two, late):
        await process.sync()
    scored = await asyncio.gather(one._round(INTERVAL_S, now), two._round(INTERVAL_S, now))
    assert all(n > 0 for n in scored), scored  # both took part
    # A third process seeing the same round finds every chunk claimed: it scores nobody.
    assert await late._round(INTERVAL_S, now) == 0

    slot = int(now.timestamp() // INTERVAL_S)
    raw = await redis.get(ROUND_KEY.format(slot=slot))
    assert raw is not None
    plan = orjson.loads(raw)
    assert plan["size"] == 2 and {h.resident_id for h in homes} <= set(plan["residents"])
    chunks = (len(plan["residents"]) + 1) // 2
    owners = {
        await redis.get(CHUNK_KEY.format(slot=slot, index=i)) for i in range(chunks)
    }  # every chunk claimed once, by one of the two
    assert owners == {one.settings.consumer_name.encode(), two.settings.consumer_name.encode()}
    assert await redis.scard(FINISHED_KEY.format(slot=slot)) == chunks
    assert sum(scored) == len(plan["residents"])

    # One risk row per resident for the round; one alert per still home, never two.
    assert await rows_at(engine, homes, now) == {h.resident_id: 1 for h in homes}
    async with engine.connect() as conn:
        stored: dict[int, int] = dict(
            (
                await conn.execute(
                    text("SELECT resident_id, score FROM risk_scores WHERE resident_id = ANY(:i)"),
                    {"i": [h.resident_id for h in homes]},
                )
            ).all()
        )
    for i, home in enumerate(homes):
        alerts = await alerts_of(engine, home.resident_id)
        if i % 2 == 0:
            assert stored[home.resident_id] >= 75
        assert len(alerts) == (1 if stored[home.resident_id] >= 75 else 0), (i, alerts)
        assert all(a["count"] == 1 for a in alerts)


async def test_on_a_driven_clock_the_replay_waits_for_every_process_s_chunks(
    database_url: str,
    engine: AsyncEngine,
    redis: Redis,
    store: LocalStore,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    homes, _ = await homes_with_prior(database_url, redis, store, sessionmaker, 6, "16:40")
    # Slots of their own: the round keys of the other tests' rounds stay in Redis.
    times = [at(homes[0], "16:10"), at(homes[0], "16:20"), at(homes[0], "16:30")]
    key = f"test:clock:{uuid.uuid4().hex}"
    processes = [
        scorer(
            engine, redis, store, clock_key=key, routine_interval_s=INTERVAL_S, routine_chunk_size=1
        )
        for _ in range(2)
    ]

    # The second process keeps its chunks' scores slowly: the first runs out of chunks to
    # claim while the second still works, and must not say the round is done before it.
    keep = processes[1]._keep

    async def slow_keep(scores: list[ResidentScore]) -> None:
        await asyncio.sleep(0.3)
        await keep(scores)

    monkeypatch.setattr(processes[1], "_keep", slow_keep)

    stop = asyncio.Event()
    tasks = [asyncio.create_task(p.run(stop)) for p in processes]
    try:
        for process in processes:
            await wait_until(partial(holds_model, process, None))
        for moment in times:
            await redis.xadd(key, {"ms": to_ms(moment)})
            assert await wait_until(partial(judged_at, redis, key, to_ms(moment))) == to_ms(moment)
            # Said done by either process only once every chunk of the round is scored.
            assert await rows_at(engine, homes, moment) == {h.resident_id: 1 for h in homes}
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)


async def test_a_shared_round_watches_each_resident_s_trend_in_one_process(
    database_url: str,
    engine: AsyncEngine,
    redis: Redis,
    store: LocalStore,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    homes = [await make_home(sessionmaker, timezone="Asia/Seoul") for _ in range(4)]
    models: dict[int | None, LoadedModel] = {}
    for home in homes:
        await write_history(database_url, home, TODAY - timedelta(days=3), 3)
        base, trend = fitted(home)
        model = dataclasses.replace(base, trend=trend)
        models[home.resident_id] = LoadedModel(id=-home.resident_id, version=1, model=model)
    now = local_midnight(TODAY, homes[0].timezone) + timedelta(minutes=10)
    processes = [scorer(engine, redis, store, routine_chunk_size=1) for _ in range(2)]
    asked: list[list[int]] = [[], []]
    for process, seen in zip(processes, asked, strict=True):
        process.models.update(models)
        watch = process.trend.watch

        async def recording(
            ids: list[int], moment: datetime, watch: Any = watch, seen: list[int] = seen
        ) -> list[int]:
            seen.extend(ids)
            return list(await watch(ids, moment))

        monkeypatch.setattr(process.trend, "watch", recording)
    await asyncio.gather(*(p._round(INTERVAL_S, now) for p in processes))
    # Each resident watched by the one process that scored their chunk, never by both.
    assert not set(asked[0]) & set(asked[1]), asked
    assert set(asked[0]) | set(asked[1]) == set(models)
    for rid in models:  # and judged: the day that just ended is kept
        raw = await redis.hget(TREND_KEY, str(rid))
        assert raw is not None
        assert orjson.loads(raw)["day"] == (TODAY - timedelta(days=1)).isoformat()
