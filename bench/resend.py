"""What a charge nurse opening a big facility costs: the newest sensor state of every resident.

One `sst-backend serve` on its own database (`sst_bench_resend`, the tests' bootstrap and
migrations), a Redis database of its own (`--redis-db`, flushed) and a throwaway Mosquitto.
A facility of `--residents` homes, each a resident with a motion sensor in the kitchen and a
thermometer in the living room; one reading per sensor goes through the readings stream,
so every resident has a state in Redis while nobody follows the facility. Then a charge
nurse's socket (connected without joining anything) joins the facility, and for
`--window` seconds the bench records what reaches it and what the backend did:

* events and bytes by event name (bytes: the JSON of each Socket.IO event, name and data);
* residents whose newest state arrived, and when the first and last of them did (ms after
  the join was sent), and when the join was acknowledged;
* `sensor_state` rows the backend logged in `live_events` meanwhile;
* the backend's CPU time (user + system, /proc) in the window, minus the same window's
  worth measured just before, while nothing was joined (its background ticks).

Prints one JSON line and writes bench/results/resend.json. Not a timed test: the machine is
shared, read the counts first and the times as an order of magnitude.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import socketio
from pydantic import SecretStr
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_platform import prepare_platform
from ingest import cpu_seconds, mosquitto  # it puts the checkout on sys.path too (tests.ports)
from latency import _exe, _ready, start, stop

from sst_backend.auth.tokens import issue_token
from sst_backend.settings import BackendSettings
from sst_core.const import READINGS_STREAM
from sst_core.messages import encode_stream_rows
from tests.ports import free_port

RESULTS = Path(__file__).resolve().parent / "results" / "resend.json"
STATE_KEY = "sst:live:state:{}"


async def add_facility(conn: asyncpg.Connection, residents: int) -> dict[str, Any]:
    """A facility of `residents` homes (two sensors each) and its charge nurse (an admin)."""
    facility = await conn.fetchval(
        "INSERT INTO facilities (name, timezone) VALUES ('Big home', 'UTC') RETURNING id"
    )
    homes: list[tuple[int, str, int, int]] = []  # resident, hub serial, kitchen, living
    for i in range(residents):
        home = await conn.fetchval(
            "INSERT INTO homes (facility_id, label, timezone) VALUES ($1, $2, 'UTC') RETURNING id",
            facility,
            f"flat {i}",
        )
        resident = await conn.fetchval(
            "INSERT INTO residents (facility_id, home_id, full_name, video_consent)"
            " VALUES ($1, $2, $3, false) RETURNING id",
            facility,
            home,
            f"Resident {i}",
        )
        serial = f"resend-{i:04d}"
        hub = await conn.fetchval(
            "INSERT INTO hubs (home_id, serial, online) VALUES ($1, $2, true) RETURNING id",
            home,
            serial,
        )
        sensors = []
        for room, kind, key, sensor_kind in (
            ("Kitchen", "kitchen", "kitchen-motion", "motion"),
            ("Living room", "living", "living-temp", "temperature"),
        ):
            room_id = await conn.fetchval(
                "INSERT INTO rooms (home_id, name, kind) VALUES ($1, $2, $3) RETURNING id",
                home,
                room,
                kind,
            )
            sensors.append(
                await conn.fetchval(
                    "INSERT INTO sensors (hub_id, room_id, key, kind)"
                    " VALUES ($1, $2, $3, $4) RETURNING id",
                    hub,
                    room_id,
                    key,
                    sensor_kind,
                )
            )
        homes.append((int(resident), serial, int(sensors[0]), int(sensors[1])))
    nurse = await conn.fetchval(
        "INSERT INTO users (facility_id, email, full_name, role, is_charge_nurse,"
        " password_hash, is_active) VALUES ($1, $2, 'Charge nurse', 'admin', true,"
        " 'not-a-hash', true) RETURNING id",
        facility,
        f"nurse-{uuid.uuid4().hex[:6]}@bench.test",
    )
    return {"facility_id": int(facility), "homes": homes, "nurse": int(nurse)}


async def fold_readings(redis: Redis, homes: list[tuple[int, str, int, int]]) -> None:
    """One reading per sensor through the readings stream; wait until every state is in Redis."""
    now = int(time.time() * 1000)
    for resident, serial, kitchen, living in homes:
        rows = [
            [kitchen, resident, "motion", now, 1.0],
            [living, resident, "temperature", now, 21.5],
        ]
        await redis.xadd(READINGS_STREAM, encode_stream_rows(serial, rows))
    deadline = time.monotonic() + 60
    while True:
        async with redis.pipeline(transaction=False) as pipe:
            for resident, *_ in homes:
                pipe.hlen(STATE_KEY.format(resident))
            sizes = await pipe.execute()
        if all(size == 2 for size in sizes):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"only {sum(s == 2 for s in sizes)} states folded within 60 s")
        await asyncio.sleep(0.2)


async def join_facility(
    url: str, token: str, facility_id: int, window: float, pid: int
) -> dict[str, Any]:
    """Join the facility on a fresh socket; what arrives within `window` s, and the CPU used."""
    events: list[tuple[float, str, Any]] = []
    client = socketio.AsyncClient(reconnection=False)

    @client.on("*")
    async def anything(event: str, data: Any = None) -> None:
        events.append((time.monotonic(), event, data))

    await client.connect(
        url, auth={"token": token, "join": False}, transports=["websocket"], wait_timeout=10
    )
    try:
        idle_cpu = cpu_seconds(pid)
        await asyncio.sleep(window)
        idle_cpu = cpu_seconds(pid) - idle_cpu
        events.clear()
        cpu = cpu_seconds(pid)
        sent = time.monotonic()
        ack = await client.call("join", {"facility_id": facility_id}, timeout=30)
        acked = time.monotonic()
        await asyncio.sleep(max(0.0, window - (acked - sent)))
        cpu = cpu_seconds(pid) - cpu
    finally:
        await client.disconnect()
    assert ack.get("ok") is True, ack
    by_event: dict[str, dict[str, int]] = {}
    arrived: dict[int, float] = {}  # resident -> first state, ms after the join was sent
    for at, event, data in events:
        figures = by_event.setdefault(event, {"events": 0, "bytes": 0})
        figures["events"] += 1
        figures["bytes"] += len(orjson.dumps([event, data]))
        states = [data] if event == "sensor_state" else data.get("states", [])
        if event in ("sensor_state", "sensor_states"):
            for state in states:
                arrived.setdefault(state["resident_id"], (at - sent) * 1000)
    times = sorted(arrived.values())
    return {
        "by_event": by_event,
        "residents_with_state": len(arrived),
        "ack_ms": round((acked - sent) * 1000, 1),
        "first_state_ms": round(times[0], 1) if times else None,
        "last_state_ms": round(times[-1], 1) if times else None,
        "backend_cpu_ms": round((cpu - idle_cpu) * 1000, 1),
        "backend_idle_cpu_ms": round(idle_cpu * 1000, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Set up, measure, tear down; the figures."""
    bench = await prepare_platform("resend", db=args.db, redis_db=args.redis_db)
    conn = await asyncpg.connect(bench.dsn)
    try:
        facility = await add_facility(conn, args.residents)
    finally:
        await conn.close()
    settings = BackendSettings(jwt_secret=SecretStr(bench.secret), jwt_ttl_s=3600)
    token = issue_token(
        settings, user_id=facility["nurse"], role="admin", facility_id=facility["facility_id"]
    )
    result: dict[str, Any] = {
        "benchmark": "resend",
        "date": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {os.cpu_count()} cpu, Python {platform.python_version()}",
        "residents": args.residents,
        "window_s": args.window,
    }
    port = free_port()
    with mosquitto(bench.workdir) as broker:
        env = {
            **bench.env(broker.port),
            "SST_SCHEDULER_ENABLED": "false",
            "SST_ROLLUP_INTERVAL_S": "0",
            "SST_LOG_LEVEL": "WARNING",
            "SST_PORT": str(port),
        }
        backend = await start("backend", [await _exe("sst-backend"), "serve"], env, bench.workdir)
        try:
            base = f"http://127.0.0.1:{port}"
            await _ready(base, backend)
            await fold_readings(bench.redis, facility["homes"])
            await asyncio.sleep(1.0)  # the states logged (nobody follows them) before we count
            db = await asyncpg.connect(bench.dsn)
            try:
                before = await db.fetchval("SELECT coalesce(max(id), 0) FROM live_events")
                result.update(
                    await join_facility(
                        base, token, facility["facility_id"], args.window, backend.proc.pid
                    )
                )
                result["sensor_states_logged"] = await db.fetchval(
                    "SELECT count(*) FROM live_events WHERE id > $1 AND event = 'sensor_state'",
                    before,
                )
            finally:
                await db.close()
        finally:
            await stop(backend)
    await bench.close(keep_db=args.keep_db)
    return result


def main() -> None:
    """Parse the arguments, run, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=400)
    parser.add_argument("--window", type=float, default=3.0, help="seconds recorded")
    parser.add_argument("--db", default=os.environ.get("SST_BENCH_RESEND_DB", "sst_bench_resend"))
    parser.add_argument(
        "--redis-db", type=int, default=int(os.environ.get("SST_BENCH_RESEND_REDIS_DB", "8"))
    )
    parser.add_argument("--keep-db", action="store_true", help="leave the bench database")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
