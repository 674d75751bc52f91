"""The fault suite's platform: private stores, two of each service, simulated hubs, watchers.

`make test-faults` runs it (and `.ci/run`); the default `pytest` run leaves it out (marker
`faults`). Every service is a real process started as `make run` starts it, with two
gateways on one shared subscription, two inference workers in one consumer group and two
backends sharing Socket.IO rooms through Redis. A row of the results table is written by
each test; the table is printed as the run's last line and kept in bench/results/faults.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
import socketio
from socketio.exceptions import ConnectionError as SocketConnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_core.const import ALERT_EVENT
from sst_core.db.cli import DbCliSettings, bootstrap
from sst_core.db.migrate import upgrade
from sst_core.db.session import make_engine, make_sessionmaker
from sst_devices.hub_agent import HubAgent
from tests.e2e.processes import Service
from tests.factories import PASSWORD, HomeFixture, make_home
from tests.faults.load import LOAD_SENSOR, Load
from tests.faults.stack import (
    ROOT,
    PrivateBroker,
    PrivatePostgres,
    PrivateRedis,
    wait_async,
)
from tests.ports import free_port

HOMES = 12  # each fault row injects falls in homes no other row uses
# Homes outside the steady load (its kettle counts as movement in the kitchen, which no
# windowed rule about an absence could ignore): windowed rules and extra falls use them.
QUIET_HOMES = 14
QUIET_FIRST_SENSOR = "kitchen-motion"
RESULTS = ROOT / "bench" / "results" / "faults.json"
ROWS: list[dict[str, Any]] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not ROWS:
        return
    table = {
        "suite": "faults",
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": ROWS,
        "lost": sum(r["lost"] for r in ROWS),
        "duplicates": sum(r["duplicates"] for r in ROWS),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(table, indent=2) + "\n")
    header = f"{'fault':34} {'published':>9} {'stored':>7} {'dup':>4} {'lost':>5} "
    header += f"{'alerts':>9} {'clients':>8} {'recovery':>9}"
    lines = [header]
    for r in ROWS:
        lines.append(
            f"{r['fault']:34} {r['published']:>9} {r['stored']:>7} {r['duplicates']:>4} "
            f"{r['lost']:>5} {r['alerts_raised']:>4}/{r['alerts_expected']:<4} "
            f"{r['alerts_delivered']:>4}/{r['alerts_expected']:<3} {r['recovery_s']:>8.1f}s"
        )
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)
    global _FINAL_LINE
    _FINAL_LINE = json.dumps(table, separators=(",", ":"))


_FINAL_LINE: str | None = None


def pytest_unconfigure(config: pytest.Config) -> None:
    # After pytest's own summary: the table is the run's final line, as benchmarks print.
    if _FINAL_LINE is not None:
        print(_FINAL_LINE, flush=True)


@dataclass
class Watcher:
    """A staff member's browser: the live events it received, failing over between backends.

    It connects to its own backend first. When that connection drops it does what the proxy
    and socket.io-client do together in production: it connects to the next backend that
    answers (the other one first), sending the id of the last event it handled
    (`last_event_id`), so the server replays what it missed (docs/realtime.md).
    """

    name: str
    urls: list[str]  # its own backend first
    email: str
    client: socketio.AsyncClient | None = None
    received: list[dict[str, Any]] = field(default_factory=list)  # alert payloads, in order
    last_event_id: int | None = None
    connected_to: list[str] = field(default_factory=list)  # each (re)connection's backend
    reconnect_delay_s: float = 0.5  # before each attempt, as socket.io-client waits
    closing: bool = False
    _reconnecting: asyncio.Task[None] | None = None

    def has(self, resident_id: int, kind: str) -> bool:
        return any(
            e.get("resident_id") == resident_id and e.get("kind") == kind for e in self.received
        )

    def alert_ids(self, resident_id: int, kind: str) -> list[int | None]:
        """The event ids of the alert events received for (resident, kind), in arrival order."""
        return [
            e.get("event_id")
            for e in self.received
            if e.get("resident_id") == resident_id and e.get("kind") == kind
        ]

    async def connect(self, urls: list[str]) -> None:
        """Log in and connect to the first of `urls` that accepts, resuming if possible."""
        error: Exception | None = None
        for base in urls:
            try:
                await self._connect_to(base)
                return
            except (httpx.HTTPError, SocketConnectionError, AssertionError) as exc:
                error = exc
        raise AssertionError(f"{self.name}: no backend accepted the connection: {error!r}")

    async def _connect_to(self, base: str) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            response = await http.post(
                "/api/v1/auth/login", json={"email": self.email, "password": PASSWORD}
            )
        assert response.status_code == 200, response.text
        client = socketio.AsyncClient(reconnection=False)
        client.on("*", self._on_event)
        client.on("disconnect", self._on_disconnect)
        auth: dict[str, Any] = {"token": response.json()["access_token"]}
        if self.last_event_id is not None:
            auth["last_event_id"] = self.last_event_id
        await client.connect(base, auth=auth, wait_timeout=5)
        self.client = client
        self.connected_to.append(base)

    async def _on_event(self, event: str, data: Any = None, *_: Any) -> None:
        if not isinstance(data, dict):
            return
        event_id = data.get("event_id") if event != "caught_up" else data.get("last_event_id")
        if isinstance(event_id, int):
            self.last_event_id = max(event_id, self.last_event_id or 0)
        if event == ALERT_EVENT:
            self.received.append(data)

    async def _on_disconnect(self, *_: Any) -> None:
        if not self.closing and self._reconnecting is None:
            self._reconnecting = asyncio.create_task(self._fail_over())

    async def _fail_over(self) -> None:
        current = self.connected_to[-1] if self.connected_to else self.urls[0]
        others = [u for u in self.urls if u != current] + [current]
        try:
            while not self.closing:
                await asyncio.sleep(self.reconnect_delay_s)
                with contextlib.suppress(AssertionError):
                    await self.connect(others)
                    return
        finally:
            self._reconnecting = None

    async def close(self) -> None:
        """Disconnect for good."""
        self.closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self.client is not None:
            await self.client.disconnect()


@dataclass
class Platform:
    """Everything a fault row needs to break, mend and count."""

    pg: PrivatePostgres
    redis: PrivateRedis
    broker: PrivateBroker
    dsn: str
    services: dict[str, Service]
    backends: list[str]
    homes: list[HomeFixture]
    agents: list[HubAgent]
    load: Load
    load_sensor_ids: list[int]
    watchers: list[Watcher]
    admin_email: str
    unused_homes: list[int] = field(default_factory=list)
    quiet_homes: list[int] = field(default_factory=list)
    gateway_metrics: dict[str, str] = field(default_factory=dict)  # service -> /metrics URL

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        """Run a query on a fresh connection (the server may have restarted since)."""
        conn = await asyncpg.connect(self.dsn, timeout=5)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    def take_homes(self, n: int) -> list[int]:
        """Indexes of `n` homes no row has injected an event in yet."""
        taken, self.unused_homes = self.unused_homes[:n], self.unused_homes[n:]
        if len(taken) < n:  # the load's homes are used up: falls need no load
            taken += self.take_quiet_homes(n - len(taken))
        return taken

    def take_quiet_homes(self, n: int) -> list[int]:
        """Indexes of `n` unused homes outside the steady load."""
        taken, self.quiet_homes = self.quiet_homes[:n], self.quiet_homes[n:]
        assert len(taken) == n, "the suite needs more homes (QUIET_HOMES)"
        return taken


def _service_env(
    pg: PrivatePostgres, redis: PrivateRedis, broker: PrivateBroker, database: str
) -> dict[str, str]:
    return {
        "SST_DATABASE_URL": pg.url(database),
        "SST_REDIS_URL": redis.url,
        "SST_MQTT_HOST": "127.0.0.1",
        "SST_MQTT_PORT": str(broker.port),
        "SST_MQTT_USERNAME": "sst-gateway",
        "SST_MQTT_PASSWORD": broker.gateway_password,
        "SST_MQTT_ADMIN_USERNAME": "sst-admin",
        "SST_MQTT_ADMIN_PASSWORD": broker.admin_password,
        "SST_VIDEO_MQTT_PASSWORD": broker.backend_password,
        "SST_JWT_SECRET": "faults-" + uuid.uuid4().hex,
        "SST_LOG_LEVEL": "INFO",
        "SST_LOG_JSON": "false",
        # Shorter than production so a dead worker's entries are taken over within the row.
        "SST_INFERENCE_CLAIM_IDLE_MS": "5000",
    }


@pytest.fixture(scope="session")
def stores() -> Iterator[tuple[PrivatePostgres, PrivateRedis, PrivateBroker]]:
    """Private PostgreSQL, Redis and Mosquitto, made afresh for the run."""
    pg, redis, broker = PrivatePostgres(free_port()), PrivateRedis(free_port()), None
    broker = PrivateBroker(free_port())
    for store in (pg, redis, broker):
        store.init()
    pg.start()
    redis.start()
    broker.start()
    broker.add_accounts()
    try:
        yield pg, redis, broker
    finally:
        broker.stop()
        redis.stop()
        pg.stop()


@pytest.fixture(scope="session")
async def platform(
    stores: tuple[PrivatePostgres, PrivateRedis, PrivateBroker],
) -> AsyncIterator[Platform]:
    pg, redis, broker = stores
    database = "sst_faults"
    url = pg.url(database)
    await bootstrap(DbCliSettings(database_url=url, database_admin_url=pg.admin_url))
    await asyncio.to_thread(upgrade, url)
    engine: AsyncEngine = make_engine(url, pool_size=2)
    sessionmaker = make_sessionmaker(engine)
    first = await make_home(sessionmaker, timezone="Europe/London")
    homes = [first] + [
        await make_home(sessionmaker, timezone="Europe/London", facility_id=first.facility_id)
        for _ in range(HOMES + QUIET_HOMES - 1)
    ]
    await engine.dispose()

    env = _service_env(pg, redis, broker, database)
    ports = [free_port(), free_port()]
    services: dict[str, Service] = {}
    # Gateways: first one alone with a plain subscription (the topology that survives a
    # Mosquitto restart: Mosquitto 2.0 restores the plain subscriptions of persistent
    # sessions but not shared ones, see docs/operations.md); the last row moves to two
    # gateways on one shared subscription.
    shared = {**env, "SST_MQTT_SHARE_GROUP": "faults"}
    gateway_metrics: dict[str, str] = {}
    services["gateway-1"] = Service(
        "faults-gateway-1",
        ["sst-hub-gateway"],
        {**env, "SST_METRICS_PORT": "0", "SST_MQTT_CLIENT_ID": "faults-gateway-1"},
    )
    for n in (1, 2):
        services[f"gateway-shared-{n}"] = Service(
            f"faults-gateway-shared-{n}",
            ["sst-hub-gateway"],
            {
                **shared,
                "SST_MQTT_CLIENT_ID": f"faults-gateway-shared-{n}",
                "SST_METRICS_PORT": str(metrics_port := free_port()),
            },
        )
        gateway_metrics[f"gateway-shared-{n}"] = f"http://127.0.0.1:{metrics_port}/metrics"
    for n in (1, 2):
        services[f"inference-{n}"] = Service(
            f"faults-inference-{n}",
            ["sst-ai-inference"],
            {**env, "SST_INFERENCE_CONSUMER_NAME": f"faults-inference-{n}"},
        )
        services[f"backend-{n}"] = Service(
            f"faults-backend-{n}",
            ["sst-backend", "serve"],
            # One scheduler is enough; the other instance serves only.
            {**env, "SST_PORT": str(ports[n - 1]), "SST_SCHEDULER_ENABLED": str(n == 1).lower()},
        )
    for name, service in services.items():
        if not name.startswith("gateway-shared"):
            service.start()
    backends = [f"http://127.0.0.1:{p}" for p in ports]

    for base, name in zip(backends, ("backend-1", "backend-2"), strict=True):

        async def ready(base: str = base, name: str = name) -> bool:
            services[name].assert_running()
            try:
                async with httpx.AsyncClient(timeout=1) as client:
                    return (await client.get(f"{base}/ready")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_async(ready, 60, f"{name} to be ready")

    agents = [
        HubAgent(
            h.hub_serial,
            port=broker.port,
            username="sst-sim",
            password=broker.sim_password,
            client_id=f"faults-{h.hub_serial}",
            presence=False,
        )
        for h in homes
    ]
    for agent in agents:
        agent.connect()
    watchers = []
    for base, name in zip(backends, ("backend-1", "backend-2"), strict=True):
        urls = [base] + [b for b in backends if b != base]
        watchers.append(await _watch(urls, name, first.admin_email))
    platform = Platform(
        pg=pg,
        redis=redis,
        broker=broker,
        dsn=url.replace("+asyncpg", ""),
        services=services,
        backends=backends,
        homes=homes,
        agents=agents,
        load=Load(agents[:HOMES]),
        load_sensor_ids=[h.sensors[LOAD_SENSOR] for h in homes[:HOMES]],
        watchers=watchers,
        admin_email=first.admin_email,
        unused_homes=list(range(HOMES)),
        quiet_homes=list(range(HOMES, len(homes))),
        gateway_metrics=gateway_metrics,
    )

    async def flowing() -> bool:
        for name, service in services.items():
            if not name.startswith("gateway-shared"):
                service.assert_running()
        # A quiet home's first sign of life is movement in its kitchen 10 min ago: its
        # resident is up (no `no_wake_up` alert of its own), and a windowed row can place
        # what happened since (a bathroom stay) a few minutes back.
        now_ms = time.time_ns() // 1_000_000
        for i, agent in enumerate(agents):
            if i < HOMES:
                agent.publish_readings([(LOAD_SENSOR, now_ms - 60_000, -1.0)])
            else:
                agent.publish_readings([(QUIET_FIRST_SENSOR, now_ms - 600_000, 1.0)])
        rows = await platform.fetch(
            "SELECT count(DISTINCT sensor_id) FROM readings WHERE sensor_id = ANY($1)",
            [
                h.sensors[LOAD_SENSOR if i < HOMES else QUIET_FIRST_SENSOR]
                for i, h in enumerate(homes)
            ],
        )
        return bool(rows[0][0] == len(homes))

    await wait_async(flowing, 90, "the gateway to store every hub's readings")
    platform.load.start()
    try:
        yield platform
    finally:
        platform.load.stop()
        for watcher in watchers:
            await watcher.close()
        for agent in agents:
            agent.disconnect(timeout=5)
        for service in services.values():
            service.stop()


async def _watch(urls: list[str], name: str, email: str) -> Watcher:
    watcher = Watcher(name, urls, email)
    await watcher.connect(urls[:1])
    return watcher
