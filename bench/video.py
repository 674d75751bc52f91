"""`make bench-video`: time from a staff request to the first decoded video frame at the viewer.

1. Starts SST's coturn and broker (scripts/turn.sh, scripts/broker.sh) and makes its own
   database (default sst_bench_video) with the production migrations; one resident at home
   with a hub, an assigned carer and an open fall alert.
2. Starts `sst-backend serve` and the hub's camera agent (`sst-camera`, test pattern) as
   processes of their own, as in `make run`.
3. Per run, as the dashboard would (already connected over Socket.IO): POST the request, make
   the relay-only offer with the session's TURN credential, send it, take the answer, and
   wait for the first decoded frame; then hang up and wait for the session to end.
   Media crosses coturn (relay-only on both sides), as it does between a browser and a home.

Prints one JSON line at the end and writes it to bench/results/video.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import socketio
from bench_db import bench_settings, recreate_database
from dotenv import dotenv_values

from sst_backend.auth.passwords import hash_password
from sst_core.const import (
    VIDEO_ANSWER_EVENT,
    VIDEO_HANGUP_EVENT,
    VIDEO_OFFER_EVENT,
    VIDEO_STATE_EVENT,
)
from sst_core.db.cli import DbCliSettings
from sst_devices.video_viewer import Viewer, candidate_types

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # for tests.ports
    sys.path.insert(0, str(ROOT))

from tests.ports import free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "video.json"
PASSWORD = "bench-video-password-2026"
HUB = "bench-video-hub"
GOAL_MS = 2000.0


async def create_world(settings: DbCliSettings) -> int:
    """A fresh database with one resident, hub, carer and open fall alert; the resident id."""
    await recreate_database(settings)
    conn = await asyncpg.connect(settings.asyncpg_dsn)
    try:
        async with conn.transaction():
            facility = await conn.fetchval(
                "INSERT INTO facilities (name, timezone) VALUES ('Bench', 'UTC') RETURNING id"
            )
            home = await conn.fetchval(
                "INSERT INTO homes (facility_id, label, timezone) VALUES ($1, 'Flat', 'UTC') "
                "RETURNING id",
                facility,
            )
            resident = await conn.fetchval(
                "INSERT INTO residents (facility_id, home_id, full_name, video_consent) "
                "VALUES ($1, $2, 'Bench Resident', false) RETURNING id",
                facility,
                home,
            )
            await conn.execute(
                "INSERT INTO hubs (home_id, serial, online) VALUES ($1, $2, true)", home, HUB
            )
            staff = await conn.fetchval(
                "INSERT INTO users (facility_id, email, full_name, role, is_charge_nurse, "
                "password_hash, is_active) VALUES ($1, 'carer@bench.test', 'Carer', 'staff', "
                "false, $2, true) RETURNING id",
                facility,
                hash_password(PASSWORD),
            )
            await conn.execute(
                "INSERT INTO staff_assignments (staff_id, resident_id) VALUES ($1, $2)",
                staff,
                resident,
            )
            now = datetime.now(UTC)
            await conn.execute(
                "INSERT INTO alerts (resident_id, kind, severity, state, title, explanation, "
                "count, opened_at, last_seen_at) VALUES ($1, 'fall', 'critical', 'open', "
                "'Fall detected', 'Fall detected in the Bathroom.', 1, $2, $2)",
                resident,
                now,
            )
    finally:
        await conn.close()
    return int(resident)


def start_processes(database_url: str, port: int) -> list[subprocess.Popen[bytes]]:
    """The backend and the hub's camera agent, each a process of its own."""
    env = dotenv_values(ROOT / ".env")
    backend_env = {
        **os.environ,
        "SST_DATABASE_URL": database_url,
        "SST_HOST": "127.0.0.1",
        "SST_PORT": str(port),
        "SST_SCHEDULER_ENABLED": "false",
        "SST_ROLLUP_INTERVAL_S": "0",
        "SST_LOG_LEVEL": "WARNING",
        # Not the group of a `make run` backend on the same broker (another database).
        "SST_VIDEO_SHARE_GROUP": "sst-bench-video",
    }
    camera_env = {
        **os.environ,
        "SST_MQTT_USERNAME": "sst-sim",
        "SST_MQTT_PASSWORD": env.get("MQTT_SIM_PASSWORD") or "",
        "SST_LOG_LEVEL": "WARNING",
    }
    return [
        subprocess.Popen([sys.executable, "-m", "sst_backend", "serve"], env=backend_env),
        subprocess.Popen(
            [sys.executable, "-m", "sst_devices.camera_agent", "--hub", HUB], env=camera_env
        ),
    ]


async def one_call(
    http: httpx.AsyncClient,
    sio: socketio.AsyncClient,
    inbox: dict[str, asyncio.Queue[Any]],
    resident_id: int,
) -> dict[str, float]:
    """One request -> first frame, with where the time went (ms)."""
    t0 = time.monotonic()
    response = await http.post(f"/api/v1/residents/{resident_id}/video-sessions")
    response.raise_for_status()
    started = response.json()
    t_http = time.monotonic()
    viewer = Viewer(started["ice_servers"], relay_only=started["ice_transport_policy"] == "relay")
    try:
        offer = await viewer.offer()
        assert candidate_types(offer) == {"relay"}, "the viewer gathered no TURN relay"
        t_offer = time.monotonic()
        ack = await sio.call(VIDEO_OFFER_EVENT, {"session_id": started["id"], "sdp": offer})
        assert ack == {"ok": True}, ack
        while True:
            answer = await asyncio.wait_for(inbox[VIDEO_ANSWER_EVENT].get(), 30)
            if answer["session_id"] == started["id"]:
                break
        t_answer = time.monotonic()
        await viewer.accept(answer["sdp"])
        await asyncio.wait_for(viewer.frames.get(), 30)
        assert viewer.first_frame_at is not None
        t_frame = viewer.first_frame_at
        await sio.call(VIDEO_HANGUP_EVENT, {"session_id": started["id"]})
        while True:
            state = await asyncio.wait_for(inbox[VIDEO_STATE_EVENT].get(), 30)
            if state["session_id"] == started["id"] and state["state"] == "ended":
                break
    finally:
        await viewer.close()
    return {
        "first_frame_ms": (t_frame - t0) * 1000,
        "request_ms": (t_http - t0) * 1000,
        "offer_ms": (t_offer - t_http) * 1000,
        "answer_ms": (t_answer - t_offer) * 1000,
        "media_ms": (t_frame - t_answer) * 1000,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Set up, measure `args.runs` calls after a warm-up, tear down."""
    settings = bench_settings(args.database)
    resident_id = await create_world(settings)
    port = free_port()
    processes = start_processes(settings.database_url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for _ in range(300):
                try:
                    if (await http.get("/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError("the backend did not become ready")
            login = await http.post(
                "/api/v1/auth/login", json={"email": "carer@bench.test", "password": PASSWORD}
            )
            login.raise_for_status()
            token = login.json()["access_token"]
            http.headers["Authorization"] = f"Bearer {token}"
            sio = socketio.AsyncClient(reconnection=False)
            inbox: dict[str, asyncio.Queue[Any]] = {
                VIDEO_ANSWER_EVENT: asyncio.Queue(),
                VIDEO_STATE_EVENT: asyncio.Queue(),
            }
            for event, queue in inbox.items():
                sio.on(event, handler=queue.put)
            await sio.connect(base, auth={"token": token}, wait_timeout=10)
            await asyncio.sleep(args.settle_s)  # the camera agent subscribes at its start
            try:
                warm = await one_call(http, sio, inbox, resident_id)
                calls = [await one_call(http, sio, inbox, resident_id) for _ in range(args.runs)]
            finally:
                await sio.disconnect()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    def p50(key: str) -> float:
        return round(statistics.median(c[key] for c in calls), 1)

    firsts = sorted(c["first_frame_ms"] for c in calls)
    return {
        "bench": "video",
        "runs": len(calls),
        "first_frame_ms": {
            "p50": p50("first_frame_ms"),
            "min": round(firsts[0], 1),
            "max": round(firsts[-1], 1),
        },
        "warm_up_first_frame_ms": round(warm["first_frame_ms"], 1),
        "p50_breakdown_ms": {
            key: p50(key) for key in ("request_ms", "offer_ms", "answer_ms", "media_ms")
        },
        "goal_ms": GOAL_MS,
        "met": firsts[-1] < GOAL_MS,
        "relay_only": True,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }


def main() -> int:
    """Entry point of `make bench-video`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="measured calls after one warm-up")
    parser.add_argument("--database", default="sst_bench_video")
    parser.add_argument("--settle-s", type=float, default=3.0, dest="settle_s")
    args = parser.parse_args()
    for script in ("scripts/broker.sh", "scripts/turn.sh"):
        subprocess.run(["bash", script], cwd=ROOT, check=True)
    figures = asyncio.run(run(args))
    line = json.dumps(figures)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
