"""What the routine-scoring tests set up alike: a fitted model of a test home, its
promotion, a scorer on the test database (on the wall clock, a given one or a replay's),
and what that scorer last judged."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_ai_inference.clock import DrivenClock
from sst_ai_inference.directory import Directory
from sst_ai_inference.routine import RoutineScorer
from sst_ai_inference.settings import InferenceSettings
from sst_ai_training import registry
from sst_ai_training.fit import fit_model
from sst_core.features import FEATURE_VERSION, history_days
from sst_core.objects import LocalStore
from sst_core.routine_model import RoutineModel
from tests.factories import HomeFixture
from tests.routine_history import history_events, local_midnight

TODAY = date(2026, 11, 10)  # a Tuesday
HISTORY_DAYS = 28
DRIVEN_BLOCK_S = 0.2  # how long a scorer on a replay's clock waits for its next time


def at(home: HomeFixture, hhmm: str, day: date = TODAY) -> datetime:
    """A local wall-clock time of the home, as an aware datetime."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return local_midnight(day, home.timezone) + timedelta(hours=hour, minutes=minute)


def own_model(home: HomeFixture, *, population: bool = False, seed: int = 1) -> RoutineModel:
    """A model fitted (as training does) on four simulated weeks of a home before TODAY."""
    first = TODAY - timedelta(days=HISTORY_DAYS + 1)
    events = history_events(home, first, HISTORY_DAYS + 1, seed=seed)
    records = list(history_days(events, ZoneInfo(home.timezone)))
    if population:
        return fit_model(records, resident_id=None, prior="population")
    return fit_model(records, resident_id=home.resident_id)


async def publish_version(
    database_url: str,
    redis: Redis,
    store: LocalStore,
    resident_id: int | None,
    artifact: bytes,
    *,
    feature_version: int = FEATURE_VERSION,
    write: bool = True,
) -> int:
    """Store an artifact, register it and promote it (announced on Redis); its version."""
    key = f"routine-models/test/{uuid.uuid4().hex}.json"
    if write:
        store.put(key, artifact)
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        version = await registry.register(
            conn,
            resident_id=resident_id,
            feature_version=feature_version,
            artifact_key=key,
            data_start=None,
            data_end=None,
            days=HISTORY_DAYS,
            metrics={},
            library_versions={},
        )
        await registry.promote(conn, redis, resident_id, version.version)
    finally:
        await conn.close()
    return version.version


def scorer_for(
    engine: AsyncEngine,
    redis: Redis,
    store: LocalStore,
    *,
    clock: Callable[[], float] = time.time,
    clock_key: str | None = None,
    **overrides: Any,
) -> RoutineScorer:
    """A routine scorer on the test database (its own name and directory), reading artifacts
    from `store`; with `clock_key`, judging at the times a replay appends to that stream."""
    if clock_key is not None:
        overrides = {"clock_key": clock_key, "clock_block_s": DRIVEN_BLOCK_S, **overrides}
    settings = InferenceSettings(consumer_name=f"test-{uuid.uuid4().hex[:6]}", **overrides)
    driven = None if clock_key is None else DrivenClock(redis, clock_key, settings.clock_block_s)
    return RoutineScorer(
        settings=settings,
        engine=engine,
        redis=redis,
        directory=Directory(engine),
        store=store,
        clock=clock,
        driven=driven,
    )


async def holds_model(scorer: RoutineScorer, resident_id: int | None) -> bool:
    """Whether the scorer holds a model of the resident (None: the population prior)."""
    return resident_id in scorer.models


async def judged(redis: Redis, clock_key: str) -> int | None:
    """The newest time (ms) scorers on the replay's clock `clock_key` said they judged."""
    newest: Any = await redis.xrevrange(f"{clock_key}:routine", count=1)
    return int(newest[0][1][b"ms"]) if newest else None


async def judged_at(redis: Redis, clock_key: str, ms: int) -> int | None:
    """`ms` once it is the newest time judged on the replay's clock, else None."""
    value = await judged(redis, clock_key)
    return value if value == ms else None
