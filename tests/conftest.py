"""Shared fixtures: a fresh, migrated test database and a clean Redis, on the real services.

A service that is not reachable fails the run at once with what to start; nothing skips.
Set SST_TEST_DB / SST_TEST_REDIS_DB to run two suites side by side on one machine.
"""

from __future__ import annotations

import asyncio
import gc
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from dotenv import dotenv_values
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_backend.settings import BackendSettings
from sst_core.db.cli import DbCliSettings, bootstrap
from sst_core.db.migrate import upgrade
from sst_core.db.session import make_engine, make_sessionmaker
from tests.broker_accounts import Login, create_accounts, delete_accounts
from tests.factories import HomeFixture, make_home
from tests.ports import free_port
from tests.servers import serving

TEST_DB = os.environ.get("SST_TEST_DB", "sst_test")
TEST_REDIS_DB = int(os.environ.get("SST_TEST_REDIS_DB", "15"))
PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
MQTT_HOST = os.environ.get("SST_TEST_MQTT_HOST", "127.0.0.1")
# Its admin: SST_TEST_MQTT_ADMIN_* if set, else the checkout's .env (as scripts/broker.sh made it).
_DOTENV = dotenv_values(Path(__file__).resolve().parents[1] / ".env")
# SST's own broker (scripts/broker.sh), which refuses anonymous clients; not the machine's 1883.
# Its port: SST_TEST_MQTT_PORT, else the checkout's SST_MQTT_PORT (so two checkouts can each
# run their own broker side by side), else 1884.
MQTT_PORT = int(os.environ.get("SST_TEST_MQTT_PORT") or _DOTENV.get("SST_MQTT_PORT") or "1884")
MQTT_ADMIN = Login(
    os.environ.get("SST_TEST_MQTT_ADMIN_USERNAME")
    or _DOTENV.get("SST_MQTT_ADMIN_USERNAME")
    or "sst-admin",
    os.environ.get("SST_TEST_MQTT_ADMIN_PASSWORD") or _DOTENV.get("SST_MQTT_ADMIN_PASSWORD") or "",
)
# This run's accounts (tests/broker_accounts.py): the gateway's, and one that publishes for
# every hub, used by the test publishers and reference agents. Connect with these constants.
MQTT_GATEWAY = Login(f"sst-test-{TEST_DB}-gateway", secrets.token_urlsafe(24))
MQTT_DEVICES = Login(f"sst-test-{TEST_DB}-devices", secrets.token_urlsafe(24))
MQTT_BACKEND = Login(f"sst-test-{TEST_DB}-backend", secrets.token_urlsafe(24))
# The checkout's coturn (scripts/turn.sh, started by the video tests) and its secret.
TURN_PORT = int(_DOTENV.get("SST_TURN_PORT") or "3478")
TURN_SECRET = _DOTENV.get("SST_TURN_SECRET") or ""
MQTT_USERNAME, MQTT_PASSWORD = MQTT_DEVICES.username, MQTT_DEVICES.password


def _require(name: str, host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        pytest.exit(
            f"{name} is not reachable at {host}:{port} ({exc}). Start it (scripts/services.sh "
            "does) and run again: SST's tests run on the real services and never skip.",
            returncode=3,
        )


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fail loudly, before any test, when a service the suite needs is down."""
    _require("PostgreSQL", PG_HOST, PG_PORT)
    _require("Redis", REDIS_HOST, REDIS_PORT)
    _require("Mosquitto", MQTT_HOST, MQTT_PORT)
    if not MQTT_ADMIN.password:
        pytest.exit(
            "No broker admin password: run scripts/broker.sh (it writes SST_MQTT_ADMIN_PASSWORD "
            "into .env) or set SST_TEST_MQTT_ADMIN_PASSWORD.",
            returncode=3,
        )
    if not TURN_SECRET:
        pytest.exit(
            "No SST_TURN_SECRET in .env: run scripts/make-env.sh (the video tests start coturn "
            "with it through scripts/turn.sh).",
            returncode=3,
        )
    try:
        create_accounts(MQTT_HOST, MQTT_PORT, MQTT_ADMIN, MQTT_GATEWAY, MQTT_DEVICES, MQTT_BACKEND)
    except Exception as exc:  # any failure here means no test can reach the broker
        pytest.exit(f"Could not make the test run's broker accounts: {exc}", returncode=3)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the run's broker accounts."""
    if MQTT_ADMIN.password:
        try:
            delete_accounts(
                MQTT_HOST, MQTT_PORT, MQTT_ADMIN, MQTT_GATEWAY, MQTT_DEVICES, MQTT_BACKEND
            )
        except Exception as exc:  # the broker went away: the next run resets them anyway
            print(f"could not delete the test broker accounts: {exc}")


TEST_OBJECTS = Path(__file__).resolve().parents[1] / "var" / "test-objects" / TEST_DB


@pytest.fixture(scope="session")
def test_env() -> Iterator[dict[str, str]]:
    """Environment for the code under test (and for service subprocesses)."""
    env = {
        "SST_DATABASE_URL": f"postgresql+asyncpg://sst@{PG_HOST}:{PG_PORT}/{TEST_DB}",
        "SST_REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{TEST_REDIS_DB}",
        "SST_MQTT_HOST": MQTT_HOST,
        "SST_MQTT_PORT": str(MQTT_PORT),
        "SST_MQTT_USERNAME": MQTT_GATEWAY.username,
        "SST_MQTT_PASSWORD": MQTT_GATEWAY.password,
        "SST_MQTT_ADMIN_USERNAME": MQTT_ADMIN.username,
        "SST_MQTT_ADMIN_PASSWORD": MQTT_ADMIN.password,
        "SST_JWT_SECRET": "test-secret-" + uuid.uuid4().hex,
        "SST_VIDEO_MQTT_USERNAME": MQTT_BACKEND.username,
        "SST_VIDEO_MQTT_PASSWORD": MQTT_BACKEND.password,
        "SST_TURN_SECRET": TURN_SECRET,
        "SST_TURN_PORT": str(TURN_PORT),
        # A group of this run's own, so that a `make run` backend on the same broker never
        # takes the camera answers of the tests' sessions (nor the other way round).
        "SST_VIDEO_SHARE_GROUP": f"sst-test-{TEST_DB}",
        # Model artifacts of this run (the local object store), apart from `make run`'s.
        "SST_OBJECT_STORE": "local",
        "SST_OBJECT_STORE_DIR": str(TEST_OBJECTS),
        # Backends started by the tests would otherwise e-mail each home's daily summary
        # at 20:00 local time on the real clock, to an SMTP server nobody runs; the tests
        # of summaries turn them on with a clock and a mail server of their own.
        "SST_DAILY_SUMMARY_ENABLED": "false",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    # The database is made anew for each run; so is the Redis database, before anything
    # (a test or a service) reads it: a stale key of an earlier run (e.g. the live feed's
    # pruning watermark) must not meet this run's fresh ids.
    import redis as sync_redis

    stale = sync_redis.Redis.from_url(env["SST_REDIS_URL"])
    stale.flushdb()
    stale.close()
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def database_url(test_env: dict[str, str]) -> str:
    """A freshly created and migrated database, dropped and made anew for each run."""
    admin = DbCliSettings().database_admin_url

    async def recreate() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
        finally:
            await conn.close()
        await bootstrap(DbCliSettings(database_url=test_env["SST_DATABASE_URL"]))

    asyncio.run(recreate())
    upgrade(test_env["SST_DATABASE_URL"])
    return test_env["SST_DATABASE_URL"]


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database."""
    eng = make_engine(database_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on the test database."""
    return make_sessionmaker(engine)


@pytest.fixture(scope="session")
async def redis(test_env: dict[str, str]) -> AsyncIterator[Redis]:
    """The test Redis database, emptied once at the start of the run."""
    client = Redis.from_url(test_env["SST_REDIS_URL"])
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(autouse=True)
def _fresh_login_limits(test_env: dict[str, str]) -> None:
    """Each test starts with no failed sign-ins counted against 127.0.0.1.

    Every test client shares that address, so the failures one test makes on purpose (the
    rate-limit tests, schemathesis' fuzzed logins) would otherwise lock the next test out.
    The limiter itself is tested in tests/backend/test_auth.py, within one test.
    """
    import redis as sync_redis

    client = sync_redis.Redis.from_url(test_env["SST_REDIS_URL"])
    try:
        keys = list(client.scan_iter(match="sst:auth:login:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def _heap_left_unfrozen() -> Iterator[None]:
    """No test leaves this process's heap frozen (`gc.freeze()`, as the backend's heap keeper
    does): frozen garbage is out of pytest's reach after each test, so a socket a test left
    open would be reported only at the end of the session, blamed on no test."""
    yield
    assert gc.get_freeze_count() == 0, "the heap was left frozen (a heap keeper in-process?)"


@pytest.fixture
async def home(sessionmaker: async_sessionmaker[AsyncSession]) -> HomeFixture:
    """A facility with one resident, a home, a hub with the usual sensors, staff and guardian."""
    return await make_home(sessionmaker)


@pytest.fixture(scope="session")
async def backend_url(database_url: str, redis: object) -> AsyncIterator[str]:
    """Base URL of a backend running on the test database and Redis."""
    # The scheduler is tested on its own (tests/backend/test_escalation.py); one running here
    # would take those tests' deliveries with this server's settings.
    settings = BackendSettings(scheduler_enabled=False)
    async with serving(settings, stop_within_s=10) as url:
        yield url


@pytest.fixture
async def http(backend_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the running backend."""
    async with httpx.AsyncClient(base_url=backend_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """URL of a moto S3 server started for this run (stopped at its end)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto's S3 server did not start") from None
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
