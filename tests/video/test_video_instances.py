"""Two backends behind one proxy: the request is made on one, the carer's socket is held by
the other, camera answers go to either (shared subscription); the call still works."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sst_backend.settings import BackendSettings
from sst_core.const import (
    VIDEO_HANGUP_EVENT,
    VIDEO_STATE_EVENT,
)
from tests.backend.conftest import login
from tests.factories import PASSWORD, HomeFixture
from tests.servers import serving
from tests.video.conftest import CONNECT_TIMEOUT_S
from tests.video.scenario import Carer, answered_viewer, camera_closing, open_emergency


@pytest.fixture
async def second_backend(video_url: str) -> AsyncIterator[str]:
    """Another backend instance on the same database, Redis and broker."""
    settings = BackendSettings(
        scheduler_enabled=False,
        video_connect_timeout_s=CONNECT_TIMEOUT_S,
        video_sweep_interval_s=0.3,
    )
    async with serving(settings, stop_within_s=15) as url:
        yield url


async def test_a_call_across_two_backend_instances(
    video_url: str,
    second_backend: str,
    home: HomeFixture,
    sessionmaker: Any,
    cameras: Any,
) -> None:
    await open_emergency(sessionmaker, home.resident_id)
    camera = await cameras(home.hub_serial)
    async with httpx.AsyncClient(base_url=second_backend, timeout=15) as other:
        token = await login(other, home.staff_email, PASSWORD)
        carer = await Carer(video_url, token).connect()  # the socket is on the first instance
        try:
            response = await other.post(  # the request goes to the second
                f"/api/v1/residents/{home.resident_id}/video-sessions",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 201, response.text
            started = response.json()
            sid = started["id"]
            await carer.next(VIDEO_STATE_EVENT, where=lambda d: d["session_id"] == sid)
            async with answered_viewer(carer, started) as viewer:
                await asyncio.wait_for(viewer.frames.get(), 30)
                assert await carer.send(VIDEO_HANGUP_EVENT, {"session_id": sid}) == {"ok": True}
                ended = await carer.next(
                    VIDEO_STATE_EVENT,
                    where=lambda d: d["session_id"] == sid and d["state"] == "ended",
                )
                assert ended["reason"] == "hangup"
        finally:
            await carer.close()
    await camera_closing(camera)
    assert not camera.sessions
