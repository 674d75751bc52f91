"""A private copy of SST's stores for the fault suite: PostgreSQL, Redis and Mosquitto.

The fault suite stops and kills these servers on purpose, so it runs its own instances of
the real servers (the machine's binaries, its own data directories and ports under
var/faults/) instead of the machine's shared ones: nothing else on the machine notices.
Each server is configured as the compose deployment runs it: PostgreSQL with pg_partman,
Redis with an append-only file, Mosquitto with persistence and the dynamic-security plugin.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var" / "faults"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def listening(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(check: object, within: float, what: str) -> None:
    """Poll a callable until it returns true, or fail naming what never happened."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {within} s waiting for {what}")


def _run(argv: list[str], *, user: str | None = None, **kwargs: object) -> None:
    if user is not None and os.geteuid() == 0:
        argv = ["runuser", "-u", user, "--", *argv]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr}")


@dataclass
class PrivatePostgres:
    """A PostgreSQL 15 cluster of its own (trust auth on loopback, superuser `postgres`)."""

    port: int
    directory: Path = field(default_factory=lambda: VAR / "pg")

    @property
    def user(self) -> str | None:
        # initdb refuses to run as root; as root the cluster belongs to `postgres`.
        return "postgres" if os.geteuid() == 0 else None

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://sst@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        if self.directory.exists():
            self.stop(mode="immediate")
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True)
        if self.user:
            uid = pwd.getpwnam(self.user)
            shutil.chown(self.directory, uid.pw_uid, uid.pw_gid)
        _run(
            [str(PG_BIN / "initdb"), "-D", str(self.directory / "data"), "-A", "trust",
             "-U", "postgres", "-E", "UTF8", "--no-sync"],
            user=self.user,
        )  # fmt: skip
        conf = self.directory / "data" / "postgresql.conf"
        with conf.open("a") as f:
            f.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.directory}'\nfsync = on\n"
                "max_connections = 200\n"
            )

    def start(self) -> None:
        _run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.directory / "data"), "-l",
             str(self.directory / "postgres.log"), "-w", "-t", "60", "start"],
            user=self.user,
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        data = self.directory / "data"
        if not (data / "postmaster.pid").exists():
            return
        _run(
            [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "-t", "60", "stop"],
            user=self.user,
        )


@dataclass
class PrivateRedis:
    """A Redis server of its own, with the append-only file the compose deployment uses.

    `appendfsync always`: an entry the gateway added to a stream survives even a SIGKILL of
    Redis (compose uses the default `everysec`; docs/operations.md says what that risks).
    """

    port: int
    directory: Path = field(default_factory=lambda: VAR / "redis")
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def init(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True)

    def start(self) -> None:
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.directory), "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--maxmemory-policy", "noeviction"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        wait_for(lambda: listening(self.port), 20, "the private Redis to listen")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@dataclass
class PrivateBroker:
    """Mosquitto with SST's local configuration (docker/mosquitto/local.conf.in)."""

    port: int
    directory: Path = field(default_factory=lambda: VAR / "mosquitto")
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    gateway_password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    sim_password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    backend_password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    process: subprocess.Popen[bytes] | None = None

    def init(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True)
        plugins = sorted(Path("/usr/lib").glob("**/mosquitto_dynamic_security.so"))
        if not plugins:
            raise RuntimeError("mosquitto's dynamic-security plugin is not installed")
        template = (ROOT / "docker" / "mosquitto" / "local.conf.in").read_text()
        conf = (
            template.replace("@PLUGIN@", str(plugins[0]))
            .replace("@DIR@", str(self.directory))
            .replace("@PORT@", str(self.port))
        )
        (self.directory / "mosquitto.conf").write_text(conf)
        _run(
            ["mosquitto_ctrl", "dynsec", "init", str(self.directory / "dynsec.json"),
             "sst-admin", self.admin_password],
        )  # fmt: skip
        if os.geteuid() == 0:
            _run(["chown", "-R", "mosquitto:", str(self.directory)])

    def start(self) -> None:
        # Foreground (no -d), so SIGTERM and SIGKILL reach the broker itself.
        conf = (self.directory / "mosquitto.conf").read_text().replace("pid_file", "#pid_file")
        (self.directory / "mosquitto.conf").write_text(conf)
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.directory / "mosquitto.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_for(lambda: listening(self.port), 20, "the private Mosquitto to listen")

    def add_accounts(self) -> None:
        env = {
            **os.environ,
            "MQTT_ADMIN_USERNAME": "sst-admin",
            "MQTT_ADMIN_PASSWORD": self.admin_password,
            "MQTT_GATEWAY_PASSWORD": self.gateway_password,
            "MQTT_SIM_PASSWORD": self.sim_password,
            "MQTT_BACKEND_PASSWORD": self.backend_password,
        }
        _run(
            ["sh", str(ROOT / "docker" / "mosquitto" / "accounts.sh"), "127.0.0.1",
             str(self.port)],
            env=env,
        )  # fmt: skip

    def stop(self) -> None:
        """SIGTERM: Mosquitto writes its persistent sessions and queued messages first."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


async def wait_async(check: object, within: float, what: str) -> float:
    """Await an async check until it holds; returns how long it took."""
    start = time.monotonic()
    deadline = start + within
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return time.monotonic() - start
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {within} s waiting for {what}")
