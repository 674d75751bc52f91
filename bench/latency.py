"""Alert latency benchmark: a hub publishes a fall -> each subscribed dashboard has the alert.

`make bench-latency` runs this. It starts the platform locally as processes, on its own
database (`sst_bench_latency`, same bootstrap + migrations as the tests), Redis database
9 (10-15 are the test suites', 13 the ingest bench's) and a throwaway Mosquitto (anonymous,
bound to 127.0.0.1 only, for one run):

* `sst-hub-gateway`, `sst-ai-inference` and `--backends` N `sst-backend serve` (default 1),
  each its own process with its default settings (the gateway's per-hub rate limit off: bench
  hubs flood by design); several backends share the Socket.IO rooms through Redis (the
  default manager) and the streams through their consumer groups, as deployed instances do;
* a background load of telemetry (bench/ingest_publisher.py, 50 readings per message, paced
  to `--rate` readings/s) from `--load-hubs` hubs of 50 sensors in another facility;
* `--clients` Socket.IO connections (bench/latency_clients.py, raw Engine.IO over aiohttp,
  in `--client-procs` processes, dealt evenly over the backends), each a member of staff
  assigned to every watched resident;
* then `--falls` falls, one every `--fall-interval` s, each from another watched resident's
  fall detector (QoS 1 on the hub's events topic, the reference hub's payload).

Latency = the time a client read the `alert` event - the time just before the fall was
published (both time.time() on this machine), for every (fall, client) pair. It prints p50,
p99 and max (ms) as the last line, as JSON, and writes bench/results/latency.json. The
video engineer's "first frame" figure has its own script (bench/video.py) and a slot here.
Everything it starts it stops; it drops the bench database unless --keep-db.

`--backends 1,2` runs each variant in turn, `--rounds` times (2 by default when there are
several), each a whole run of its own: it prints every run's line, then a summary line with
each variant's medians and their ratios to the first variant, run by run, and writes them
to bench/results/latency-backends.json (the machine is shared: read ratios of runs that
alternated, not absolute figures).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import paho.mqtt.client as mqtt
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_platform import prepare_platform
from ingest import (  # it puts the checkout on sys.path too (tests.ports)
    _cpu_model,
    _quantile,
    add_hubs,
    cpu_seconds,
    machine_busy_seconds,
    mosquitto,
)

from sst_backend.auth.tokens import issue_token
from sst_backend.settings import BackendSettings
from sst_core.const import EVENTS, STATUS, hub_topic
from sst_devices.hub_agent import event_payload
from tests.ports import free_port

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latency.json"
PG = "127.0.0.1:5432"
READINGS_PER_MESSAGE = 50


@dataclass
class Proc:
    """A platform process and its log."""

    name: str
    proc: asyncio.subprocess.Process
    log: Path


def _profile_format(path: str) -> list[str]:
    """py-spy's output format by the file's name: .txt raw, .json a timeline, else SVG."""
    if path.endswith(".txt"):
        return ["--format", "raw"]
    if path.endswith(".json"):  # chrome://tracing / Perfetto: each sample with its time
        return ["--format", "chrometrace"]
    return []


async def _exe(name: str) -> str:
    exe = shutil.which(name, path=str(Path(sys.executable).parent))
    if exe is None:
        raise SystemExit(f"{name} is not installed in this environment (uv sync)")
    return exe


async def start(name: str, argv: list[str], env: dict[str, str], workdir: Path) -> Proc:
    """Start one platform process, logging to the work folder."""
    log = workdir / f"{name}.log"
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, **env},
        cwd=workdir,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return Proc(name, proc, log)


async def wait_for_line(proc: Proc, marker: str, within: float = 60.0) -> None:
    """Wait until the process logged `marker`."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.proc.returncode is not None:
            raise SystemExit(f"{proc.name} exited:\n{proc.log.read_text()[-3000:]}")
        if marker in proc.log.read_text(errors="replace"):
            return
        await asyncio.sleep(0.1)
    raise SystemExit(
        f"{proc.name}: no {marker!r} within {within} s:\n{proc.log.read_text()[-3000:]}"
    )


async def stop(proc: Proc) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    if proc.proc.returncode is None:
        proc.proc.terminate()
        try:
            await asyncio.wait_for(proc.proc.wait(), 15)
        except TimeoutError:
            proc.proc.kill()
            await proc.proc.wait()


# -- database -------------------------------------------------------------------------


@dataclass
class Watched:
    """The facility the clients watch: residents with a fall detector, staff assigned."""

    facility_id: int
    hubs: list[tuple[int, str]]  # (resident id, hub serial), one fall each
    staff: list[int]


async def add_watched(conn: asyncpg.Connection, *, residents: int, staff: int) -> Watched:
    """A facility of `residents` homes with a fall detector and `staff` assigned to all."""
    facility = await conn.fetchval(
        "INSERT INTO facilities (name, timezone) VALUES ('Watched', 'UTC') RETURNING id"
    )
    hubs = []
    for i in range(residents):
        home = await conn.fetchval(
            "INSERT INTO homes (facility_id, label, timezone) VALUES ($1, $2, 'UTC') RETURNING id",
            facility,
            f"watched home {i}",
        )
        resident = await conn.fetchval(
            "INSERT INTO residents (facility_id, home_id, full_name, video_consent)"
            " VALUES ($1, $2, $3, false) RETURNING id",
            facility,
            home,
            f"Watched resident {i}",
        )
        room = await conn.fetchval(
            "INSERT INTO rooms (home_id, name, kind)"
            " VALUES ($1, 'Bathroom', 'bathroom') RETURNING id",
            home,
        )
        serial = f"lat-fall-{i:03d}"
        hub = await conn.fetchval(
            "INSERT INTO hubs (home_id, serial, online) VALUES ($1, $2, true) RETURNING id",
            home,
            serial,
        )
        await conn.execute(
            "INSERT INTO sensors (hub_id, room_id, key, kind)"
            " VALUES ($1, $2, 'fall-1', 'fall_detector')",
            hub,
            room,
        )
        hubs.append((int(resident), serial))
    tag = uuid.uuid4().hex[:6]
    staff_ids = [
        r["id"]
        for r in await conn.fetch(
            "INSERT INTO users (facility_id, email, full_name, role, is_charge_nurse,"
            " password_hash, is_active) SELECT $1, 'staff' || i || '-' || $3 || '@bench.test',"
            " 'Staff ' || i, 'staff', false, 'not-a-hash', true FROM generate_series(1, $2) i"
            " RETURNING id",
            facility,
            staff,
            tag,
        )
    ]
    await conn.executemany(
        "INSERT INTO staff_assignments (staff_id, resident_id) VALUES ($1, $2)",
        [(s, r) for s in staff_ids for r, _ in hubs],
    )
    return Watched(int(facility), hubs, [int(s) for s in staff_ids])


# -- the run --------------------------------------------------------------------------


def fall_publisher(port: int) -> mqtt.Client:
    """The watched hubs' MQTT session (one client publishing for every watched hub)."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-falls-{uuid.uuid4().hex[:6]}"
    )
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Set up, measure, tear down; the result."""
    bench = await prepare_platform("latency", db=args.db, redis_db=args.redis_db)
    workdir, url = bench.workdir, bench.url
    conn = await asyncpg.connect(bench.dsn)
    try:
        await add_hubs(conn, args.load_hubs)
        # Hubs that were just heard from: none is swept offline during the run.
        await conn.execute("UPDATE hubs SET last_seen_at = now()")
        watched = await add_watched(conn, residents=args.falls, staff=args.clients)
        await conn.execute("UPDATE hubs SET last_seen_at = now()")
    finally:
        await conn.close()
    settings = BackendSettings(jwt_secret=SecretStr(bench.secret), jwt_ttl_s=86_400)
    tokens = [
        issue_token(settings, user_id=s, role="staff", facility_id=watched.facility_id)
        for s in watched.staff
    ]
    (workdir / "tokens.json").write_bytes(orjson.dumps(tokens))
    procs: list[Proc] = []
    result: dict[str, Any] = {
        "benchmark": "latency",
        "date": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpu, "
        f"{_cpu_model()}, Python {platform.python_version()}",
        "load_average_before": os.getloadavg(),
    }
    with mosquitto(workdir) as broker:
        ports = [free_port() for _ in range(args.backends)]
        tag = uuid.uuid4().hex[:8]
        env = {
            **bench.env(broker.port),
            "SST_MQTT_TLS": "false",
            "SST_LOG_JSON": "false",
            "SST_LOG_LEVEL": "INFO",
        }
        gateway_env = {
            **env,
            "SST_MQTT_CLIENT_ID": f"bench-gw-{tag}",
            "SST_MQTT_SHARE_GROUP": f"bench-gw-{tag}",
            "SST_RATE_LIMIT_MESSAGES_PER_S": "0",
            "SST_RATE_LIMIT_READINGS_PER_S": "0",
        }
        backend_env = {
            **env,
            "SST_SCHEDULER_ENABLED": "false",
            "SST_ROLLUP_INTERVAL_S": "0",
            # The default, said here: several backends share rooms only through Redis.
            "SST_SOCKETIO_REDIS": "true",
            "SST_LOG_LEVEL": "WARNING",  # one line per socket would be the bench's own load
        }
        try:
            procs.append(
                await start("gateway", [await _exe("sst-hub-gateway")], gateway_env, workdir)
            )
            procs.append(await start("inference", [await _exe("sst-ai-inference")], env, workdir))
            for i, port in enumerate(ports):
                procs.append(
                    await start(
                        backend_name(i, args.backends),
                        [await _exe("sst-backend"), "serve"],
                        {**backend_env, "SST_PORT": str(port)},
                        workdir,
                    )
                )
            await wait_for_line(procs[0], "subscribed to")
            await wait_for_line(procs[1], "inference consuming")
            for port, proc in zip(ports, procs[2:], strict=True):
                await _ready(f"http://127.0.0.1:{port}", proc)
            result.update(await measure(args, broker.port, ports, watched, workdir, procs))
            published, first_seen = result.pop("_published"), result.pop("_first_seen")
            last_seen = result.pop("_last_seen")
            result.update(
                await stages(url, published, first_seen, last_seen, result.pop("_load_s"))
            )
        finally:
            for proc in reversed(procs):
                await stop(proc)
    await bench.close(keep_db=args.keep_db, keep_workdir=args.keep_logs)
    if args.keep_logs:
        result["logs"] = str(workdir)
    return result


def backend_name(index: int, backends: int) -> str:
    """ "backend" when there is one (the key of the single-backend results), else backend-1.."""
    return "backend" if backends == 1 else f"backend-{index + 1}"


async def _ready(url: str, proc: Proc, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=url, timeout=2) as http:
        while time.monotonic() < deadline:
            if proc.proc.returncode is not None:
                raise SystemExit(f"{proc.name} exited:\n{proc.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise SystemExit(f"{proc.name} not ready in time")


async def measure(
    args: argparse.Namespace,
    broker_port: int,
    ports: list[int],
    watched: Watched,
    workdir: Path,
    procs: list[Proc],
) -> dict[str, Any]:
    """`_measure`, and no client or publisher process outlives it."""
    children: list[asyncio.subprocess.Process] = []
    try:
        return await _measure(args, broker_port, ports, watched, workdir, procs, children)
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()


async def _measure(
    args: argparse.Namespace,
    broker_port: int,
    ports: list[int],
    watched: Watched,
    workdir: Path,
    procs: list[Proc],
    children: list[asyncio.subprocess.Process],
) -> dict[str, Any]:
    """Connect the clients, start the load, publish the falls; the figures."""
    falls = fall_publisher(broker_port)
    for _, serial in watched.hubs:  # the watched hubs are online (no hub-offline alerts)
        falls.publish(hub_topic(serial, STATUS), b'{"v":1,"online":true}', qos=1, retain=True)
    per_proc = -(-args.clients // args.client_procs)
    clients: list[asyncio.subprocess.Process] = []
    began = time.monotonic()
    for i in range(args.client_procs):
        first = i * per_proc
        count = min(per_proc, args.clients - first)
        clients.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(HERE / "latency_clients.py"),
                *[arg for port in ports for arg in ("--port", str(port))],
                "--tokens",
                str(workdir / "tokens.json"),
                "--first",
                str(first),
                "--count",
                str(count),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=(workdir / f"clients-{i}.log").open("wb"),
                limit=1 << 28,  # the receipts come as one JSON line
            )
        )
    children.extend(clients)
    connected = failed = 0
    for client in clients:
        assert client.stdout is not None
        line = (await asyncio.wait_for(client.stdout.readline(), 300)).decode().split()
        if not line or line[0] != "ready":
            raise SystemExit(f"clients did not start: {line}")
        connected, failed = connected + int(line[1]), failed + int(line[2])
    connect_s = time.monotonic() - began
    print(f"{connected} clients connected ({failed} failed) in {connect_s:.1f} s", file=sys.stderr)

    # Background load: paced publishers, started together.
    messages_per_s = args.rate / READINGS_PER_MESSAGE
    seconds = args.warmup_s + args.falls * args.fall_interval + 3
    publishers: list[asyncio.subprocess.Process] = []
    hubs_each = args.load_hubs // args.publishers
    for i in range(args.publishers if args.rate > 0 else 0):
        publishers.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(HERE / "ingest_publisher.py"),
                "--port",
                str(broker_port),
                "--client-id",
                f"bench-load-{i}-{uuid.uuid4().hex[:6]}",
                "--first-hub",
                str(i * hubs_each),
                "--hubs",
                str(hubs_each),
                "--sensors",
                "50",
                "--per-message",
                "50",
                "--messages",
                str(int(messages_per_s / args.publishers * seconds)),
                "--rate",
                str(messages_per_s / args.publishers),
                "--window",
                "2000",
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        )
    children.extend(publishers)
    for publisher in publishers:
        assert publisher.stdout is not None
        await publisher.stdout.readline()  # "ready"
    cpu_before = {p.name: cpu_seconds(p.proc.pid) for p in procs}
    # The dashboards share the cores too: what reading the events costs them is in the run.
    clients_cpu_before = sum(cpu_seconds(c.pid) for c in clients)
    busy_before, wall_before = machine_busy_seconds(), time.monotonic()
    for publisher in publishers:
        assert publisher.stdin is not None
        publisher.stdin.write(b"go\n")
        await publisher.stdin.drain()
    load_started = time.time()
    if args.profile:  # py-spy the backend while the falls go through
        profiler = await asyncio.create_subprocess_exec(
            await _exe("py-spy"),
            "record",
            "--nonblocking",
            "--pid",
            str(procs[2].proc.pid),  # the first backend
            "--duration",
            str(int(args.falls * args.fall_interval + args.warmup_s)),
            "--output",
            args.profile,
            *_profile_format(args.profile),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        children.append(profiler)
    await asyncio.sleep(args.warmup_s)

    published: dict[int, float] = {}
    try:
        for resident_id, serial in watched.hubs:
            payload = event_payload("fall-1", int(time.time() * 1000), 1.0)
            published[resident_id] = time.time()
            falls.publish(hub_topic(serial, EVENTS), payload, qos=1)
            await asyncio.sleep(args.fall_interval)
        await _all_logged(args.db, len(published), within=30.0)
        # The fan-out of the last one; what has not arrived by then counts as missing.
        await asyncio.sleep(args.settle_s)
    finally:
        falls.disconnect()
        falls.loop_stop()
    cpu = {
        name: round(cpu_seconds(p.proc.pid) - cpu_before[name], 2)
        for name, p in ((p.name, p) for p in procs)
    }
    wall = time.monotonic() - wall_before
    clients_cpu = round(sum(cpu_seconds(c.pid) for c in clients) - clients_cpu_before, 2)
    machine_busy = machine_busy_seconds() - busy_before

    load: list[dict[str, Any]] = []
    for publisher in publishers:
        assert publisher.stdout is not None
        out = await asyncio.wait_for(publisher.stdout.readline(), 120)
        load.append(orjson.loads(out))
        await publisher.wait()
    receipts: list[list[Any]] = []
    other_events = 0
    by_backend = [0] * len(ports)
    for client in clients:
        assert client.stdin is not None and client.stdout is not None
        client.stdin.write(b"stop\n")
        await client.stdin.drain()
        out = orjson.loads(await asyncio.wait_for(client.stdout.readline(), 120))
        receipts += out["receipts"]
        other_events += out["other_events"]
        by_backend = [a + b for a, b in zip(by_backend, out["connected_by_backend"], strict=True)]
        await client.wait()

    latencies = [
        (t - published[resident]) * 1000
        for resident, _, _, t, _ in receipts
        if resident in published
    ]
    latencies_by_backend: list[list[float]] = [[] for _ in ports]
    for resident, _, _, t, backend in receipts:
        if resident in published:
            latencies_by_backend[backend].append((t - published[resident]) * 1000)
    expected = connected * len(published)
    sent_readings = sum(p["acked"] for p in load) * READINGS_PER_MESSAGE
    load_span = max((p["finished"] for p in load), default=load_started) - load_started
    first_seen: dict[int, float] = {}
    last_seen: dict[int, float] = {}
    for resident, _, _, t, _ in receipts:
        first_seen[resident] = min(t, first_seen.get(resident, t))
        last_seen[resident] = max(t, last_seen.get(resident, t))
    return {
        "_published": published,
        "_first_seen": first_seen,
        "_last_seen": last_seen,
        "_load_s": load_span,
        "clients": args.clients,
        "clients_connected": connected,
        "clients_failed": failed,
        "connect_seconds": round(connect_s, 1),
        "falls": len(published),
        "deliveries": len(latencies),
        "expected_deliveries": expected,
        "missing_deliveries": expected - len(latencies),  # not within settle_s of the log
        "settle_s": args.settle_s,
        "load_offered_readings_per_s": args.rate,
        "load_acked_readings_per_s": round(sent_readings / load_span) if load_span > 0 else 0,
        "cpu_seconds": cpu,
        "backends": len(ports),
        "clients_per_backend": by_backend,
        "backend_cpu_seconds_each": [cpu[p.name] for p in procs[2:]],
        "backend_cpu_seconds_total": round(sum(cpu[p.name] for p in procs[2:]), 2),
        "clients_cpu_seconds": clients_cpu,
        "wall_seconds": round(wall, 1),
        "machine_cpu_busy_fraction": round(machine_busy / wall / (os.cpu_count() or 1), 2),
        "other_events_received": other_events,
        "alert_p50_ms": round(_quantile(latencies, 0.5), 1) if latencies else None,
        "alert_p99_ms": round(_quantile(latencies, 0.99), 1) if latencies else None,
        "alert_max_ms": round(max(latencies), 1) if latencies else None,
        "alert_p50_ms_by_backend": [
            round(_quantile(values, 0.5), 1) if values else None for values in latencies_by_backend
        ],
        "alert_p99_ms_by_backend": [
            round(_quantile(values, 0.99), 1) if values else None for values in latencies_by_backend
        ],
        "first_video_frame_ms": None,  # measured by bench/video.py (the video work)
    }


async def _all_logged(db: str, falls: int, *, within: float) -> None:
    """Wait until the feed logged an alert for every fall (or `within` passed)."""
    conn = await asyncpg.connect(f"postgresql://sst@{PG}/{db}")
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            logged = await conn.fetchval(
                "SELECT count(DISTINCT resident_id) FROM live_events"
                " WHERE event = 'alert' AND payload->>'kind' = 'fall'"
            )
            if logged >= falls:
                return
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def stages(
    url: str,
    published: dict[int, float],
    first_seen: dict[int, float],
    last_seen: dict[int, float],
    load_s: float,
) -> dict[str, Any]:
    """Where the time goes, per fall (medians, ms): to the alert row, to the feed's log row,
    to the first client; the rest of the spread is the fan-out to every client. `falls`
    lists each fall's stages in publishing order (the slow ones of a run show where)."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        alerts = {
            r["resident_id"]: r["opened"].timestamp()
            for r in await conn.fetch(
                "SELECT resident_id, min(updated_at) AS opened FROM alerts"
                " WHERE kind = 'fall' GROUP BY resident_id"
            )
        }
        stored = await conn.fetchval("SELECT count(*) FROM readings")
        logged = {
            r["resident_id"]: r["at"].timestamp()
            for r in await conn.fetch(
                "SELECT resident_id, min(at) AS at FROM live_events WHERE event = 'alert'"
                " AND payload->>'kind' = 'fall' GROUP BY resident_id"
            )
        }
    finally:
        await conn.close()

    def median_ms(pairs: list[tuple[float, float]]) -> float | None:
        values = [(b - a) * 1000 for a, b in pairs]
        return round(_quantile(values, 0.5), 1) if values else None

    falls = [r for r in published if r in alerts and r in logged and r in first_seen]
    return {
        # Through the gateway into PostgreSQL (what the broker acknowledged may queue there).
        "load_stored_readings_per_s": round(stored / load_s) if load_s > 0 else 0,
        "stage_publish_to_alert_row_ms": median_ms([(published[r], alerts[r]) for r in falls]),
        "stage_alert_row_to_feed_log_ms": median_ms([(alerts[r], logged[r]) for r in falls]),
        "stage_feed_log_to_first_client_ms": median_ms([(logged[r], first_seen[r]) for r in falls]),
        "falls": [
            {
                "published_at": round(published[r], 3),
                "to_alert_row_ms": round((alerts[r] - published[r]) * 1000, 1),
                "to_feed_log_ms": round((logged[r] - alerts[r]) * 1000, 1),
                "to_first_client_ms": round((first_seen[r] - logged[r]) * 1000, 1),
                "first_to_last_client_ms": round((last_seen[r] - first_seen[r]) * 1000, 1),
            }
            for r in sorted(falls, key=lambda r: published[r])
        ],
    }


# -- several variants in one invocation ---------------------------------------------------

_COMPARED = ("alert_p50_ms", "alert_p99_ms", "alert_max_ms", "backend_cpu_seconds_total")


def _ratio(value: float | None, baseline: float | None) -> float | None:
    return round(value / baseline, 2) if value is not None and baseline else None


def summary(runs: list[dict[str, Any]], variants: list[int]) -> dict[str, Any]:
    """Each variant's medians over its runs, and ratios to the first variant's runs."""
    by_variant = {n: [r for r in runs if r["backends"] == n] for n in variants}
    medians = {
        n: {key: _quantile([r[key] for r in rs if r[key] is not None], 0.5) for key in _COMPARED}
        for n, rs in by_variant.items()
    }
    base = variants[0]
    return {
        "benchmark": "latency-backends",
        "variants": variants,
        "rounds": len(by_variant[base]),
        "all_delivered": all(r["missing_deliveries"] == 0 for r in runs),
        "delivered_of_expected": [[r["deliveries"], r["expected_deliveries"]] for r in runs],
        "load_average_before": [r["load_average_before"][0] for r in runs],
        "median": {str(n): {k: round(v, 1) for k, v in m.items()} for n, m in medians.items()},
        # Ratio of the medians, and ratio within each round (the runs next to each other).
        "ratio_of_medians": {
            str(n): {k: _ratio(medians[n][k], medians[base][k]) for k in _COMPARED}
            for n in variants[1:]
        },
        "ratio_by_round": {
            str(n): [
                {k: _ratio(run[k], baseline[k]) for k in _COMPARED}
                for run, baseline in zip(by_variant[n], by_variant[base], strict=True)
            ]
            for n in variants[1:]
        },
    }


def _variants(text: str) -> list[int]:
    variants = [int(part) for part in text.split(",") if part.strip()]
    if not variants or min(variants) < 1:
        raise argparse.ArgumentTypeError("--backends: one or more counts >= 1, e.g. 1 or 1,2")
    return variants


def main() -> None:
    """Parse options, run, print and save the result."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--rate", type=float, default=20_000, help="background readings/s")
    parser.add_argument("--load-hubs", type=int, default=400)
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--falls", type=int, default=20)
    parser.add_argument("--fall-interval", type=float, default=1.0)
    parser.add_argument("--warmup-s", type=float, default=5.0)
    parser.add_argument(
        "--settle-s",
        type=float,
        default=10.0,
        help="wait after the last alert is logged; later deliveries count as missing",
    )
    parser.add_argument("--db", default=os.environ.get("SST_BENCH_LATENCY_DB", "sst_bench_latency"))
    parser.add_argument(
        "--redis-db", type=int, default=int(os.environ.get("SST_BENCH_LATENCY_REDIS_DB", "9"))
    )
    parser.add_argument("--keep-db", action="store_true", help="leave the bench database")
    parser.add_argument("--keep-logs", action="store_true", help="leave the processes' logs")
    parser.add_argument(
        "--profile",
        help="py-spy the (first) backend into this file (.svg; .txt raw; .json a timeline)",
    )
    parser.add_argument(
        "--backends",
        type=_variants,
        default=[1],
        help="backend processes sharing the sockets (default 1); a list (1,2) runs each in turn",
    )
    parser.add_argument(
        "--rounds", type=int, help="runs of each variant (default: 1, or 2 with several)"
    )
    args = parser.parse_args()
    variants: list[int] = args.backends
    rounds = args.rounds or (1 if len(variants) == 1 else 2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if len(variants) == 1 and rounds == 1:
        args.backends = variants[0]
        result = asyncio.run(run(args))
        RESULTS.write_text(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
        print(orjson.dumps(result).decode())
        return
    runs = []
    for round_ in range(rounds):
        for backends in variants:
            args.backends = backends
            print(f"round {round_ + 1}/{rounds}: {backends} backend(s)", file=sys.stderr)
            runs.append(asyncio.run(run(args)))
            print(orjson.dumps(runs[-1]).decode(), flush=True)
    result = summary(runs, variants)
    (RESULTS.parent / "latency-backends.json").write_text(
        orjson.dumps({**result, "runs": runs}, option=orjson.OPT_INDENT_2).decode() + "\n"
    )
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
