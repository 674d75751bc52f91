"""Helpers of the backend tests. The backend itself (`backend_url`, `http`) is a fixture of
tests/conftest.py: one server for the whole run, whichever package's tests ask first."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.realtime.feed import LiveFeed, write_only_feed
from tests.backend.live import LiveClient
from tests.factories import HomeFixture, make_home


async def login(http: httpx.AsyncClient, email: str, password: str) -> str:
    """Log in and return the access token."""
    response = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="session")
async def home_for_schemathesis(sessionmaker: async_sessionmaker[AsyncSession]) -> HomeFixture:
    """The facility whose admin schemathesis acts as."""
    return await make_home(sessionmaker)


@pytest.fixture
async def feed(
    test_env: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[LiveFeed]:
    """A feed in this process, publishing through a write-only Redis manager (like a service)."""
    live, manager = write_only_feed(test_env["SST_REDIS_URL"], sessionmaker)
    yield live
    client = getattr(manager, "redis", None)
    if client is not None:
        await client.aclose()


@pytest.fixture
async def clients() -> AsyncIterator[list[LiveClient]]:
    """Socket.IO clients made by a test; all disconnected after it."""
    made: list[LiveClient] = []
    yield made
    for client in made:
        await client.close()
