"""Soak: the whole platform for a bounded time at the load of 2,000 homes (`make bench-soak`).

Private PostgreSQL, Redis and Mosquitto (as the fault suite runs them), one gateway, one
inference worker and one backend as real processes, and simulated homes publishing like
hubs do: every home reports a batch of its sensors' readings every few seconds, and a fall
is injected in a home now and then while a staff member's browser (a Socket.IO client)
follows the facility. Every `--sample-s` seconds the resident memory of each process and
the readings stored so far are recorded. At the end it prints, as the final JSON line and
into bench/results/soak.json: memory of each process over time (and its growth over the
second half of the run), readings/s stored versus published, alert latency (fall published
-> alert in the browser) p50/p99/max, and errors (dead letters, ERROR log lines, lost
readings).

    uv run python bench/soak.py --homes 2000 --duration-s 600
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import paho.mqtt.client as mqtt
import socketio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_db import insert_homes  # noqa: E402

from sst_core.const import ALERT_EVENT, EVENTS, TELEMETRY, hub_topic  # noqa: E402
from sst_core.db.cli import DbCliSettings, bootstrap  # noqa: E402
from sst_core.db.migrate import upgrade  # noqa: E402
from sst_devices.hub_agent import event_payload, telemetry_payload  # noqa: E402
from tests.e2e.processes import Service  # noqa: E402
from tests.factories import PASSWORD  # noqa: E402
from tests.faults.stack import (  # noqa: E402
    PrivateBroker,
    PrivatePostgres,
    PrivateRedis,
)
from tests.ports import free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "soak.json"
# Each home: these sensors report in every batch (motion counts, temperature, power, door).
REPORTING = ["living-motion", "kitchen-motion", "bedroom-motion", "living-temp", "kettle-plug"]


async def seed(dsn: str, homes: int) -> list[dict[str, Any]]:
    """One facility, `homes` homes with the standard rooms and sensors, one admin."""
    from argon2 import PasswordHasher

    conn = await asyncpg.connect(dsn)
    try:
        facility = await conn.fetchval(
            "INSERT INTO facilities (name, timezone) VALUES ('Soak', 'Europe/London') RETURNING id"
        )
        digest = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
        email = f"soak-admin-{uuid.uuid4().hex[:6]}@example.test"
        await conn.execute(
            "INSERT INTO users (facility_id, email, full_name, role, password_hash, "
            "is_charge_nurse, is_active) VALUES ($1, $2, 'Soak Admin', 'admin', $3, false, true)",
            facility,
            email,
            digest,
        )
        await insert_homes(
            conn,
            facility,
            homes,
            name="soak",
            serial_prefix="soak-",
            timezone="Europe/London",
            online=False,
        )
        layout = [
            ("Bedroom", "bedroom", [("bedroom-motion", "motion")]),
            ("Bathroom", "bathroom", [("fall-1", "fall_detector")]),
            ("Kitchen", "kitchen", [("kitchen-motion", "motion"), ("kettle-plug", "power")]),
            (
                "Living room",
                "living",
                [("living-motion", "motion"), ("living-temp", "temperature")],
            ),
        ]
        for name, kind, sensors in layout:
            await conn.execute(
                "INSERT INTO rooms (home_id, name, kind) SELECT id, $1, $2 FROM homes "
                "WHERE facility_id = $3",
                name,
                kind,
                facility,
            )
            for key, sensor_kind in sensors:
                await conn.execute(
                    "INSERT INTO sensors (hub_id, room_id, key, kind) "
                    "SELECT hubs.id, rooms.id, $1, $2 FROM hubs JOIN rooms "
                    "ON rooms.home_id = hubs.home_id AND rooms.name = $3",
                    key,
                    sensor_kind,
                    name,
                )
        rows = await conn.fetch(
            "SELECT h.serial, r.id AS resident_id FROM hubs h JOIN residents r "
            "ON r.home_id = h.home_id WHERE r.facility_id = $1 ORDER BY h.serial",
            facility,
        )
        return [
            {"serial": r["serial"], "resident_id": r["resident_id"], "admin": email} for r in rows
        ]
    finally:
        await conn.close()


class Publisher:
    """A few MQTT connections publishing for many homes (the simulator's broker account)."""

    def __init__(self, broker: PrivateBroker, homes: list[dict[str, Any]], period_s: float):
        self.homes, self.period_s = homes, period_s
        self.published = 0
        self.clients = []
        for i in range(4):
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"soak-pub-{i}")
            client.username_pw_set("sst-sim", broker.sim_password)
            client.max_inflight_messages_set(1000)
            client.max_queued_messages_set(0)
            client.connect("127.0.0.1", broker.port)
            client.loop_start()
            self.clients.append(client)
        self.stop = threading.Event()
        self.fall_sent: dict[int, float] = {}

    def run(self) -> None:
        tick = time.monotonic()
        while not self.stop.is_set():
            now_ms = time.time_ns() // 1_000_000
            for i, home in enumerate(self.homes):
                readings = [
                    (key, now_ms, random.random() * (25 if "temp" in key else 1))
                    for key in REPORTING
                ]
                client = self.clients[i % len(self.clients)]
                client.publish(hub_topic(home["serial"], TELEMETRY), telemetry_payload(readings), 1)
                self.published += len(readings)
            tick += self.period_s
            self.stop.wait(max(0.0, tick - time.monotonic()))

    def fall(self, home: dict[str, Any]) -> None:
        self.fall_sent[home["resident_id"]] = time.time()
        payload = event_payload("fall-1", time.time_ns() // 1_000_000)
        self.clients[0].publish(hub_topic(home["serial"], EVENTS), payload, 1)
        self.published += 1  # a fall is a reading too

    def close(self) -> None:
        self.stop.set()
        for client in self.clients:
            client.disconnect()
            client.loop_stop()


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (uv run starts the service as a child)."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its children."""
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return round(total, 2)


def _children(pid: int) -> list[int]:
    out = []
    try:
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            out += [int(child), *_children(int(child))]
    except OSError:
        pass
    return out


async def main(args: argparse.Namespace) -> dict[str, Any]:
    pg, redis, broker = PrivatePostgres(free_port()), PrivateRedis(free_port()), None
    broker = PrivateBroker(free_port())
    for store in (pg, redis, broker):
        store.init()
    pg.start()
    redis.start()
    broker.start()
    broker.add_accounts()
    url = pg.url("sst_soak")
    dsn = url.replace("+asyncpg", "")
    services: dict[str, Service] = {}
    publisher: Publisher | None = None
    try:
        await bootstrap(DbCliSettings(database_url=url, database_admin_url=pg.admin_url))
        await asyncio.to_thread(upgrade, url)
        homes = await seed(dsn, args.homes)
        port = free_port()
        env = {
            "SST_DATABASE_URL": url,
            "SST_REDIS_URL": redis.url,
            "SST_MQTT_HOST": "127.0.0.1",
            "SST_MQTT_PORT": str(broker.port),
            "SST_MQTT_USERNAME": "sst-gateway",
            "SST_MQTT_PASSWORD": broker.gateway_password,
            "SST_MQTT_ADMIN_PASSWORD": broker.admin_password,
            # The backend's video link logs in with its own account on this broker.
            "SST_VIDEO_MQTT_USERNAME": "sst-backend",
            "SST_VIDEO_MQTT_PASSWORD": broker.backend_password,
            "SST_JWT_SECRET": "soak-" + uuid.uuid4().hex,
            "SST_LOG_LEVEL": "INFO",
            "SST_PORT": str(port),
            "SST_METRICS_PORT": "0",
            "SST_MQTT_CLIENT_ID": "soak-gateway",
        }
        services = {
            "gateway": Service("soak-gateway", ["sst-hub-gateway"], env),
            "inference": Service("soak-inference", ["sst-ai-inference"], env),
            "backend": Service("soak-backend", ["sst-backend", "serve"], env),
        }
        for service in services.values():
            service.start()
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            for _ in range(300):
                try:
                    if (await http.get("/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            token = (
                await http.post(
                    "/api/v1/auth/login", json={"email": homes[0]["admin"], "password": PASSWORD}
                )
            ).json()["access_token"]
        latencies: list[float] = []
        sio = socketio.AsyncClient(reconnection=True)
        publisher = Publisher(broker, homes, args.period_s)

        async def on_alert(data: dict[str, Any]) -> None:
            resident = data.get("resident_id")
            sent = publisher.fall_sent.pop(resident, None) if isinstance(resident, int) else None
            if sent is not None and data.get("kind") == "fall":
                latencies.append((time.time() - sent) * 1000)

        sio.on(ALERT_EVENT, on_alert)
        await sio.connect(base, auth={"token": token}, wait_timeout=10)
        thread = threading.Thread(target=publisher.run, daemon=True)
        thread.start()
        samples: list[dict[str, Any]] = []
        fall_homes = iter(random.sample(homes, min(len(homes), 10_000)))
        started = time.monotonic()
        next_fall = started + args.fall_every_s
        conn = await asyncpg.connect(dsn)
        try:
            while (elapsed := time.monotonic() - started) < args.duration_s:
                await asyncio.sleep(min(args.sample_s, max(0.1, next_fall - time.monotonic())))
                if time.monotonic() >= next_fall:
                    home = next(fall_homes, None)
                    if home is not None:
                        publisher.fall(home)
                    next_fall += args.fall_every_s
                if not samples or time.monotonic() - started >= len(samples) * args.sample_s:
                    stored = await conn.fetchval("SELECT count(*) FROM readings")
                    samples.append(
                        {
                            "t_s": round(elapsed, 1),
                            "published": publisher.published,
                            "stored": int(stored),
                            "rss_mib": {
                                n: rss_mib(s.process.pid)
                                for n, s in services.items()
                                if s.process is not None
                            },
                            "cpu_s": {
                                n: cpu_s(s.process.pid)
                                for n, s in services.items()
                                if s.process is not None
                            },
                        }
                    )
                    print(json.dumps(samples[-1]), file=sys.stderr, flush=True)
                for service in services.values():
                    service.assert_running()
            publisher.stop.set()
            thread.join(30)
            for client in publisher.clients:
                await asyncio.to_thread(_flush, client)
            published = publisher.published
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                stored = int(await conn.fetchval("SELECT count(*) FROM readings"))
                if stored >= published:
                    break
                await asyncio.sleep(1)
            dead = int(await conn.fetchval("SELECT count(*) FROM dead_letters"))
        finally:
            await conn.close()
        await sio.disconnect()
    finally:
        if publisher is not None:
            publisher.close()
        for service in services.values():
            service.stop()
        broker.stop()
        redis.stop()
        pg.stop()
    errors = {name: s.log_of_this_run().count(" ERROR ") for name, s in services.items()}
    return summarise(args, samples, published, stored, dead, errors, latencies)


def _flush(client: mqtt.Client) -> None:
    deadline = time.monotonic() + 60
    while client._out_messages and time.monotonic() < deadline:
        time.sleep(0.1)


def summarise(
    args: argparse.Namespace,
    samples: list[dict[str, Any]],
    published: int,
    stored: int,
    dead: int,
    errors: dict[str, int],
    latencies: list[float],
) -> dict[str, Any]:
    half = samples[len(samples) // 2 :] or samples
    memory = {}
    for name in samples[-1]["rss_mib"]:
        series = [s["rss_mib"].get(name, 0.0) for s in samples]
        tail = [s["rss_mib"].get(name, 0.0) for s in half]
        memory[name] = {
            "start_mib": series[0],
            "end_mib": series[-1],
            "max_mib": max(series),
            "growth_second_half_mib": round(tail[-1] - tail[0], 1),
        }
    duration = samples[-1]["t_s"] if samples else 0
    # Share of one core each process used over the run, and the homes one process would
    # carry at full use of a core at this load (a linear estimate: docs/scaling.md).
    span = samples[-1]["t_s"] - samples[0]["t_s"] if len(samples) > 1 else 0
    cpu = {}
    for name in samples[-1].get("cpu_s", {}):
        used = samples[-1]["cpu_s"][name] - samples[0]["cpu_s"].get(name, 0.0)
        share = used / span if span else 0.0
        cpu[name] = {
            "core_share": round(share, 3),
            "homes_per_core": int(args.homes / share) if share else None,
        }
    lat = sorted(latencies)

    def q(p: float) -> float | None:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))], 1) if lat else None

    return {
        "bench": "soak",
        "homes": args.homes,
        "duration_s": duration,
        "published_readings": published,
        "stored_readings": stored,
        "lost_readings": max(0, published - stored),
        "readings_per_s": round(published / duration, 1) if duration else 0,
        "memory": memory,
        "cpu": cpu,
        "alerts": {
            "falls_measured": len(lat),
            "p50_ms": q(0.5),
            "p99_ms": q(0.99),
            "max_ms": round(lat[-1], 1) if lat else None,
            "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
        },
        "dead_letters": dead,
        "error_log_lines": errors,
        "samples": samples,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--homes", type=int, default=2000)
    parser.add_argument("--duration-s", type=float, default=600)
    parser.add_argument("--period-s", type=float, default=5.0, help="each home reports this often")
    parser.add_argument("--sample-s", type=float, default=15.0)
    parser.add_argument("--fall-every-s", type=float, default=10.0)
    result = asyncio.run(main(parser.parse_args()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    compact = {k: v for k, v in result.items() if k != "samples"}
    print(json.dumps(compact, separators=(",", ":")))
