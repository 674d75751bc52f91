"""Ingest benchmark: hubs -> Mosquitto -> gateway -> PostgreSQL, against a raw baseline.

`make bench-ingest` runs this. It starts a throwaway Mosquitto on a free loopback port
(anonymous, bound to 127.0.0.1 only, in-flight and queue limits raised), a bench database
(`sst_bench`, made with the same bootstrap + migrations as the tests), 1000 hubs of 50
sensors, and then, for batched messages (50 readings each) and single-reading messages:

* throughput of the raw baseline (bench/ingest_baseline.py) and of the gateway
  (`sst-hub-gateway` as its own process): N messages published as fast as the publishers
  go, rows counted in PostgreSQL, rate = rows / (last commit seen - first publish);
* publish-to-commit delay of each at a paced load (a fraction of the gateway's
  throughput): probe sensors' rows are polled every 20 ms and compared with their `ts`,
  which the publishers set to the publish time (an upper bound, resolution 20 ms).

It prints one JSON line last and writes it to bench/results/ingest.json. Everything it
starts it stops, and it drops the bench database and stream at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from redis.asyncio import Redis

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # for tests.ports
    sys.path.insert(0, str(ROOT))

from bench_db import drop_database as drop_bench_database  # noqa: E402
from bench_db import insert_homes, recreate_database  # noqa: E402

from sst_core.const import READINGS_STREAM  # noqa: E402
from sst_core.db.cli import DbCliSettings  # noqa: E402
from tests.ports import free_port  # noqa: E402

RESULTS = HERE / "results" / "ingest.json"
PG = "127.0.0.1:5432"
SENSORS_PER_HUB = 50
BATCH_READINGS = 50
# Probe sensors, polled for completion and delay: batched, sensor s00 of every 25th hub;
# single, every sensor of every 100th hub (a message reaches one sensor only).
PROBE_HUBS = {"batched": 25, "single": 100}
POLL_S = 0.02
DELAY_WINDOW_S = 10.0


@dataclass(frozen=True)
class Options:
    """Sizes of one benchmark run."""

    hubs: int
    publishers: int
    batched_messages: int
    single_messages: int
    paced_fraction: float
    paced_seconds: float
    db: str
    redis_db: int
    keep_db: bool
    profile: str | None
    modes: tuple[str, ...]


def rss_peak_kib(pid: int) -> int:
    """VmHWM (peak resident set) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def postgres_cpu_seconds(conn: asyncpg.Connection, database: str) -> dict[int, float]:
    """CPU time of each server process connected to the bench database, by pid.

    Only the bench's own backends: the server is shared with whatever else runs here.
    WAL writer, checkpointer and background writer serve everyone and are left out.
    """
    pids = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        database,
    )
    out = {}
    for row in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            out[row["pid"]] = cpu_seconds(row["pid"])
    return out


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# -- broker ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Broker:
    """The bench's Mosquitto."""

    port: int
    pid: int


@contextlib.contextmanager
def mosquitto(workdir: Path) -> Iterator[Broker]:
    """A throwaway broker on a free loopback port, with in-flight and queue limits raised.

    Anonymous access is acceptable only because this broker listens on 127.0.0.1, lives
    for one benchmark run and carries generated data; no shipped config allows it.
    """
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence false\n"
        # The default 20 in-flight QoS 1 messages per client would cap a consumer that
        # acknowledges a batch at a time at 20 messages per commit.
        "max_inflight_messages 60000\n"
        # Publishers run ahead of the consumer during a throughput run; queue all of it.
        "max_queued_messages 0\n"
        "set_tcp_nodelay true\n"
        "log_dest stderr\n"
        "log_type error\n"
        "log_type warning\n"
    )
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        _wait_port(port, proc)
        yield Broker(port, proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def _wait_port(port: int, proc: subprocess.Popen[bytes], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"mosquitto exited: {proc.stderr.read() if proc.stderr else ''!r}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise SystemExit("mosquitto did not listen in time")


# -- database -------------------------------------------------------------------------


def bench_database(db: str) -> DbCliSettings:
    """The settings of the bench database `db` on the local server."""
    return DbCliSettings(database_url=f"postgresql+asyncpg://sst@{PG}/{db}")


async def create_database(db: str) -> str:
    """Drop and make the bench database with the tests' bootstrap and migrations; its URL."""
    settings = bench_database(db)
    await recreate_database(settings)
    return settings.database_url


async def drop_database(db: str) -> None:
    """Remove the bench database."""
    await drop_bench_database(bench_database(db))


async def add_hubs(conn: asyncpg.Connection, hubs: int) -> dict[str, list[int]]:
    """One facility; per hub a home, a resident and 50 sensors. The probe sensor ids by mode."""
    facility = await conn.fetchval(
        "INSERT INTO facilities (name, timezone) VALUES ('Bench', 'UTC') RETURNING id"
    )
    await insert_homes(
        conn, facility, hubs, name="bench", serial_prefix="bench-h", timezone="UTC", online=True
    )
    await conn.execute(
        """
        INSERT INTO sensors (hub_id, key, kind)
        SELECT hubs.id, 's' || lpad(s::text, 2, '0'), 'temperature'
        FROM hubs, generate_series(0, $1 - 1) s WHERE hubs.serial LIKE 'bench-h%'
        """,
        SENSORS_PER_HUB,
    )
    probes: dict[str, list[int]] = {}
    for mode, every in PROBE_HUBS.items():
        serials = [f"bench-h{i:05d}" for i in range(0, hubs, every)]
        rows = await conn.fetch(
            "SELECT s.id FROM sensors s JOIN hubs h ON h.id = s.hub_id "
            "WHERE h.serial = ANY($1) AND (s.key = 's00' OR $2)",
            serials,
            mode == "single",
        )
        probes[mode] = [r["id"] for r in rows]
    return probes


# -- consumers ------------------------------------------------------------------------


@dataclass
class Consumer:
    """A running consumer process (the gateway or the baseline)."""

    name: str
    proc: asyncio.subprocess.Process
    log: Path

    @property
    def pid(self) -> int:
        """Process id."""
        return self.proc.pid


async def start_gateway(port: int, url: str, opts: Options, workdir: Path) -> Consumer:
    """`sst-hub-gateway` as its own process on the bench broker, database and Redis."""
    tag = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "SST_DATABASE_URL": url,
        "SST_REDIS_URL": f"redis://127.0.0.1:6379/{opts.redis_db}",
        "SST_MQTT_HOST": "127.0.0.1",
        "SST_MQTT_PORT": str(port),
        "SST_MQTT_USERNAME": "",
        "SST_MQTT_PASSWORD": "",
        "SST_MQTT_TLS": "false",
        "SST_MQTT_CLIENT_ID": f"bench-gw-{tag}",
        "SST_MQTT_SHARE_GROUP": f"bench-gw-{tag}",
        "SST_LOG_JSON": "false",
        # Measured: the ingest path. The per-hub rate limit would refuse a bench hub's
        # flood by design, and no /metrics port may clash with a running gateway's.
        "SST_RATE_LIMIT_MESSAGES_PER_S": "0",
        "SST_RATE_LIMIT_READINGS_PER_S": "0",
        "SST_METRICS_PORT": "0",
        "SST_LOG_LEVEL": "INFO",
    }
    exe = shutil.which("sst-hub-gateway", path=str(Path(sys.executable).parent))
    if exe is None:
        raise SystemExit("sst-hub-gateway is not installed in this environment (uv sync)")
    log = workdir / f"gateway-{tag}.log"
    proc = await asyncio.create_subprocess_exec(
        exe, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=log.open("wb")
    )
    consumer = Consumer("gateway", proc, log)
    await _wait_for_line(consumer, "subscribed to")
    return consumer


async def start_baseline(port: int, url: str, workdir: Path) -> Consumer:
    """The raw baseline subscriber as its own process."""
    tag = uuid.uuid4().hex[:8]
    log = workdir / f"baseline-{tag}.log"
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "ingest_baseline.py"),
        "--port",
        str(port),
        "--dsn",
        dsn,
        "--client-id",
        f"bench-raw-{tag}",
        "--topic",
        f"$share/bench-raw-{tag}/sst/v1/hubs/+/telemetry",
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    consumer = Consumer("baseline", proc, log)
    await _wait_for_line(consumer, "ready")
    return consumer


async def _wait_for_line(consumer: Consumer, marker: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if consumer.proc.returncode is not None:
            raise SystemExit(f"{consumer.name} exited:\n{consumer.log.read_text()[-3000:]}")
        if marker in consumer.log.read_text(errors="replace"):
            return
        await asyncio.sleep(0.05)
    raise SystemExit(
        f"{consumer.name} not ready in {within} s:\n{consumer.log.read_text()[-3000:]}"
    )


async def stop_consumer(consumer: Consumer) -> None:
    """SIGTERM, then wait (kill after 30 s)."""
    if consumer.proc.returncode is None:
        consumer.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(consumer.proc.wait(), 30)
        except TimeoutError:
            consumer.proc.kill()
            await consumer.proc.wait()


@contextlib.asynccontextmanager
async def profiling(pid: int, out: str | None) -> AsyncIterator[None]:
    """py-spy record of a process while the block runs, when asked for."""
    if not out:
        yield
        return
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    proc = await asyncio.create_subprocess_exec(
        spy,
        "record",
        "--pid",
        str(pid),
        "--rate",
        "100",
        "--gil",  # only the thread holding the GIL: what actually costs CPU time
        "--nonblocking",
        "--format",
        "speedscope" if out.endswith(".json") else "flamegraph",
        "--output",
        out,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        await proc.wait()


# -- one measured run -----------------------------------------------------------------


@dataclass
class Plan:
    """What the publishers send in one run."""

    mode: str  # "batched" | "single"
    messages: int
    rate: float  # messages/s over all publishers; 0 = as fast as possible

    @property
    def per_message(self) -> int:
        """Readings in each message."""
        return BATCH_READINGS if self.mode == "batched" else 1

    @property
    def readings(self) -> int:
        """Readings the run must end up storing."""
        return self.messages * self.per_message


async def publish(port: int, plan: Plan, opts: Options) -> list[dict[str, Any]]:
    """Run the publisher processes (disjoint hubs each) and collect their result lines."""
    per_hubs = opts.hubs // opts.publishers
    procs = []
    for p in range(opts.publishers):
        count = plan.messages // opts.publishers + (1 if p < plan.messages % opts.publishers else 0)
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(HERE / "ingest_publisher.py"),
                "--port",
                str(port),
                "--client-id",
                f"bench-pub-{p}-{uuid.uuid4().hex[:6]}",
                "--first-hub",
                str(p * per_hubs),
                "--hubs",
                str(per_hubs),
                "--sensors",
                str(SENSORS_PER_HUB),
                "--per-message",
                str(plan.per_message),
                "--messages",
                str(count),
                "--rate",
                str(plan.rate / opts.publishers),
                "--window",
                "2000" if plan.mode == "batched" else "10000",
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        )
    for proc in procs:
        assert proc.stdout is not None
        if (await proc.stdout.readline()).strip() != b"ready":
            raise SystemExit("a publisher failed to start")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    results = []
    for proc in procs:
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"publisher failed with exit code {proc.returncode}")
        results.append(orjson.loads(out.splitlines()[-1]))
    return results


async def wait_for_rows(
    pool: asyncpg.Pool,
    expected: int,
    probes: list[int],
    probe_expected: int,
    *,
    within: float,
) -> tuple[float, list[float]]:
    """Poll until `expected` rows are committed; (time of the last commit seen, delays).

    Probe sensors are cheap to poll (indexed); the whole table is counted only once the
    probes are complete. A probe row's delay is (the first poll that saw it) - its ts.
    """
    seen: set[tuple[int, datetime]] = set()
    delays: list[float] = []
    deadline = time.time() + within
    done_at: float | None = None
    async with pool.acquire() as conn:
        while True:
            polled = time.time()
            if polled > deadline:
                total = await conn.fetchval("SELECT count(*) FROM readings")
                raise SystemExit(f"only {total} of {expected} rows after {within} s")
            # A row that takes longer than the window is not in the delays (only a
            # throughput run's backlog does); the count below still waits for it.
            since = datetime.fromtimestamp(polled - DELAY_WINDOW_S, tz=UTC)
            rows = await conn.fetch(
                "SELECT sensor_id, time FROM readings WHERE sensor_id = ANY($1) AND time >= $2",
                probes,
                since,
            )
            for sensor_id, moment in rows:
                if (sensor_id, moment) not in seen:
                    seen.add((sensor_id, moment))
                    delays.append(polled - moment.timestamp())
            probe_rows = await conn.fetchval(
                "SELECT count(*) FROM readings WHERE sensor_id = ANY($1)", probes
            )
            if probe_rows >= probe_expected:
                done_at = done_at or polled
                total = await conn.fetchval("SELECT count(*) FROM readings")
                if total >= expected:
                    return done_at, delays
                done_at = time.time()
                await asyncio.sleep(0.1)
                continue
            await asyncio.sleep(POLL_S)


def probe_expectation(plan: Plan, opts: Options) -> int:
    """How many probe rows a plan produces (the publishers' round-robin, replayed)."""
    per_hubs = opts.hubs // opts.publishers
    every = PROBE_HUBS[plan.mode]
    total = 0
    for p in range(opts.publishers):
        count = plan.messages // opts.publishers + (1 if p < plan.messages % opts.publishers else 0)
        hubs = list(range(p * per_hubs, (p + 1) * per_hubs))
        if plan.mode == "batched":  # slot i is hub i, each message has s00
            slots = [h % every == 0 for h in hubs]
        else:  # hub-major order over (sensor, hub); every sensor of a probe hub counts
            slots = [h % every == 0 for _ in range(SENSORS_PER_HUB) for h in hubs]
        rounds, rest = divmod(count, len(slots))
        total += rounds * sum(slots) + sum(slots[:rest])
    return total


async def measure(
    broker: Broker,
    pool: asyncpg.Pool,
    consumer: Consumer,
    plan: Plan,
    opts: Options,
    probes: list[int],
) -> dict[str, Any]:
    """Publish a plan into a running consumer and time it until the last row is committed."""
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE readings, dead_letters")
    cpu_before = cpu_seconds(consumer.pid)
    async with pool.acquire() as conn:
        pg_before = await postgres_cpu_seconds(conn, opts.db)
    broker_before = cpu_seconds(broker.pid)
    busy_before = machine_busy_seconds()
    publishing = asyncio.create_task(publish(broker.port, plan, opts))
    within = max(120.0, plan.messages / 1000)
    done_at, delays = await wait_for_rows(
        pool, plan.readings, probes, probe_expectation(plan, opts), within=within
    )
    publishers = await publishing
    first = min(r["started"] for r in publishers)
    last_publish = max(r["finished"] for r in publishers)
    elapsed = done_at - first
    cpu = {
        "consumer": cpu_seconds(consumer.pid) - cpu_before,
        "broker": cpu_seconds(broker.pid) - broker_before,
        "postgres": await _postgres_used(pool, opts.db, pg_before),
        "publishers": sum(r["cpu"] for r in publishers),
        "machine": machine_busy_seconds() - busy_before,
    }
    async with pool.acquire() as conn:
        stored = await conn.fetchval("SELECT count(*) FROM readings")
        refused = await conn.fetchval("SELECT count(*) FROM dead_letters")
    delays.sort()
    return {
        "mode": plan.mode,
        "rate_target": round(plan.rate) or None,
        "messages": plan.messages,
        "readings": plan.readings,
        "stored": stored,
        "dead_letters": refused,
        "seconds": round(elapsed, 3),
        "publish_seconds": round(last_publish - first, 3),
        "messages_per_s": round(plan.messages / elapsed),
        "readings_per_s": round(plan.readings / elapsed),
        "delay_p50_ms": round(_quantile(delays, 0.50) * 1000, 1),
        "delay_p99_ms": round(_quantile(delays, 0.99) * 1000, 1),
        "delay_samples": len(delays),
        # CPU seconds each part used from the first publish to the end of the count
        # (the window is a little longer than `seconds`); "machine" is all cores.
        "cpu_s": {k: round(v, 2) for k, v in cpu.items()},
        # The same per reading: comparable even when other work shares the machine.
        "cpu_us_per_reading": {k: round(v / plan.readings * 1e6, 2) for k, v in cpu.items()},
    }


async def _postgres_used(pool: asyncpg.Pool, database: str, before: dict[int, float]) -> float:
    async with pool.acquire() as conn:
        after = await postgres_cpu_seconds(conn, database)
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


# -- the whole benchmark --------------------------------------------------------------


async def run(opts: Options) -> dict[str, Any]:
    """Set up, measure baseline and gateway in both modes, tear down; the result."""
    result: dict[str, Any] = {
        "benchmark": "ingest",
        "date": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpu, "
        f"{_cpu_model()}, Python {platform.python_version()}",
        "hubs": opts.hubs,
        "sensors_per_hub": SENSORS_PER_HUB,
        "publishers": opts.publishers,
    }
    print(f"setting up database {opts.db} and {opts.hubs} hubs", file=sys.stderr)
    url = await create_database(opts.db)
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    redis = Redis.from_url(f"redis://127.0.0.1:6379/{opts.redis_db}")
    workdir = Path(tempfile.mkdtemp(prefix="sst-bench-"))
    try:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        async with pool.acquire() as conn:
            probes = await add_hubs(conn, opts.hubs)
        with mosquitto(workdir) as broker:
            for mode, messages in (
                ("batched", opts.batched_messages),
                ("single", opts.single_messages),
            ):
                if mode not in opts.modes:
                    continue
                result[mode] = await _run_mode(
                    broker, url, pool, mode, messages, opts, probes, workdir
                )
        await pool.close()
    finally:
        await redis.delete(READINGS_STREAM)
        await redis.aclose()
        if not opts.keep_db:
            await drop_database(opts.db)
        shutil.rmtree(workdir, ignore_errors=True)
    if set(opts.modes) != {"batched", "single"}:
        return result
    b, s = result["batched"], result["single"]
    result["summary"] = {
        "batched_readings_per_s": b["gateway"]["readings_per_s"],
        "batched_ratio_to_baseline": b["ratio_to_baseline"],
        "single_messages_per_s": s["gateway"]["messages_per_s"],
        "single_ratio_to_baseline": s["ratio_to_baseline"],
        "batched_delay_p50_ms": b["gateway_paced"]["delay_p50_ms"],
        "batched_delay_p99_ms": b["gateway_paced"]["delay_p99_ms"],
        "single_delay_p50_ms": s["gateway_paced"]["delay_p50_ms"],
        "single_delay_p99_ms": s["gateway_paced"]["delay_p99_ms"],
        "gateway_peak_rss_mib": max(b["gateway_peak_rss_mib"], s["gateway_peak_rss_mib"]),
    }
    return result


async def _run_mode(
    broker: Broker,
    url: str,
    pool: asyncpg.Pool,
    mode: str,
    messages: int,
    opts: Options,
    probes: dict[str, list[int]],
    workdir: Path,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    full = Plan(mode, messages, 0.0)
    print(f"[{mode}] baseline: {messages} messages", file=sys.stderr)
    baseline = await start_baseline(broker.port, url, workdir)
    try:
        out["baseline"] = await measure(broker, pool, baseline, full, opts, probes[mode])
    finally:
        await stop_consumer(baseline)
    print(f"[{mode}] baseline: {out['baseline']}", file=sys.stderr)
    print(f"[{mode}] gateway: {messages} messages", file=sys.stderr)
    gateway = await start_gateway(broker.port, url, opts, workdir)
    try:
        profile = opts.profile.replace("{mode}", mode) if opts.profile else None
        async with profiling(gateway.pid, profile):
            out["gateway"] = await measure(broker, pool, gateway, full, opts, probes[mode])
        print(f"[{mode}] gateway: {out['gateway']}", file=sys.stderr)
        rate = out["gateway"]["messages_per_s"] * opts.paced_fraction
        paced = Plan(mode, max(1000, int(rate * opts.paced_seconds)), rate)
        print(f"[{mode}] gateway paced at {rate:.0f} messages/s", file=sys.stderr)
        out["gateway_paced"] = await measure(broker, pool, gateway, paced, opts, probes[mode])
        print(f"[{mode}] gateway paced: {out['gateway_paced']}", file=sys.stderr)
        out["gateway_peak_rss_mib"] = round(rss_peak_kib(gateway.pid) / 1024, 1)
    finally:
        await stop_consumer(gateway)
    key = "readings_per_s" if mode == "batched" else "messages_per_s"
    out["ratio_to_baseline"] = round(out["gateway"][key] / out["baseline"][key], 3)
    return out


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown cpu"


def main() -> None:
    """Parse options, run, print and save the result."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hubs", type=int, default=1000)
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--batched-messages", type=int, default=20_000)
    parser.add_argument("--single-messages", type=int, default=60_000)
    parser.add_argument("--paced-fraction", type=float, default=0.5)
    parser.add_argument("--paced-seconds", type=float, default=8.0)
    parser.add_argument("--db", default=os.environ.get("SST_BENCH_DB", "sst_bench"))
    parser.add_argument(
        "--redis-db", type=int, default=int(os.environ.get("SST_BENCH_REDIS_DB", "13"))
    )
    parser.add_argument("--keep-db", action="store_true", help="leave the bench database")
    parser.add_argument(
        "--profile",
        help="py-spy the gateway's throughput runs into this file ({mode} is replaced; "
        ".json = speedscope, else an SVG flame graph)",
    )
    parser.add_argument("--modes", default="batched,single", help="which runs (comma list)")
    args = parser.parse_args()
    opts = Options(
        hubs=args.hubs,
        publishers=args.publishers,
        batched_messages=args.batched_messages,
        single_messages=args.single_messages,
        paced_fraction=args.paced_fraction,
        paced_seconds=args.paced_seconds,
        db=args.db,
        redis_db=args.redis_db,
        keep_db=args.keep_db,
        profile=args.profile,
        modes=tuple(args.modes.split(",")),
    )
    result = asyncio.run(run(opts))
    line = orjson.dumps(result).decode()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    print(line)


if __name__ == "__main__":
    main()
