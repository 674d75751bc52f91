"""Video tests: a real coturn (scripts/turn.sh), a backend with video, camera agents, carers,
and the emergency scenario of tests/video/scenario.py set up in one call."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.settings import BackendSettings
from sst_devices.camera_agent import CameraAgent
from tests.backend.conftest import login
from tests.conftest import MQTT_HOST, MQTT_PASSWORD, MQTT_PORT, MQTT_USERNAME
from tests.factories import HomeFixture
from tests.servers import serving
from tests.video.scenario import (
    Carer,
    Emergency,
    StartEmergency,
    bearer,
    open_emergency,
    request_video,
)

ROOT = Path(__file__).resolve().parents[2]
CONNECT_TIMEOUT_S = 8.0  # the backend's: a session without media ends as no_answer after it


@pytest.fixture(scope="session")
def turn_server() -> Path:
    """The checkout's coturn, started (or kept) by scripts/turn.sh; its log file."""
    result = subprocess.run(
        ["bash", "scripts/turn.sh"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"coturn did not start: {result.stderr}{result.stdout}"
    return ROOT / "var" / "coturn" / "turnserver.log"


RECORDINGS_BUCKET = "sst-video-test"
RECORDING_SWEEP_S = 1.0  # the retention sweep's interval here (production: minutes)


@pytest.fixture(scope="session")
def video_settings(database_url: str, s3_endpoint: str) -> BackendSettings:
    """The video backend's settings: short deadlines so that the tests see sessions end,
    recording allowed (only sessions whose facility or resident asks for it are recorded),
    recordings in moto's S3 through boto3."""
    return BackendSettings(
        scheduler_enabled=False,
        video_connect_timeout_s=CONNECT_TIMEOUT_S,
        video_sweep_interval_s=0.3,
        video_recording=True,
        video_recording_sweep_interval_s=RECORDING_SWEEP_S,
        object_store="s3",
        s3_endpoint_url=s3_endpoint,
        s3_bucket=RECORDINGS_BUCKET,
        s3_access_key_id="test",
        s3_secret_access_key="test",
    )


@pytest.fixture(scope="session")
async def video_url(
    video_settings: BackendSettings, redis: object, turn_server: Path
) -> AsyncIterator[str]:
    """A backend with video on (settings: `video_settings`)."""
    settings = video_settings
    assert settings.turn_secret is not None and settings.video_mqtt_password is not None
    async with serving(settings, stop_within_s=15) as url:
        yield url


@pytest.fixture
async def vhttp(video_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the video backend."""
    async with httpx.AsyncClient(base_url=video_url, timeout=15) as client:
        yield client


@pytest.fixture
async def carers(video_url: str, vhttp: httpx.AsyncClient) -> AsyncIterator[Any]:
    """Connects carers by e-mail (password of the factories); disconnects them at the end."""
    made: list[Carer] = []

    async def connect(email: str, password: str) -> Carer:
        carer = await Carer(video_url, await login(vhttp, email, password)).connect()
        made.append(carer)
        return carer

    yield connect
    for carer in made:
        await carer.close()


@pytest.fixture
async def cameras() -> AsyncIterator[Callable[[str], Awaitable[CameraAgent]]]:
    """Starts camera agents for hubs (on the test run's devices login); stops them at the end."""
    running: list[tuple[CameraAgent, asyncio.Event, asyncio.Task[None]]] = []

    async def start(hub_serial: str) -> CameraAgent:
        agent = CameraAgent(
            hub_serial,
            host=MQTT_HOST,
            port=MQTT_PORT,
            username=MQTT_USERNAME,
            password=MQTT_PASSWORD,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run(stop))
        running.append((agent, stop, task))
        await asyncio.wait_for(agent.ready.wait(), 10)
        return agent

    yield start
    for _, stop, _ in running:
        stop.set()
    for agent, _, task in running:
        await asyncio.wait_for(task, 20)
        assert not agent.sessions, "a camera agent kept a session open"


@pytest.fixture
async def emergency(
    vhttp: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    carers: Any,
    cameras: Callable[[str], Awaitable[CameraAgent]],
) -> StartEmergency:
    """Sets up the video scenario of a home: an open emergency, its camera agent running, its
    carer's socket connected, and the session that carer asked for."""

    async def start(home: HomeFixture) -> Emergency:
        alert_id = await open_emergency(sessionmaker, home.resident_id)
        camera = await cameras(home.hub_serial)
        carer = await carers(home.staff_email, home.password)
        staff = await bearer(vhttp, home.staff_email, home.password)
        started = await request_video(vhttp, home.resident_id, staff)
        return Emergency(alert_id, camera, carer, staff, started)

    return start
