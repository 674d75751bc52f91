"""The live feed: a token is required at connect, and alerts reach only those who may see them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
import socketio
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_core.const import ALERT_EVENT, ALERTS_STREAM
from sst_core.messages import AlertMessage
from tests.backend.conftest import login
from tests.factories import HomeFixture, make_home


def _alert(home: HomeFixture, alert_id: int) -> AlertMessage:
    now = datetime.now(UTC)
    return AlertMessage(
        id=alert_id,
        resident_id=home.resident_id,
        facility_id=home.facility_id,
        kind="fall",
        severity="critical",
        state="open",
        title="Fall detected",
        explanation="Fall detected in the Bathroom.",
        count=1,
        opened_at=now,
        last_seen_at=now,
    )


async def _connect(url: str, token: str | None) -> tuple[socketio.AsyncClient, asyncio.Queue[dict]]:
    client = socketio.AsyncClient(reconnection=False)
    received: asyncio.Queue[dict] = asyncio.Queue()

    @client.on(ALERT_EVENT)
    async def on_alert(data: dict) -> None:
        await received.put(data)

    await client.connect(url, auth={"token": token} if token else None, wait_timeout=5)
    return client, received


async def test_connect_without_or_with_bad_token_is_refused(backend_url: str) -> None:
    for token in (None, "forged.token.value"):
        with pytest.raises(socketio.exceptions.ConnectionError):
            client, _ = await _connect(backend_url, token)
            await client.disconnect()


async def test_alert_reaches_the_resident_room_and_nobody_else(
    backend_url: str,
    http: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
) -> None:
    other = await make_home(sessionmaker, facility_id=home.facility_id)
    staff, staff_inbox = await _connect(
        backend_url, await login(http, home.staff_email, home.password)
    )
    guardian, guardian_inbox = await _connect(
        backend_url, await login(http, home.guardian_email, home.password)
    )
    admin, admin_inbox = await _connect(
        backend_url, await login(http, home.admin_email, home.password)
    )
    outsider, outsider_inbox = await _connect(
        backend_url, await login(http, other.staff_email, home.password)
    )
    try:
        await redis.xadd(ALERTS_STREAM, _alert(home, 987_001).to_stream())
        for inbox in (staff_inbox, guardian_inbox, admin_inbox):
            event = await asyncio.wait_for(inbox.get(), timeout=5)
            assert event["id"] == 987_001
            assert event["resident_id"] == home.resident_id
            assert event["severity"] == "critical"
        await asyncio.sleep(0.3)
        assert outsider_inbox.empty()
        assert staff_inbox.empty()  # exactly once
    finally:
        for client in (staff, guardian, admin, outsider):
            await client.disconnect()
