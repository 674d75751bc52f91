"""Wall time of one routine-scoring round shared by K inference processes.

Starts K worker processes (this script with --worker), each with its own engine, Redis
client and every promoted model loaded, as K inference processes on one Redis would be.
For each round the parent clears the round's keys in Redis, tells every worker to go at
once, and times from then until every worker has finished its part: each worker runs the
production round (RoutineScorer._round, routine_round.py), claiming chunks of
`--chunk-size` residents one at a time and fetching, scoring, keeping (risk_scores) and
alerting the chunks it wins. Runs on a database that `bench/detect_train.py --keep-db
--store-dir DIR` left, at that run's "now"; each round adds one risk_scores row per
scored resident to it. A warm-up round (not timed) goes first. With --alternate the rounds
alternate between one process and all K (the others wait, idle), so both figures see the
same load on a shared machine. Prints a JSON line per round and one at the end.

    uv run python bench/detect_score_shared.py --database sst_bench_score \\
        --store-dir /tmp/sst-bench-score-store --processes 2 --rounds 6 --alternate
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import asyncpg
from bench_db import bench_settings
from detect_score_db import add_database_arguments, bench_now, loaded_scorer
from redis.asyncio import Redis

from sst_ai_inference.routine_round import CHUNK_KEY, FINISHED_KEY, ROUND_KEY

INTERVAL_S = 600.0


async def database_now(database: str) -> datetime:
    """The "now" of the bench database `database`."""
    conn = await asyncpg.connect(bench_settings(database).asyncpg_dsn)
    try:
        return await bench_now(conn)
    finally:
        await conn.close()


async def worker(args: argparse.Namespace) -> None:
    """One inference process: load the models, then one shared round per "go" line."""
    now = await database_now(args.database)
    async with loaded_scorer(
        args,
        consumer_name=f"bench-{args.worker}",
        clock=now.timestamp,
        routine_interval_s=INTERVAL_S,
        routine_chunk_size=args.chunk_size,
    ) as scorer:
        print(f"ready {len(scorer.models)}", flush=True)
        while (await asyncio.to_thread(sys.stdin.readline)).strip() == "go":
            scorer._round_done = None  # the parent cleared the round: take part again
            started, cpu = time.perf_counter(), time.process_time()
            scored = await scorer._round(INTERVAL_S, now)
            took, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"done {scored} {took:.4f} {cpu:.4f}", flush=True)


def load_average() -> str:
    """The 1-minute load average."""
    return Path("/proc/loadavg").read_text().split()[0]


async def clear_round(redis: Redis, slot: int) -> None:
    """Forget the round of `slot`: its plan, claims and finished chunks."""
    keys = [ROUND_KEY.format(slot=slot), FINISHED_KEY.format(slot=slot)]
    keys += [k async for k in redis.scan_iter(CHUNK_KEY.format(slot=slot, index="*"))]
    await redis.delete(*keys)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_database_arguments(parser)
    parser.add_argument("--processes", type=int, default=2, help="inference processes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--warm-up", type=int, default=1, help="rounds first, not timed (connections, caches)"
    )
    parser.add_argument("--chunk-size", type=int, default=250)
    parser.add_argument(
        "--alternate", action="store_true", help="rounds alternate: 1 process, then all K"
    )
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        await worker(args)
        return

    now = await database_now(args.database)
    slot = int(now.timestamp() // INTERVAL_S)
    common = [
        *("--database", args.database, "--store-dir", str(args.store_dir)),
        *("--redis-url", args.redis_url, "--chunk-size", str(args.chunk_size)),
    ]
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            *common,
            "--worker",
            str(i),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for i in range(args.processes)
    ]
    redis = Redis.from_url(args.redis_url)
    rounds = []
    try:
        models = [(await p.stdout.readline()).decode().split() for p in procs]  # type: ignore[union-attr]
        if any(not line or line[0] != "ready" for line in models):
            raise SystemExit(f"a worker did not start: {models}")
        for n in range(args.warm_up + args.rounds):
            await clear_round(redis, slot)
            # Warm-up: every worker takes part once (connections, caches).
            active = procs[:1] if args.alternate and n >= args.warm_up and n % 2 == 0 else procs
            load = load_average()
            started = time.perf_counter()
            for p in active:
                p.stdin.write(b"go\n")  # type: ignore[union-attr]
            await asyncio.gather(*(p.stdin.drain() for p in active))  # type: ignore[union-attr]
            parts = [(await p.stdout.readline()).decode().split() for p in active]  # type: ignore[union-attr]
            wall = time.perf_counter() - started
            finished = await redis.scard(FINISHED_KEY.format(slot=slot))
            scored = [int(part[1]) for part in parts]
            if n < args.warm_up:
                continue
            rounds.append(
                {
                    "processes": len(active),
                    "wall_s": round(wall, 3),
                    "residents": sum(scored),
                    "per_s": round(sum(scored) / wall, 1),
                    "per_process": scored,
                    "process_wall_s": [round(float(part[2]), 3) for part in parts],
                    "process_cpu_s": [round(float(part[3]), 3) for part in parts],
                    "chunks_finished": finished,
                    "load_before": load,
                    "load_after": load_average(),
                }
            )
            print(json.dumps(rounds[-1]), flush=True)
    finally:
        for p in procs:
            p.stdin.close()  # type: ignore[union-attr]
        await asyncio.gather(*(p.wait() for p in procs))
        await redis.aclose()
    by_count: dict[int, list[dict[str, object]]] = {}
    for r in rounds:
        by_count.setdefault(int(r["processes"]), []).append(r)  # type: ignore[call-overload]
    print(
        json.dumps(
            {
                "bench": "detect_score_shared",
                "chunk_size": args.chunk_size,
                "models_loaded": int(models[0][1]),
                **{
                    f"{k}_processes": {
                        "rounds_s": [r["wall_s"] for r in rs],
                        "median_per_s": round(statistics.median(float(r["per_s"]) for r in rs), 1),  # type: ignore[arg-type]
                    }
                    for k, rs in sorted(by_count.items())
                },
                "now": now.isoformat(),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
