"""What the routine-scoring benches share: the database a `bench/detect_train.py --keep-db
--store-dir DIR` run left, its "now", and a RoutineScorer on it with every promoted model
loaded (bench/detect_score_cpu.py, bench/detect_score_shared.py)."""

from __future__ import annotations

import argparse
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from bench_db import bench_settings
from redis.asyncio import Redis

from sst_ai_inference.directory import Directory
from sst_ai_inference.routine import RoutineScorer
from sst_ai_inference.settings import InferenceSettings
from sst_core.db.session import make_engine


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """--database, --store-dir and --redis-url: where a detect_train run left its data."""
    parser.add_argument("--database", default="sst_bench_train")
    parser.add_argument("--store-dir", type=Path, required=True)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")


async def bench_now(conn: asyncpg.Connection) -> datetime:
    """The "now" of the bench database (its readings end there)."""
    now: datetime = await conn.fetchval("SELECT now FROM bench_train_run")
    return now.astimezone(UTC)


@asynccontextmanager
async def loaded_scorer(
    args: argparse.Namespace,
    *,
    consumer_name: str,
    clock: Callable[[], float] = time.time,
    **overrides: Any,
) -> AsyncIterator[RoutineScorer]:
    """A routine scorer on the bench database (its own engine and Redis client), every
    promoted model loaded and the directory read; closed on leaving the block."""
    db = bench_settings(args.database)
    settings = InferenceSettings(
        _env_file=None,
        database_url=db.database_url,
        redis_url=args.redis_url,
        object_store="local",
        object_store_dir=args.store_dir,
        consumer_name=consumer_name,
        **overrides,
    )
    engine = make_engine(db.database_url, pool_size=2)
    redis = Redis.from_url(settings.redis_url)
    try:
        directory = Directory(engine)
        scorer = RoutineScorer(
            settings=settings, engine=engine, redis=redis, directory=directory, clock=clock
        )
        await scorer.sync()
        await directory.refresh()
        yield scorer
    finally:
        await redis.aclose()
        await engine.dispose()
