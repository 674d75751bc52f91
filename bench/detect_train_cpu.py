"""CPU seconds of training and scoring per resident, in one process, on a bench database.

On a shared machine the wall-clock figures of `make bench-train` move by 30-50% from run
to run with other people's load; the CPU time this process spends moves far less. Run it
on a database that `bench/detect_train.py --keep-db` (or `--setup-only`) left, once with
this checkout and once with another on PYTHONPATH, to compare two versions of the code on
the same readings:

    uv run python bench/detect_train_cpu.py --database sst_bench_train --residents 40
    PYTHONPATH=<old>/core:<old>/ai_training:<old>/ai_inference uv run python bench/...

Training: `sst_ai_training.pipeline.train_resident` for each resident (its history read
alone, features, held-out evaluation, fit, artifact to a temporary folder; not the
registry). Scoring: `sst_ai_inference.routine.score_one` for each of those models at the
bench's `now`, from the readings of the window inference reads. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.engine import make_url

import sst_ai_training.pipeline as pipeline
from sst_ai_inference.routine import LoadedModel, score_one
from sst_ai_inference.routine_readings import FETCH_HOURS
from sst_ai_training.pipeline import train_resident, training_window
from sst_ai_training.settings import TrainingSettings
from sst_core.features import FEATURE_SENSORS, Event
from sst_core.objects import open_store
from sst_core.routine_model import RoutineModel


async def _bench_state(dsn: str, residents: int) -> tuple[object, list[tuple[int, str]]]:
    conn = await asyncpg.connect(dsn)
    try:
        now = await conn.fetchval("SELECT now FROM bench_train_run")
        rows = await conn.fetch(
            "SELECT r.id, h.timezone FROM residents r JOIN homes h ON h.id = r.home_id "
            "ORDER BY r.id LIMIT $1",
            residents,
        )
    finally:
        await conn.close()
    return now.astimezone(UTC), [(row[0], row[1]) for row in rows]


async def _today(dsn: str, ids: list[int], now: object) -> dict[int, list[Event]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT r.resident_id, (extract(epoch FROM r.time) * 1000)::bigint, s.kind, "
            "rm.kind, r.value FROM readings r JOIN sensors s ON s.id = r.sensor_id "
            "LEFT JOIN rooms rm ON rm.id = s.room_id WHERE r.resident_id = ANY($1::integer[]) "
            "AND r.time >= $2 AND r.time <= $3 AND s.kind = ANY($4::text[]) "
            "ORDER BY r.resident_id, r.time",
            ids,
            now - timedelta(hours=FETCH_HOURS),  # type: ignore[operator]
            now,
            sorted(FEATURE_SENSORS),
        )
    finally:
        await conn.close()
    events: dict[int, list[Event]] = {rid: [] for rid in ids}
    for rid, ts, kind, room_kind, value in rows:
        events[rid].append(Event(ts, kind, room_kind, value))
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="sst_bench_train")
    parser.add_argument("--residents", type=int, default=40)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--score-rounds", type=int, default=20)
    args = parser.parse_args()

    store_dir = Path(tempfile.mkdtemp(prefix="sst-bench-train-cpu-"))
    base = TrainingSettings(_env_file=None)
    url = make_url(base.database_url).set(database=args.database)
    settings = TrainingSettings(
        _env_file=None,
        database_url=url.render_as_string(hide_password=False),
        object_store="local",
        object_store_dir=store_dir,
        train_history_days=args.days,
    )
    now, residents = asyncio.run(_bench_state(settings.asyncpg_dsn, args.residents))
    start, end = training_window(settings, now)  # type: ignore[arg-type]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    results = [train_resident(rid, start, end, settings) for rid, _ in residents]
    train_cpu, train_wall = time.process_time() - cpu0, time.perf_counter() - wall0
    store = open_store(settings)
    models = {
        r.resident_id: RoutineModel.from_json(store.get(r.artifact_key))
        for r in results
        if r.artifact_key is not None and r.resident_id is not None
    }
    events = asyncio.run(_today(settings.asyncpg_dsn, list(models), now))
    zones = {rid: ZoneInfo(zone) for rid, zone in residents}
    cpu1 = time.process_time()
    scored = 0
    for _ in range(args.score_rounds):
        for rid, model in models.items():
            score_one(rid, LoadedModel(0, 1, model), events[rid], zones[rid], now)  # type: ignore[arg-type]
            scored += 1
    score_cpu = time.process_time() - cpu1
    shutil.rmtree(store_dir, ignore_errors=True)
    print(
        json.dumps(
            {
                "bench": "detect_train_cpu",
                "code": str(Path(pipeline.__file__).parents[2]),
                "residents": len(residents),
                "trained": sum(r.status == "trained" for r in results),
                "training_cpu_s_per_resident": round(train_cpu / len(residents), 4),
                "training_wall_s_per_resident": round(train_wall / len(residents), 4),
                "scoring_cpu_ms_per_resident": round(1000 * score_cpu / max(1, scored), 3),
                "now": now.isoformat(),  # type: ignore[attr-defined]
            }
        )
    )


if __name__ == "__main__":
    main()
