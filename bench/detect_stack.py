"""The platform `bench/detect.py` replays through: private stores, the real gateway and inference.

Private PostgreSQL, Redis and Mosquitto (tests/faults/stack.py, as the fault suite and the
soak bench run them), one `sst-hub-gateway` and one `sst-ai-inference` process
(tests/e2e/processes.Service; logs in test-artifacts/e2e/), the simulated homes provisioned
(one facility; per home the standard flat of sst_backend.seed, one resident, the usual wake
time staff would set), and per home one reference hub agent (sst_devices.hub_agent) on the
simulator's broker account: status and heartbeat as a hub sends them, readings over MQTT
with QoS 1. Training is the real `sst-train train --all --promote`.

Overrides of the services' defaults, and why: the gateway accepts readings up to ten years
old (the bench replays 2024, for the October DST change) and has no per-hub rate limit (the
normal history is published in a burst); inference judges at the replay's driven clock
(SST_INFERENCE_CLOCK_KEY, ai_inference/sst_ai_inference/clock.py), its windowed rules every
5 minutes of that clock like the direct mode, routine rounds every `routine_interval_s`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sst_backend.seed import STANDARD_LAYOUT  # noqa: E402
from sst_core.db.cli import DbCliSettings, bootstrap  # noqa: E402
from sst_core.db.migrate import upgrade  # noqa: E402
from sst_devices.hub_agent import HubAgent  # noqa: E402
from tests.e2e.processes import ARTIFACTS, Service  # noqa: E402
from tests.faults.stack import (  # noqa: E402
    PrivateBroker,
    PrivatePostgres,
    PrivateRedis,
    wait_for,
)
from tests.ports import free_port  # noqa: E402

CLOCK_KEY = "sst:bench:clock"
HEARTBEAT_S = 30.0  # wall seconds; presence runs on the wall clock (180 s timeout)


@dataclass(frozen=True)
class HomeSpec:
    """A simulated home to provision: who lives there, its hub, its zone, the wake time."""

    name: str
    serial: str
    zone: str
    wake_hour: float


@dataclass
class Platform:
    """Private stores and the real services, for one replay."""

    tag: str
    routine_interval_s: float
    windowed_every_s: float = 300.0
    pg: PrivatePostgres = field(init=False)
    redis: PrivateRedis = field(init=False)
    broker: PrivateBroker = field(init=False)
    services: dict[str, Service] = field(default_factory=dict)
    agents: dict[str, HubAgent] = field(default_factory=dict)

    def __post_init__(self) -> None:
        var = ROOT / "var" / f"detect-{self.tag}"
        self.var = var
        self.pg = PrivatePostgres(free_port(), directory=var / "pg")
        self.redis = PrivateRedis(free_port(), directory=var / "redis")
        self.broker = PrivateBroker(free_port(), directory=var / "mosquitto")
        self.url = self.pg.url("sst_detect_replay")
        self.dsn = self.url.replace("+asyncpg", "")

    @property
    def env(self) -> dict[str, str]:
        """What every process of the replay is started with (over the .env of the checkout)."""
        return {
            "SST_DATABASE_URL": self.url,
            "SST_REDIS_URL": self.redis.url,
            "SST_MQTT_HOST": "127.0.0.1",
            "SST_MQTT_PORT": str(self.broker.port),
            "SST_MQTT_USERNAME": "sst-gateway",
            "SST_MQTT_PASSWORD": self.broker.gateway_password,
            "SST_MQTT_CLIENT_ID": f"detect-gateway-{self.tag}",
            "SST_MQTT_ADMIN_PASSWORD": self.broker.admin_password,
            "SST_LOG_LEVEL": "INFO",
            "SST_LOG_JSON": "false",
            "SST_METRICS_PORT": "0",
            "SST_MAX_AGE_DAYS": "3650",
            "SST_RATE_LIMIT_MESSAGES_PER_S": "0",
            "SST_RATE_LIMIT_READINGS_PER_S": "0",
            "SST_INFERENCE_CONSUMER_NAME": f"detect-{self.tag}",
            "SST_INFERENCE_CLOCK_KEY": CLOCK_KEY,
            "SST_INFERENCE_WINDOWED_EVERY_S": str(self.windowed_every_s),
            "SST_INFERENCE_ROUTINE_INTERVAL_S": str(self.routine_interval_s),
            "SST_OBJECT_STORE": "local",
            "SST_OBJECT_STORE_DIR": str(self.var / "objects"),
            "SST_TRAIN_WORKERS": "1",
        }

    async def start(self) -> None:
        """The private stores, the database migrated, the broker's accounts."""
        shutil.rmtree(self.var / "objects", ignore_errors=True)
        for store in (self.pg, self.redis, self.broker):
            store.init()
        self.pg.start()
        self.redis.start()
        self.broker.start()
        self.broker.add_accounts()
        await bootstrap(DbCliSettings(database_url=self.url, database_admin_url=self.pg.admin_url))
        await asyncio.to_thread(upgrade, self.url)

    async def provision(self, homes: list[HomeSpec]) -> dict[str, int]:
        """One facility and the homes (standard flat, one resident each): resident ids by hub."""
        conn = await asyncpg.connect(self.dsn)
        try:
            facility = await conn.fetchval(
                "INSERT INTO facilities (name, timezone) VALUES ($1, $2) RETURNING id",
                f"Detect replay {self.tag}",
                homes[0].zone,
            )
            residents: dict[str, int] = {}
            for spec in homes:
                home_id = await conn.fetchval(
                    "INSERT INTO homes (facility_id, label, timezone) VALUES ($1, $2, $3) "
                    "RETURNING id",
                    facility,
                    spec.name,
                    spec.zone,
                )
                residents[spec.serial] = await conn.fetchval(
                    "INSERT INTO residents (facility_id, home_id, full_name, video_consent) "
                    "VALUES ($1, $2, $3, false) RETURNING id",
                    facility,
                    home_id,
                    f"Resident {spec.name}",
                )
                hub_id = await conn.fetchval(
                    "INSERT INTO hubs (home_id, serial, online) VALUES ($1, $2, false) "
                    "RETURNING id",
                    home_id,
                    spec.serial,
                )
                for room_name, room_kind, sensors in STANDARD_LAYOUT:
                    room_id = await conn.fetchval(
                        "INSERT INTO rooms (home_id, name, kind) VALUES ($1, $2, $3) RETURNING id",
                        home_id,
                        room_name,
                        room_kind,
                    )
                    for key, kind in sensors:
                        await conn.execute(
                            "INSERT INTO sensors (hub_id, room_id, key, kind) "
                            "VALUES ($1, $2, $3, $4)",
                            hub_id,
                            room_id,
                            key,
                            kind,
                        )
                # What staff would enter (the direct mode's override): the usual wake time.
                await conn.execute(
                    "INSERT INTO resident_rule_thresholds (resident_id, rule, params) "
                    "VALUES ($1, 'no_wake_up', $2::jsonb)",
                    residents[spec.serial],
                    json.dumps({"wake_hour": spec.wake_hour}),
                )
            return residents
        finally:
            await conn.close()

    def start_service(self, name: str) -> None:
        """Start `gateway` or `inference` as its own process, as `make run` does."""
        argv = {"gateway": ["sst-hub-gateway"], "inference": ["sst-ai-inference"]}[name]
        service = Service(f"detect-{self.tag}-{name}", argv, self.env)
        log = ARTIFACTS / f"{service.name}.log"
        log.unlink(missing_ok=True)
        service.start()
        self.services[name] = service

    def wait_log(self, name: str, marker: str, *, count: int = 1, within: float = 120) -> None:
        """Wait for `count` lines containing `marker` in a service's log."""
        service = self.services[name]

        def seen() -> bool:
            service.assert_running()
            return service.tail(10**7).count(marker) >= count

        wait_for(seen, within, f"{count} x {marker!r} in the {name} log")

    def connect_hubs(self, serials: list[str]) -> None:
        """One reference hub agent per home: online status at connect, then its heartbeat."""
        for serial in serials:
            agent = HubAgent(
                serial,
                port=self.broker.port,
                username="sst-sim",
                password=self.broker.sim_password,
                client_id=f"detect-{serial}-{uuid.uuid4().hex[:6]}",
                heartbeat_s=HEARTBEAT_S,
            )
            agent.connect()
            self.agents[serial] = agent

    def train(self, end: datetime) -> dict[str, Any]:
        """`sst-train train --all --promote --end END`: the real training run; its summary."""
        result = subprocess.run(
            ["sst-train", "train", "--all", "--promote", "--end", end.isoformat()],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        if result.returncode != 0:
            raise RuntimeError(f"sst-train failed ({result.returncode}):\n{result.stderr[-3000:]}")
        summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return summary

    def stop(self) -> None:
        """Everything this replay started, in reverse order."""
        for agent in self.agents.values():
            try:
                agent.disconnect()
            except Exception as exc:  # a hub that cannot say goodbye must not keep others up
                print(f"hub {agent.serial}: {exc!r}", file=sys.stderr)
        for service in reversed(list(self.services.values())):
            service.stop()
        self.broker.stop()
        self.redis.stop()
        self.pg.stop()
        shutil.rmtree(self.var, ignore_errors=True)  # the logs stay in test-artifacts/e2e
