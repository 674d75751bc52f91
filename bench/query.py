"""`make bench-query`: analytics latency over a year of readings for 100 residents.

1. Creates its own database (default sst_bench_query) with the same bootstrap and
   migrations as production, and a daily partition for every day of the year.
2. Makes a facility with 100 residents, each at home with the standard flat (12 sensors).
3. Loads a year of readings with COPY. The lives come from sst_devices.life (the
   simulator's model of a resident: sparse PIR motion, bed and door changes, a
   thermometer every 5 minutes; about 450 readings a day). Drawing a life costs ~20 ms
   per day, so a few template lives per time zone are drawn and each resident takes a
   different day of them for each of its days.
4. Rebuilds the hourly rollups from scratch (the bulk load bypasses the touched-bucket
   log), then writes today's readings through the trigger and times an incremental refresh.
5. Starts `sst-backend serve` on that database and measures p50/p95 latency per
   endpoint over real HTTP (one client, keep-alive, a random resident per request).

Prints one JSON line at the end and writes it to bench/results/query.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from bench_db import (
    add_resident_at_home,
    bench_settings,
    premake_partitions,
    recreate_database,
    template_days,
)

from sst_backend.auth.passwords import hash_password
from sst_backend.seed import STANDARD_LAYOUT
from sst_core.db import rollups

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "query.json"
ZONES = ("Asia/Seoul", "Europe/London", "America/New_York")
PASSWORD = "bench-query-password-2026"
GOAL_MS = 50.0
SENSORS = [
    (room, room_kind, key, kind) for room, room_kind, keys in STANDARD_LAYOUT for key, kind in keys
]

Row = tuple[datetime, int, int, float]


async def create_residents(conn: asyncpg.Connection, count: int) -> list[dict[str, object]]:
    """A facility, its admin, and `count` residents each at home with the standard sensors."""
    facility = await conn.fetchval(
        "INSERT INTO facilities (name, timezone) VALUES ('Bench facility', 'UTC') RETURNING id"
    )
    await conn.execute(
        "INSERT INTO users (facility_id, email, full_name, role, is_charge_nurse, password_hash, "
        "is_active) VALUES ($1, 'admin@bench.test', 'Bench Admin', 'admin', false, $2, true)",
        facility,
        hash_password(PASSWORD),
    )
    residents = []
    for i in range(count):
        zone = ZONES[i % len(ZONES)]
        resident, sensor_ids = await add_resident_at_home(
            conn, facility, index=i, zone=zone, sensors=SENSORS, hub_serial=f"bench-hub-{i}"
        )
        residents.append({"id": resident, "zone": zone, "sensors": sensor_ids})
    return residents


def resident_rows(
    resident: dict[str, object],
    pool: list[list[tuple[str, int, float]]],
    first: date,
    days: int,
    now_ms: int,
    rng: random.Random,
) -> Iterator[Row]:
    """A year of one resident: each local day borrows a random template day's life."""
    zone = ZoneInfo(str(resident["zone"]))
    sensors: dict[str, int] = resident["sensors"]  # type: ignore[assignment]
    rid = int(resident["id"])  # type: ignore[call-overload]
    for d in range(days):
        day = first + timedelta(days=d)
        midnight = int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)
        for key, offset, value in pool[rng.randrange(len(pool))]:
            ts = midnight + offset
            if ts <= now_ms:
                yield datetime.fromtimestamp(ts / 1000, tz=UTC), sensors[key], rid, value


async def load(
    dsn: str, residents: list[dict[str, object]], pools: dict[str, list], first: date, days: int
) -> int:
    """COPY every resident's year into readings (two connections, one per core)."""
    now_ms = int(time.time() * 1000)
    counter = [0]

    async def worker(part: list[dict[str, object]]) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            for resident in part:
                rng = random.Random(int(resident["id"]))  # type: ignore[call-overload]
                rows = list(
                    resident_rows(resident, pools[str(resident["zone"])], first, days, now_ms, rng)
                )
                await conn.copy_records_to_table(
                    "readings", records=rows, columns=("time", "sensor_id", "resident_id", "value")
                )
                counter[0] += len(rows)
        finally:
            await conn.close()

    await asyncio.gather(worker(residents[0::2]), worker(residents[1::2]))
    return counter[0]


async def build(args: argparse.Namespace) -> dict[str, object]:
    """Steps 1-4; returns the figures of the load."""
    settings = bench_settings(args.database)
    figures: dict[str, object] = {}
    t0 = time.perf_counter()
    await recreate_database(settings)
    # Daily partitions for the whole year (plain PostgreSQL), not the default one.
    await premake_partitions(settings, args.days + 1)
    figures["setup_s"] = round(time.perf_counter() - t0, 1)
    conn = await asyncpg.connect(settings.asyncpg_dsn)
    try:
        residents = await create_residents(conn, args.residents)
        first = datetime.now(UTC).date() - timedelta(days=args.days - 1)
        t0 = time.perf_counter()
        pools = {
            z: template_days(
                z, args.templates, 28, first, sensors=SENSORS, serial_prefix="template", seed=11
            )
            for z in ZONES
        }
        figures["simulate_s"] = round(time.perf_counter() - t0, 1)
        # The bulk load goes around the touched-bucket log; the rollups are rebuilt after.
        await conn.execute("ALTER TABLE readings DISABLE TRIGGER USER")
        t0 = time.perf_counter()
        rows = await load(settings.asyncpg_dsn, residents, pools, first, args.days)
        load_s = time.perf_counter() - t0
        await conn.execute("ALTER TABLE readings ENABLE TRIGGER USER")
        figures.update(
            readings=rows,
            readings_per_resident_day=round(rows / (args.residents * args.days)),
            load_s=round(load_s, 1),
            load_rows_per_s=round(rows / load_s),
        )
        t0 = time.perf_counter()
        await conn.execute("ANALYZE readings")
        figures["analyze_s"] = round(time.perf_counter() - t0, 1)
    finally:
        await conn.close()
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(settings.database_url)
    try:
        t0 = time.perf_counter()
        async with engine.begin() as sa_conn:
            rebuilt = await sa_conn.run_sync(rollups.rebuild)
        figures["rollup_rebuild_s"] = round(time.perf_counter() - t0, 1)
        figures["rollup_rows"] = rebuilt.rows
        # What autovacuum does soon after a bulk load: statistics, and the visibility map
        # that lets a resident's month be an index-only scan.
        async with engine.connect() as sa_conn:
            auto = await sa_conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql(f"VACUUM ANALYZE {rollups.VIEW}")
            await auto.exec_driver_sql("ANALYZE")
        # Live traffic: the last hour again for every resident, through the trigger (a
        # redelivery, so nothing new) plus one late reading each from three days ago.
        conn = await asyncpg.connect(settings.asyncpg_dsn)
        try:
            await conn.execute(
                "INSERT INTO readings SELECT time - interval '3 days' + interval '1 second', "
                "sensor_id, resident_id, value FROM readings "
                "WHERE time > now() - interval '1 hour' ON CONFLICT DO NOTHING"
            )
        finally:
            await conn.close()
        t0 = time.perf_counter()
        async with engine.begin() as sa_conn:
            refreshed = await sa_conn.run_sync(rollups.refresh)
        figures["incremental_refresh"] = {
            "buckets": refreshed.buckets,
            "seconds": round(time.perf_counter() - t0, 3),
        }
    finally:
        await engine.dispose()
    return figures


def serve(database: str, port: int) -> subprocess.Popen[bytes]:
    """`sst-backend serve` on the bench database."""
    settings = bench_settings(database)
    env = {
        **os.environ,
        "SST_DATABASE_URL": settings.database_url,
        "SST_PORT": str(port),
        "SST_HOST": "127.0.0.1",
        "SST_ROLLUP_INTERVAL_S": "0",
        "SST_LOG_LEVEL": "WARNING",
        "SST_JWT_SECRET": os.environ.get("SST_JWT_SECRET", "bench-query-" + "0" * 32),
    }
    return subprocess.Popen([sys.executable, "-m", "sst_backend", "serve"], env=env)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(
    base: str, residents: list[dict[str, object]], requests: int
) -> dict[str, dict[str, float]]:
    """p50/p95 (ms) per endpoint, sequential requests on one keep-alive connection."""
    with httpx.Client(base_url=base, timeout=30) as client:
        token = client.post(
            "/api/v1/auth/login", json={"email": "admin@bench.test", "password": PASSWORD}
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        rng = random.Random(5)
        endpoints = {
            "heatmap_30d": lambda r: f"/api/v1/residents/{r['id']}/activity-heatmap",
            "daily_summaries_30d": lambda r: f"/api/v1/residents/{r['id']}/daily-summaries",
            "daily_summaries_90d": lambda r: (
                f"/api/v1/residents/{r['id']}/daily-summaries?start_date="
                f"{(datetime.now(UTC).date() - timedelta(days=89)).isoformat()}"
            ),
            "series_temperature_7d_1h": lambda r: (
                f"/api/v1/sensors/{r['sensors']['living-temp']}/series?bucket=1h"
            ),
            "series_motion_365d_1d": lambda r: (
                f"/api/v1/sensors/{r['sensors']['living-motion']}/series?bucket=1d&start="
                f"{(datetime.now(UTC) - timedelta(days=365)).strftime('%Y-%m-%dT%H:%M:%SZ')}"
            ),
            "residents_list": lambda r: "/api/v1/residents",
        }
        out: dict[str, dict[str, float]] = {}
        for name, path in endpoints.items():
            for _ in range(5):  # warm the connection and the plans
                client.get(path(rng.choice(residents))).raise_for_status()
            samples = []
            for _ in range(requests):
                url = path(rng.choice(residents))
                t0 = time.perf_counter()
                response = client.get(url)
                samples.append((time.perf_counter() - t0) * 1000)
                response.raise_for_status()
            out[name] = {
                "p50_ms": round(statistics.median(samples), 1),
                "p95_ms": round(_percentile(samples, 0.95), 1),
                "n": requests,
            }
        return out


async def residents_of(database: str) -> list[dict[str, object]]:
    """The bench residents with their sensor ids (for --reuse)."""
    conn = await asyncpg.connect(bench_settings(database).asyncpg_dsn)
    try:
        rows = await conn.fetch(
            "SELECT r.id, h.timezone, json_object_agg(s.key, s.id) AS sensors FROM residents r "
            "JOIN homes h ON h.id = r.home_id JOIN hubs hb ON hb.home_id = h.id "
            "JOIN sensors s ON s.hub_id = hb.id GROUP BY r.id, h.timezone ORDER BY r.id"
        )
    finally:
        await conn.close()
    return [
        {"id": r["id"], "zone": r["timezone"], "sensors": json.loads(r["sensors"])} for r in rows
    ]


def main() -> None:
    """Entry point of `make bench-query`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sst_bench_query")
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--templates", type=int, default=2, help="template lives per time zone")
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--reuse", action="store_true", help="measure the loaded database again")
    args = parser.parse_args()
    started = time.perf_counter()
    figures: dict[str, object] = {"residents": args.residents, "days": args.days}
    if not args.reuse:
        figures.update(asyncio.run(build(args)))
    residents = asyncio.run(residents_of(args.database))
    server = serve(args.database, args.port)
    base = f"http://127.0.0.1:{args.port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the backend did not start") from None
                time.sleep(0.1)
        figures["endpoints"] = measure(base, residents, args.requests)
    finally:
        server.terminate()
        server.wait(timeout=10)
    endpoints: dict[str, dict[str, float]] = figures["endpoints"]  # type: ignore[assignment]
    figures["goal_p95_ms"] = GOAL_MS
    figures["goal_met"] = all(
        endpoints[name]["p95_ms"] < GOAL_MS for name in ("heatmap_30d", "daily_summaries_30d")
    )
    figures["total_s"] = round(time.perf_counter() - started, 1)
    line = json.dumps(figures, sort_keys=False)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
