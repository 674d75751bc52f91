"""The emergency video scenario the tests share: a carer's signaling socket (`Carer`), an open
emergency, the session a carer asked for (`Emergency`), a relay-only viewer whose offer the
camera answered, and waiting for the camera agent to close."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import socketio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_core.const import (
    VIDEO_ANSWER_EVENT,
    VIDEO_CANDIDATE_EVENT,
    VIDEO_ERROR_EVENT,
    VIDEO_OFFER_EVENT,
    VIDEO_STATE_EVENT,
)
from sst_core.db.models import Alert, AuditEntry
from sst_devices.camera_agent import CameraAgent
from sst_devices.video_viewer import Viewer
from tests.backend.conftest import login
from tests.factories import HomeFixture


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


def state_is(session_id: str, state: str) -> Callable[[dict[str, Any]], bool]:
    """Selects the state event of one session reaching `state` (for `Carer.next`)."""
    return lambda d: d.get("session_id") == session_id and d.get("state") == state


async def bearer(http: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    """The Authorization header of a user, logged in."""
    return {"Authorization": f"Bearer {await login(http, email, password)}"}


async def request_video(
    http: httpx.AsyncClient, resident_id: int, headers: dict[str, str]
) -> dict[str, Any]:
    """Ask for a video session with the resident; the started session (201 asserted)."""
    response = await http.post(f"/api/v1/residents/{resident_id}/video-sessions", headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


@dataclass(frozen=True)
class Emergency:
    """A home's open emergency, its running camera agent, its carer's socket and the video
    session the carer asked for."""

    alert_id: int
    camera: CameraAgent
    carer: Carer
    staff: dict[str, str]  # the carer's Authorization header
    started: dict[str, Any]  # the API's answer to the request

    @property
    def session_id(self) -> str:
        """The session's id."""
        return str(self.started["id"])


# The `emergency` fixture: sets up a home's scenario (tests/video/conftest.py).
StartEmergency = Callable[[HomeFixture], Awaitable[Emergency]]


@asynccontextmanager
async def answered_viewer(carer: Carer, started: dict[str, Any]) -> AsyncIterator[Viewer]:
    """A relay-only viewer of the session whose offer the carer sent and the camera answered
    (the answer accepted); closed when the block ends."""
    viewer = Viewer(started["ice_servers"], relay_only=True)
    try:
        offer = {"session_id": started["id"], "sdp": await viewer.offer()}
        assert await carer.send(VIDEO_OFFER_EVENT, offer) == {"ok": True}
        await viewer.accept((await carer.next(VIDEO_ANSWER_EVENT))["sdp"])
        yield viewer
    finally:
        await viewer.close()


async def camera_closing(camera: CameraAgent, session_id: str | None = None) -> None:
    """Wait (10 s at most) for the camera agent to close the session, or without one all of
    its sessions; the caller asserts it did."""
    for _ in range(100):
        if (session_id not in camera.sessions) if session_id else not camera.sessions:
            return
        await asyncio.sleep(0.1)


async def session_audit(
    sessionmaker: async_sessionmaker[AsyncSession], session_id: str
) -> list[AuditEntry]:
    """The audit entries of a video session, oldest first."""
    async with sessionmaker() as session:
        entries = await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.details["session"].astext == session_id)
            .order_by(AuditEntry.id)
        )
        return list(entries.all())
