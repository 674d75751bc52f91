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

import asyncpg
from bench_db import bench_settings
from detect_score_db import add_database_arguments, bench_now, loaded_scorer

from sst_ai_inference import routine

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
    add_database_arguments(parser)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    async with loaded_scorer(args, consumer_name="bench") as scorer:
        side = await asyncpg.connect(bench_settings(args.database).asyncpg_dsn)
        try:
            own = await side.fetchval("SELECT pg_backend_pid()")
            now = await bench_now(side)
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
    median = statistics.median
    print(
        f"{routine.__file__}: {scored} scored; median of {args.rounds} rounds: "
        f"client CPU {median(client) * 1000:.0f} ms, PostgreSQL CPU {median(server) * 1000:.0f} "
        f"ms, wall {median(wall) * 1000:.0f} ms; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
