"""CPU seconds of one routine-scoring round: this process and the PostgreSQL backends.

On a shared machine wall-clock time moves with other people's load; CPU time moves far
less. Runs RoutineScorer.score (the whole round: fetch, events, scores) on a database that
`bench/detect_train.py --keep-db --store-dir DIR` left, and reads the CPU of its own
process and of the PostgreSQL backends serving it (/proc, so on this machine only). Put
another checkout's packages first on PYTHONPATH to time that version on the same data.

    uv run python bench/detect_score_cpu.py --database sst_bench_score \\
        --store-dir /tmp/sst-bench-score-store --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC
from pathlib import Path

import asyncpg
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from sst_ai_inference import routine
from sst_ai_inference.directory import Directory
from sst_ai_inference.routine import RoutineScorer
from sst_ai_inference.settings import InferenceSettings
from sst_core.db.cli import DbCliSettings
from sst_core.db.session import make_engine

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="sst_bench_train")
    parser.add_argument("--store-dir", type=Path, required=True)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    base = DbCliSettings()
    url = make_url(base.database_url).set(database=args.database)
    db = DbCliSettings(database_url=url.render_as_string(hide_password=False))
    settings = InferenceSettings(
        _env_file=None,
        database_url=db.database_url,
        redis_url=args.redis_url,
        object_store="local",
        object_store_dir=args.store_dir,
        consumer_name="bench",
    )
    engine = make_engine(db.database_url, pool_size=2)
    redis = Redis.from_url(settings.redis_url)
    side = await asyncpg.connect(db.asyncpg_dsn)
    try:
        directory = Directory(engine)
        scorer = RoutineScorer(settings=settings, engine=engine, redis=redis, directory=directory)
        await scorer.sync()
        await directory.refresh()
        own = await side.fetchval("SELECT pg_backend_pid()")
        now = (await side.fetchval("SELECT now FROM bench_train_run")).astimezone(UTC)
        ids = [rid for (rid,) in await side.fetch("SELECT id FROM residents ORDER BY id")]
        await scorer.score(ids, now=now)  # warm: connections open, statements prepared
        backends = [
            pid
            for (pid,) in await side.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> $2",
                args.database,
                own,
            )
        ]
        client, server, wall = [], [], []
        for _ in range(args.rounds):
            s0 = sum(cpu_s(pid) for pid in backends)
            c0, w0 = time.process_time(), time.perf_counter()
            scored = len(await scorer.score(ids, now=now))
            wall.append(time.perf_counter() - w0)
            client.append(time.process_time() - c0)
            server.append(sum(cpu_s(pid) for pid in backends) - s0)
    finally:
        await side.close()
        await redis.aclose()
        await engine.dispose()
    median = statistics.median
    print(
        f"{routine.__file__}: {scored} scored; median of {args.rounds} rounds: "
        f"client CPU {median(client) * 1000:.0f} ms, PostgreSQL CPU {median(server) * 1000:.0f} "
        f"ms, wall {median(wall) * 1000:.0f} ms; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
