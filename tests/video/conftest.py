"""Video tests: a real coturn (scripts/turn.sh), a backend with video, camera agents, carers."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.settings import BackendSettings
from sst_core.const import (
    VIDEO_ANSWER_EVENT,
    VIDEO_CANDIDATE_EVENT,
    VIDEO_ERROR_EVENT,
    VIDEO_STATE_EVENT,
)
from sst_core.db.models import Alert
from sst_devices.camera_agent import CameraAgent
from tests.backend.conftest import login
from tests.conftest import MQTT_HOST, MQTT_PASSWORD, MQTT_PORT, MQTT_USERNAME
from tests.servers import serving

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


class Carer:
    """A staff browser's signaling: one Socket.IO connection and what it received."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.sio = socketio.AsyncClient(reconnection=False)
        self.inbox: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        for event in (
            VIDEO_ANSWER_EVENT,
            VIDEO_CANDIDATE_EVENT,
            VIDEO_ERROR_EVENT,
            VIDEO_STATE_EVENT,
        ):
            self.inbox[event] = asyncio.Queue()
            self.sio.on(event, handler=self._keeper(event))

    def _keeper(self, event: str) -> Callable[[dict[str, Any]], Awaitable[None]]:
        async def keep(data: dict[str, Any]) -> None:
            await self.inbox[event].put(data)

        return keep

    async def connect(self) -> Carer:
        """Connect with the token."""
        await self.sio.connect(self.url, auth={"token": self.token}, wait_timeout=10)
        return self

    async def send(self, event: str, data: Any) -> dict[str, Any]:
        """Emit and wait for the server's acknowledgement."""
        answer = await self.sio.call(event, data, timeout=15)
        assert isinstance(answer, dict)
        return answer

    async def next(
        self, event: str, *, within_s: float = 20, where: Callable[[dict[str, Any]], bool] = bool
    ) -> dict[str, Any]:
        """The next received `event` satisfying `where` (others are skipped)."""
        deadline = asyncio.get_running_loop().time() + within_s
        while True:
            left = deadline - asyncio.get_running_loop().time()
            data = await asyncio.wait_for(self.inbox[event].get(), max(left, 0.01))
            if where(data):
                return data

    async def close(self) -> None:
        """Disconnect."""
        if self.sio.connected:
            await self.sio.disconnect()


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


async def open_emergency(
    sessionmaker: async_sessionmaker[AsyncSession], resident_id: int, kind: str = "fall"
) -> int:
    """An open emergency alert of the resident; its id."""
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        alert = Alert(
            resident_id=resident_id,
            kind=kind,
            severity="critical",
            state="open",
            title="Fall detected",
            explanation=f"Fall detected in the Bathroom ({uuid.uuid4().hex[:6]}).",
            count=1,
            opened_at=now,
            last_seen_at=now,
        )
        session.add(alert)
        await session.flush()
        return int(alert.id)
