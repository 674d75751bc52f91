"""Routine models in inference: scoring with explanations, alerts with hysteresis, the
population prior, hot reload on promotion, and bad artifacts refused without a crash."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_ai_inference.clock import to_ms
from sst_ai_inference.routine import ROUTINE_SCORE_CHANNEL, ResidentScore
from sst_ai_inference.routine_round import CHUNK_KEY, ROUND_KEY
from sst_core.const import database_channel
from sst_core.features import FEATURE_VERSION
from sst_core.objects import LocalStore
from sst_core.streams import channel
from sst_core.texts import AlertText, Text, english
from tests.ai_inference.conftest import RunService, alerts_of, announcements, wait_until
from tests.ai_inference.routine_setup import (
    TODAY,
    at,
    holds_model,
    judged,
    judged_at,
    own_model,
    publish_version,
    scorer_for,
)
from tests.factories import make_home
from tests.routine_history import write_history


async def test_a_still_morning_raises_one_explained_alert(
    database_url: str,
    engine: AsyncEngine,
    redis: Redis,
    store: LocalStore,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home = await make_home(sessionmaker, timezone="Asia/Seoul")
    ordinary = await make_home(sessionmaker, timezone="Asia/Seoul")
    # Nothing moves after 10:00; the thermometer goes on (the hub is fine).
    now = at(home, "13:30")
    yesterday = TODAY - timedelta(days=1)
    await write_history(database_url, home, yesterday, 2, until=at(home, "10:00"), alive_until=now)
    await write_history(database_url, ordinary, yesterday, 2, until=now)
    for resident in (home, ordinary):
        await publish_version(
            database_url, redis, store, resident.resident_id, own_model(resident).to_json()
        )
    scorer = scorer_for(engine, redis, store)
    await scorer.sync()
    ids = [home.resident_id, ordinary.resident_id]
    scores = {s.resident_id: s for s in await scorer.score_and_alert(ids, now=now)}
    still, fine = scores[home.resident_id], scores[ordinary.resident_id]
    assert still.score is not None and still.score >= 75, still
    assert "no movement anywhere since 09:" in still.explanation
    assert "usually" in still.explanation and still.prior == "own"
    assert fine.score is not None and fine.score < 50, fine
    (alert,) = await alerts_of(engine, home.resident_id)
    assert alert["kind"] == "routine_deviation" and alert["count"] == 1
    assert alert["explanation"].startswith(f"Risk {still.score}/100: no movement anywhere")
    assert alert["severity"] in ("high", "medium")
    [message] = await announcements(redis, alert["id"])
    assert message.kind == "routine_deviation"
    assert await alerts_of(engine, ordinary.resident_id) == []
    # Each deviation is its own structured text, nested in the explanation's; the English
    # stored and streamed is rendered from them.
    assert still.text is not None and still.text.key == "routine.deviations"
    deviations = still.text.params["deviations"]
    assert isinstance(deviations, list) and 1 <= len(deviations) <= 3
    assert all(d.key.startswith("routine.") for d in deviations)
    assert "routine.since_last_activity" in {d.key for d in deviations}
    assert english(still.text) == still.explanation
    words = AlertText.model_validate(alert["text"])
    assert words.title.key == "alert.routine_deviation.title"
    assert words.explanation == Text(
        key="alert.routine_deviation.explanation",
        params={"score": still.score, "why": still.text},
    )
    assert english(words.explanation) == alert["explanation"]
    assert message.text == words
    async with engine.connect() as conn:
        stored = await conn.scalar(
            text("SELECT text FROM risk_scores WHERE resident_id = :r"), {"r": home.resident_id}
        )
    assert Text.model_validate(stored) == still.text
    # Ten minutes later it is still high: no repeat, no second alert (hysteresis).
    again = await scorer.score_and_alert(ids, now=now + timedelta(minutes=10))
    assert next(s for s in again if s.resident_id == home.resident_id).score >= 75  # type: ignore[operator]
    (alert,) = await alerts_of(engine, home.resident_id)
    assert alert["count"] == 1


async def test_a_silent_home_is_not_scored(
    database_url: str,
    engine: AsyncEngine,
    redis: Redis,
    store: LocalStore,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home = await make_home(sessionmaker, timezone="Asia/Seoul")
    # The hub went off at 10:00: no readings at all since (a gap, not an unusual day).
    await write_history(database_url, home, TODAY - timedelta(days=1), 2, until=at(home, "10:00"))
    await publish_version(database_url, redis, store, home.resident_id, own_model(home).to_json())
    scorer = scorer_for(engine, redis, store)
    await scorer.sync()
    (scored,) = await scorer.score_and_alert([home.resident_id], now=at(home, "14:00"))
    assert scored.score is None
    assert scored.skipped is not None and scored.skipped.startswith("no readings since 09:5")
    assert await alerts_of(engine, home.resident_id) == []


async def test_a_newcomer_is_scored_with_the_population_prior_and_told_so(
    database_url: str,
    engine: AsyncEngine,
    redis: Redis,
    store: LocalStore,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    newcomer = await make_home(sessionmaker, timezone="Asia/Seoul")
    donor = await make_home(sessionmaker, timezone="Asia/Seoul")
    prior = own_model(donor, population=True, seed=3)
    await publish_version(database_url, redis, store, None, prior.to_json())
    now = at(newcomer, "13:30")
    await write_history(
        database_url,
        newcomer,
        TODAY - timedelta(days=1),
        2,
        until=at(newcomer, "09:00"),
        alive_until=now,
    )
    scorer = scorer_for(engine, redis, store)
    await scorer.sync()
    assert newcomer.resident_id not in scorer.models and None in scorer.models
    (scored,) = await scorer.score([newcomer.resident_id], now=now)
    assert scored.prior == "population"
    assert "compared with typical routines of other residents" in scored.explanation
    assert scored.score is not None and scored.score >= 75


async def test_promotion_hot_reloads_and_bad_artifacts_are_refused(
    database_url: str,
    engine: AsyncEngine,
    redis: Redis,
    tmp_path: Path,
    run_service: RunService,
    sessionmaker: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="sst.inference.routine")
    store = LocalStore(tmp_path / "objects")
    home = await make_home(sessionmaker, timezone="Asia/Seoul")
    other = await make_home(sessionmaker, timezone="Asia/Seoul")
    rid = home.resident_id
    good = own_model(home)
    await publish_version(database_url, redis, store, rid, good.to_json())
    async with run_service(
        routine_interval_s=3600.0,
        routine_sync_s=3600.0,  # only the Redis announcement can reload
        object_store="local",
        object_store_dir=tmp_path / "objects",
    ) as service:
        routine = service.routine

        async def holds(version: int) -> bool:
            held = routine.models.get(rid)
            return held is not None and held.version == version

        await wait_until(lambda: holds(1))
        assert await publish_version(database_url, redis, store, rid, good.to_json()) == 2
        await wait_until(lambda: holds(2))

        async def refused(version: int, reason: str) -> None:
            async def logged() -> bool:
                return any(
                    f"routine model version {version} of resident {rid} refused" in r.message
                    and reason in r.message
                    and "keeping version 2" in r.message
                    for r in caplog.records
                )

            await wait_until(logged)
            assert await holds(2)

        bad: list[tuple[bytes, dict[str, Any], str]] = [
            (b"{not json", {}, "invalid JSON"),
            (orjson.dumps({"format": "something-else"}), {}, "not a model artifact"),
            (
                orjson.dumps({**orjson.loads(good.to_json()), "feature_version": 999}),
                {},
                "feature version 999 does not match",
            ),
            (good.to_json(), {"feature_version": FEATURE_VERSION + 1}, "does not match"),
            (own_model(other).to_json(), {}, f"model of resident {other.resident_id}"),
            (
                orjson.dumps({**orjson.loads(good.to_json()), "hour_of_week": [1.0]}),
                {},
                "wrong length",
            ),
        ]
        version = 2
        for artifact, extra, reason in bad:
            version = await publish_version(database_url, redis, store, rid, artifact, **extra)
            await refused(version, reason)
        # An artifact missing from the store is refused too.
        gone = await publish_version(database_url, redis, store, rid, b"", write=False)

        async def refused_missing() -> bool:
            return any(
                f"version {gone} of resident {rid} refused" in r.message
                and "artifact missing" in r.message
                and "keeping version 2" in r.message
                for r in caplog.records
            )

        await wait_until(refused_missing)
        assert await holds(2)
        # The service still consumes readings and scores: nothing crashed.
        await write_history(database_url, home, TODAY, 1, until=at(home, "12:00"))
        scores = await routine.score([rid], now=at(home, "12:00"))
        assert scores and scores[0].version == 2 and scores[0].score is not None


async def test_on_demand_scoring_over_redis(
    database_url: str,
    engine: AsyncEngine,
    redis: Redis,
    store: LocalStore,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home = await make_home(sessionmaker, timezone="Asia/Seoul")
    now = at(home, "14:00")
    yesterday = TODAY - timedelta(days=1)
    await write_history(database_url, home, yesterday, 2, until=at(home, "10:30"), alive_until=now)
    await publish_version(database_url, redis, store, home.resident_id, own_model(home).to_json())
    # Rounds far apart: only the request can score her. The clock is the test's "now".
    scorer = scorer_for(
        engine, redis, store, clock=now.timestamp, routine_interval_s=3600.0, routine_sync_s=3600.0
    )
    # Another process planned this round and claimed its only chunk.
    slot = int(now.timestamp() // 3600)
    plan = {"size": 250, "residents": [home.resident_id]}
    await redis.set(ROUND_KEY.format(slot=slot), orjson.dumps(plan))
    await redis.set(CHUNK_KEY.format(slot=slot, index=0), "someone else")
    stop = asyncio.Event()
    task = asyncio.create_task(scorer.run(stop))
    try:
        await wait_until(lambda: holds_model(scorer, home.resident_id))
        assert await alerts_of(engine, home.resident_id) == []  # no round ran
        request = orjson.dumps({"resident_id": home.resident_id})
        # Channels are shared by all databases of a Redis server: a request of a deployment
        # (or a test run) on another database is not this one's.
        # (the bare name is what every deployment used before channels carried a database)
        database = int(redis.connection_pool.connection_kwargs.get("db", 0))
        for elsewhere in (
            ROUTINE_SCORE_CHANNEL,
            database_channel(ROUTINE_SCORE_CHANNEL, database + 1),
        ):
            await redis.publish(elsewhere, request)
        await asyncio.sleep(1.0)
        assert await alerts_of(engine, home.resident_id) == []
        await redis.publish(channel(redis, ROUTINE_SCORE_CHANNEL), request)
        await redis.publish(channel(redis, ROUTINE_SCORE_CHANNEL), b"not json")  # ignored
        alerts = await wait_until(lambda: alerts_of(engine, home.resident_id))
        assert alerts[0]["kind"] == "routine_deviation"
        assert "no movement anywhere since 10:" in alerts[0]["explanation"]
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


async def test_a_round_keeps_each_scored_resident_s_risk_and_prunes_old_ones(
    database_url: str,
    engine: AsyncEngine,
    redis: Redis,
    store: LocalStore,
    sessionmaker: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    home = await make_home(sessionmaker, timezone="Asia/Seoul")
    silent = await make_home(sessionmaker, timezone="Asia/Seoul")
    now = at(home, "13:30")
    await write_history(database_url, home, TODAY - timedelta(days=1), 2, until=now)
    await write_history(database_url, silent, TODAY - timedelta(days=1), 2, until=at(home, "10:00"))
    versions = {}
    for resident in (home, silent):
        versions[resident.resident_id] = await publish_version(
            database_url, redis, store, resident.resident_id, own_model(resident).to_json()
        )
    scorer = scorer_for(engine, redis, store)
    await scorer.sync()
    async with engine.begin() as conn:  # a row past the 30 days' retention
        await conn.execute(
            text(
                "INSERT INTO risk_scores (resident_id, at, score, explanation) "
                "VALUES (:r, :at, 5, 'old')"
            ),
            {"r": home.resident_id, "at": now - timedelta(days=31)},
        )
    ids = [home.resident_id, silent.resident_id]
    scores = {s.resident_id: s for s in await scorer.score_and_alert(ids, now=now)}
    await scorer.score_and_alert(ids, now=now + timedelta(minutes=10))

    sql = (
        "SELECT at, score, explanation, model_version FROM risk_scores "
        "WHERE resident_id = :r ORDER BY at"
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(text(sql), {"r": home.resident_id})).all()
        silent_rows = (await conn.execute(text(sql), {"r": silent.resident_id})).all()
    first = scores[home.resident_id]
    assert [r.at for r in rows] == [now, now + timedelta(minutes=10)]  # the old one is gone
    assert (rows[0].score, rows[0].explanation) == (first.score, first.explanation)
    assert rows[0].model_version == versions[home.resident_id]
    assert silent_rows == []  # a silent home has no score, so no row

    # A write that fails is logged and the round goes on.
    bad = ResidentScore(home.resident_id, now, 101, "out of range")
    with caplog.at_level(logging.ERROR, logger="sst.inference.risk"):
        assert await scorer.risks.record([bad], now=now) == 0
    assert "could not store 1 risk scores" in caplog.text


async def test_on_a_driven_clock_a_round_scores_at_each_time_a_replay_appends(
    database_url: str,
    engine: AsyncEngine,
    redis: Redis,
    store: LocalStore,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home = await make_home(sessionmaker, timezone="Asia/Seoul")
    times = [at(home, "12:10"), at(home, "12:20"), at(home, "12:30")]
    await write_history(database_url, home, TODAY - timedelta(days=1), 2, until=times[-1])
    await publish_version(database_url, redis, store, home.resident_id, own_model(home).to_json())
    key = f"test:clock:{uuid.uuid4().hex}"
    scorer = scorer_for(
        engine,
        redis,
        store,
        clock=lambda: 0.0,  # the wall clock is never asked: 1970 would score nobody
        clock_key=key,
        routine_interval_s=600.0,
    )
    sql = "SELECT at FROM risk_scores WHERE resident_id = :r ORDER BY at"

    async def scored_at() -> list[datetime]:
        async with engine.connect() as conn:
            return [r.at for r in await conn.execute(text(sql), {"r": home.resident_id})]

    stop = asyncio.Event()
    task = asyncio.create_task(scorer.run(stop))
    try:
        await wait_until(lambda: holds_model(scorer, home.resident_id))
        await asyncio.sleep(0.5)
        assert await scored_at() == []  # no time set yet: nothing judged
        await redis.xadd(key, {"ms": to_ms(times[0])})
        assert await wait_until(lambda: judged(redis, key)) == to_ms(times[0])
        for moment in times[1:]:  # two at once: a round at each, in order
            await redis.xadd(key, {"ms": to_ms(moment)})
        await wait_until(lambda: judged_at(redis, key, to_ms(times[-1])))
        assert await scored_at() == times
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
