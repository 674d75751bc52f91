"""`make bench-train`: routine-model training time and scoring throughput.

1. Creates its own database (default sst_bench_train) with the production bootstrap and
   migrations, and daily partitions for the whole history.
2. Makes N residents (default 1,000), each at home with the standard flat, in three time
   zones, and loads D days (default 90) of history plus today so far with COPY: the lives
   of sst_devices.life (only the sensors the routine features read; no thermometers).
   Drawing a life costs a few ms per day, so a pool of template lives per zone is drawn and
   each resident takes a random template day for each of its days. This set-up is timed
   on its own and is not part of the training figure.
3. Times the real training run (sst_ai_training.pipeline.train_residents): history read
   from the time series, shared features, held-out evaluation, fit, artifact to a local
   object store, version registered and promoted, the population prior; in `--workers`
   processes.
4. Times scoring (sst_ai_inference.routine.RoutineScorer): loading every promoted model,
   then scoring every resident at "now": end to end (today's readings fetched from
   PostgreSQL, features, score, explanation) and the computation alone.

Drops its database and artifacts at the end (unless --keep-db). Prints one JSON line at
the end and writes it to bench/results/detect_train.json.

To time scoring again and again on the same data: build once with `--keep-db --store-dir
DIR` (scoring reads only today's readings, so `--days 21` is enough: training needs 14
complete days to promote a model), then `--score-only --store-dir DIR --rounds 5`; a round
shared by several inference processes: `bench/detect_score_shared.py` on the same database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
from bench_db import (
    add_resident_at_home,
    bench_settings,
    premake_partitions,
    recreate_database,
    template_days,
)
from redis.asyncio import Redis

from sst_ai_inference.directory import Directory
from sst_ai_inference.routine import RoutineScorer, score_one
from sst_ai_inference.settings import InferenceSettings
from sst_ai_training.pipeline import train_residents
from sst_ai_training.settings import TrainingSettings
from sst_backend.seed import STANDARD_LAYOUT
from sst_core.db.cli import DbCliSettings
from sst_core.db.session import make_engine
from sst_core.features import FEATURE_SENSORS, Event

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "detect_train.json"
ZONES = ("Asia/Seoul", "Europe/London", "America/New_York")
SENSORS = [
    (room, room_kind, key, kind)
    for room, room_kind, keys in STANDARD_LAYOUT
    for key, kind in keys
    if kind in FEATURE_SENSORS
]
TRAIN_GOAL_S = 600.0
SCORE_GOAL_PER_S = 1000.0


async def create_residents(
    conn: asyncpg.Connection, count: int
) -> list[tuple[int, str, dict[str, int]]]:
    """A facility and `count` residents at home, each with the standard flat's sensors."""
    facility = await conn.fetchval(
        "INSERT INTO facilities (name, timezone) VALUES ('Bench facility', 'UTC') RETURNING id"
    )
    residents = []
    async with conn.transaction():
        for i in range(count):
            zone = ZONES[i % len(ZONES)]
            resident, sensors = await add_resident_at_home(
                conn,
                facility,
                index=i,
                zone=zone,
                sensors=SENSORS,
                hub_serial=f"bench-train-hub-{i}",
            )
            residents.append((resident, zone, sensors))
    return residents


async def load_history(
    dsn: str,
    residents: list[tuple[int, str, dict[str, int]]],
    pools: dict[str, list[list[tuple[str, int, float]]]],
    days: int,
    now: datetime,
) -> int:
    """COPY every resident's days (and today until now) into readings, two connections."""
    now_ms = int(now.timestamp() * 1000)
    total = [0]

    async def worker(part: list[tuple[int, str, dict[str, int]]]) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            for rid, zone_name, sensors in part:
                zone = ZoneInfo(zone_name)
                today = now.astimezone(zone).date()
                rng = random.Random(rid)
                rows = []
                for d in range(days, -1, -1):
                    day = today - timedelta(days=d)
                    midnight = int(
                        datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000
                    )
                    for key, offset, value in pools[zone_name][
                        rng.randrange(len(pools[zone_name]))
                    ]:
                        ts = midnight + offset
                        if ts <= now_ms:
                            rows.append(
                                (
                                    datetime.fromtimestamp(ts / 1000, tz=UTC),
                                    sensors[key],
                                    rid,
                                    value,
                                )
                            )
                await conn.copy_records_to_table(
                    "readings", records=rows, columns=("time", "sensor_id", "resident_id", "value")
                )
                total[0] += len(rows)
        finally:
            await conn.close()

    await asyncio.gather(*(worker(residents[i::2]) for i in range(2)))
    return total[0]


async def set_up(
    db: DbCliSettings, args: argparse.Namespace, now: datetime
) -> tuple[list[tuple[int, str, dict[str, int]]], int]:
    """A fresh bench database with the residents and their history; remembers `now`."""
    await recreate_database(db)
    await premake_partitions(db, args.days + 2)
    conn = await asyncpg.connect(db.asyncpg_dsn)
    try:
        residents = await create_residents(conn, args.residents)
    finally:
        await conn.close()
    first = now.date() - timedelta(days=args.days + 1)
    pools = {
        zone: template_days(
            zone, args.templates, 28, first, sensors=SENSORS, serial_prefix="train-template", seed=5
        )
        for zone in ZONES
    }
    rows = await load_history(db.asyncpg_dsn, residents, pools, args.days, now)
    conn = await asyncpg.connect(db.asyncpg_dsn)
    try:
        await conn.execute("ANALYZE")  # what autovacuum does after a bulk load
        # What --reuse-db needs to time another run on exactly the same data.
        await conn.execute("CREATE TABLE bench_train_run (now timestamptz, readings bigint)")
        await conn.execute("INSERT INTO bench_train_run VALUES ($1, $2)", now, rows)
    finally:
        await conn.close()
    return residents, rows


async def reuse_database(
    db: DbCliSettings,
) -> tuple[datetime, list[tuple[int, str, dict[str, int]]], int]:
    """The `now`, residents and reading count of a database an earlier --keep-db run left."""
    conn = await asyncpg.connect(db.asyncpg_dsn)
    try:
        now, rows = await conn.fetchrow("SELECT now, readings FROM bench_train_run")
        found = await conn.fetch(
            "SELECT r.id, h.timezone FROM residents r JOIN homes h ON h.id = r.home_id "
            "ORDER BY r.id"
        )
    finally:
        await conn.close()
    return now.astimezone(UTC), [(rid, zone, {}) for rid, zone in found], rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--templates", type=int, default=6, help="template lives per zone")
    parser.add_argument("--database", default="sst_bench_train")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--keep-db", action="store_true", help="leave the database for a look")
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="time again on the database a --keep-db run left (same readings, same now)",
    )
    parser.add_argument("--keep-store", action="store_true", help="leave the model artifacts")
    parser.add_argument(
        "--store-dir",
        type=Path,
        help="model artifacts folder (default: a fresh temporary one); kept when given",
    )
    parser.add_argument(
        "--score-only",
        action="store_true",
        help="time scoring alone on a --keep-db database whose models are in --store-dir",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="end-to-end scoring rounds (the median is kept)"
    )
    parser.add_argument(
        "--setup-only", action="store_true", help="build the database (kept) and stop there"
    )
    args = parser.parse_args()
    if args.score_only and args.store_dir is None:
        parser.error("--score-only needs --store-dir: the folder of the models trained before")

    db = bench_settings(args.database)
    started = time.perf_counter()
    if args.reuse_db or args.score_only:
        now, residents, rows = await reuse_database(db)
    else:
        now = datetime.now(UTC).replace(microsecond=0)
        residents, rows = await set_up(db, args, now)
    setup_s = time.perf_counter() - started
    print(f"set-up: {len(residents)} residents, {rows} readings in {setup_s:.0f} s", flush=True)
    if args.setup_only:
        return

    store_dir = args.store_dir or Path(tempfile.mkdtemp(prefix="sst-bench-train-"))
    training = TrainingSettings(
        _env_file=None,
        database_url=db.database_url,
        redis_url=args.redis_url,
        object_store="local",
        object_store_dir=store_dir,
        train_history_days=args.days,
    )
    ids = [rid for rid, _, _ in residents]
    done = [0]

    def progress(_: object) -> None:
        done[0] += 1
        if done[0] % 100 == 0:
            print(f"trained {done[0]}/{len(ids)} at {time.perf_counter() - t0:.0f} s", flush=True)

    t0 = time.perf_counter()
    results = []
    if not args.score_only:
        results = await train_residents(
            ids, settings=training, end=now, promote=True, workers=args.workers, progress=progress
        )
    training_s = time.perf_counter() - t0
    own = [r for r in results if r.resident_id is not None]
    rates = [r.metrics["false_alert_rate"] for r in own if "false_alert_rate" in r.metrics]
    print(f"training: {training_s:.0f} s", flush=True)

    inference = InferenceSettings(
        _env_file=None,
        database_url=db.database_url,
        redis_url=args.redis_url,
        object_store="local",
        object_store_dir=store_dir,
        consumer_name="bench",
    )
    engine = make_engine(db.database_url, pool_size=2)
    redis = Redis.from_url(inference.redis_url)
    try:
        directory = Directory(engine)
        scorer = RoutineScorer(settings=inference, engine=engine, redis=redis, directory=directory)
        t1 = time.perf_counter()
        await scorer.sync()
        load_s = time.perf_counter() - t1
        await directory.refresh()
        round_s = []
        for _ in range(max(1, args.rounds)):
            t2 = time.perf_counter()
            scores = await scorer.score(ids, now=now)
            round_s.append(time.perf_counter() - t2)
        end_to_end_s = statistics.median(round_s)
        # The computation alone: features of two local days, score and words, per resident.
        conn = await asyncpg.connect(db.asyncpg_dsn)
        try:
            fetched = await conn.fetch(
                "SELECT r.resident_id, (extract(epoch FROM r.time) * 1000)::bigint, s.kind, "
                "rm.kind, r.value FROM readings r JOIN sensors s ON s.id = r.sensor_id "
                "LEFT JOIN rooms rm ON rm.id = s.room_id WHERE r.time >= $1 AND r.time <= $2 "
                "ORDER BY r.resident_id, r.time",
                now - timedelta(hours=32),
                now,
            )
        finally:
            await conn.close()
        events: dict[int, list[Event]] = {rid: [] for rid in ids}
        for rid, ts, kind, room_kind, value in fetched:
            events[rid].append(Event(ts, kind, room_kind, value))
        zones = {rid: ZoneInfo(zone) for rid, zone, _ in residents}
        t3 = time.perf_counter()
        computed = [
            score_one(rid, loaded, events[rid], zones[rid], now)
            for rid in ids
            if (loaded := scorer.model_for(rid)) is not None
        ]
        compute_s = time.perf_counter() - t3
    finally:
        await redis.aclose()
        await engine.dispose()

    valued = [s.score for s in scores if s.score is not None]
    figures = {
        "bench": "detect_train",
        "residents": len(residents),
        "history_days": None if args.reuse_db or args.score_only else args.days,  # not kept
        "readings": rows,
        "workers": args.workers,
        "setup_s": round(setup_s, 1),
        "training_s": round(training_s, 1),
        "training_goal_s": TRAIN_GOAL_S,
        "training_per_resident_ms": round(1000 * training_s / max(1, len(ids)), 1),
        "trained": sum(r.status == "trained" for r in own),
        "promoted": sum(r.promoted for r in own),
        "failed": sum(r.status == "failed" for r in own),
        "held_out_false_alert_rate_mean": round(statistics.fmean(rates), 4) if rates else None,
        "models_loaded": len(scorer.models),
        "model_load_s": round(load_s, 2),
        "scored": len(valued),
        "scoring_end_to_end_per_s": round(len(scores) / end_to_end_s, 1),
        "scoring_rounds_s": [round(r, 3) for r in round_s],
        "scoring_compute_per_s": round(len(computed) / compute_s, 1),
        "scoring_goal_per_s": SCORE_GOAL_PER_S,
        "scores_at_or_above_75": sum(v >= 75 for v in valued),
        "score_median": statistics.median(valued) if valued else None,
        "now": now.isoformat(),
    }
    if args.score_only:  # no training this run: its figures would be zeros, not measurements
        for key in ("training_s", "training_per_resident_ms", "trained", "promoted", "failed"):
            figures[key] = None
    if not args.keep_db and not args.score_only:
        admin = await asyncpg.connect(db.database_admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        finally:
            await admin.close()
    if args.keep_store or args.store_dir is not None:
        print(f"artifacts kept in {store_dir}", flush=True)
    else:
        shutil.rmtree(store_dir, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
