"""Helpers of the backend tests. The backend itself (`backend_url`, `http`) is a fixture of
tests/conftest.py: one server for the whole run, whichever package's tests ask first."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
