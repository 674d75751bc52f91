"""Login sessions: refresh rotation and reuse, logout and revocation at once, attempt limits,
password strength and change; over HTTP and Socket.IO on the real backend."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
import socketio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.auth.password_policy import password_problem
from sst_core.db.models import AuditEntry, RefreshToken
from tests.backend.test_auth import assert_error
from tests.factories import HomeFixture


def _address() -> str:
    """A client address of its own (uvicorn trusts X-Forwarded-For from 127.0.0.1)."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


async def _login(
    http: httpx.AsyncClient, email: str, password: str, address: str | None = None
) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": address or _address()},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def _refresh(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def _admin_token(http: httpx.AsyncClient, home: HomeFixture) -> dict[str, str]:
    return _bearer(await _login(http, home.admin_email, home.password))


async def _user_id(http: httpx.AsyncClient, pair: dict[str, Any]) -> int:
    return int((await http.get("/api/v1/me", headers=_bearer(pair))).json()["id"])


async def test_login_gives_a_refresh_token_stored_only_as_a_hash(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    pair = await _login(http, home.staff_email, home.password)
    assert pair["refresh_token"] and pair["refresh_expires_in"] > pair["expires_in"]
    async with sessionmaker() as session:
        stored = (
            await session.scalars(
                select(RefreshToken).where(RefreshToken.user_id == await _user_id(http, pair))
            )
        ).all()
    assert len(stored) == 1
    assert stored[0].token_hash != pair["refresh_token"]
    assert pair["refresh_token"] not in stored[0].token_hash


async def test_refresh_rotates_and_the_old_token_stops_working(
    http: httpx.AsyncClient, home: HomeFixture
) -> None:
    first = await _login(http, home.staff_email, home.password)
    second = await _refresh(http, first["refresh_token"])
    assert second.status_code == 200, second.text
    renewed = second.json()
    assert renewed["refresh_token"] != first["refresh_token"]
    assert (await http.get("/api/v1/me", headers=_bearer(renewed))).status_code == 200
    third = await _refresh(http, renewed["refresh_token"])
    assert third.status_code == 200
    assert_error(await _refresh(http, "never-issued"), 401, "invalid_refresh_token")


async def test_reusing_a_rotated_refresh_token_ends_the_whole_session(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = await _login(http, home.staff_email, home.password)
    other_session = await _login(http, home.staff_email, home.password)
    renewed = (await _refresh(http, first["refresh_token"])).json()
    # The stolen copy comes back: refused, and the thief's and owner's tokens all die.
    assert_error(await _refresh(http, first["refresh_token"]), 401, "invalid_refresh_token")
    assert_error(await _refresh(http, renewed["refresh_token"]), 401, "invalid_refresh_token")
    for pair in (first, renewed):
        me = await http.get("/api/v1/me", headers=_bearer(pair))
        assert_error(me, 401, "invalid_token")
    # Another login of the same person is another session and lives on.
    assert (await http.get("/api/v1/me", headers=_bearer(other_session))).status_code == 200
    assert (await _refresh(http, other_session["refresh_token"])).status_code == 200
    async with sessionmaker() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.target_type == "user",
                    AuditEntry.target_id == str(await _user_id(http, other_session)),
                )
            )
        ).all()
    assert "auth.refresh_reuse" in actions


async def test_logout_ends_access_and_refresh_tokens_at_once(
    http: httpx.AsyncClient, home: HomeFixture
) -> None:
    pair = await _login(http, home.guardian_email, home.password)
    other = await _login(http, home.guardian_email, home.password)
    assert (await http.post("/api/v1/auth/logout", headers=_bearer(pair))).status_code == 204
    assert_error(await http.get("/api/v1/me", headers=_bearer(pair)), 401, "invalid_token")
    assert_error(await _refresh(http, pair["refresh_token"]), 401, "invalid_refresh_token")
    assert (await http.get("/api/v1/me", headers=_bearer(other))).status_code == 200


async def test_admin_revocation_and_deactivation_take_effect_at_once(
    http: httpx.AsyncClient, home: HomeFixture
) -> None:
    admin = await _admin_token(http, home)
    pair = await _login(http, home.staff_email, home.password)
    staff_id = await _user_id(http, pair)
    revoked = await http.post(f"/api/v1/admin/users/{staff_id}/revoke-sessions", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["sessions_ended"] >= 1
    assert_error(await http.get("/api/v1/me", headers=_bearer(pair)), 401, "invalid_token")
    assert_error(await _refresh(http, pair["refresh_token"]), 401, "invalid_refresh_token")
    # Logging in again right away works: the cut-off is finer than a second.
    again = await _login(http, home.staff_email, home.password)
    assert (await http.get("/api/v1/me", headers=_bearer(again))).status_code == 200

    off = await http.patch(
        f"/api/v1/admin/users/{staff_id}", json={"is_active": False}, headers=admin
    )
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert_error(await http.get("/api/v1/me", headers=_bearer(again)), 401, "invalid_token")
    assert_error(await _refresh(http, again["refresh_token"]), 401, "invalid_refresh_token")
    login = await http.post(
        "/api/v1/auth/login", json={"email": home.staff_email, "password": home.password}
    )
    assert_error(login, 401, "invalid_credentials")


async def _socket(url: str, token: str) -> tuple[socketio.AsyncClient, asyncio.Event]:
    client = socketio.AsyncClient(reconnection=False)
    gone = asyncio.Event()

    @client.event
    async def disconnect(*_: Any) -> None:
        gone.set()

    await client.connect(url, auth={"token": token}, wait_timeout=5)
    return client, gone


async def test_sockets_close_on_revocation_and_refuse_revoked_tokens(
    backend_url: str, http: httpx.AsyncClient, home: HomeFixture
) -> None:
    pair = await _login(http, home.staff_email, home.password)
    client, gone = await _socket(backend_url, pair["access_token"])
    try:
        staff_id = await _user_id(http, pair)
        admin = await _admin_token(http, home)
        await http.post(f"/api/v1/admin/users/{staff_id}/revoke-sessions", headers=admin)
        await asyncio.wait_for(gone.wait(), timeout=5)
    finally:
        await client.disconnect()
    with pytest.raises(socketio.exceptions.ConnectionError):
        refused, _ = await _socket(backend_url, pair["access_token"])
        await refused.disconnect()

    logged_out = await _login(http, home.guardian_email, home.password)
    client, gone = await _socket(backend_url, logged_out["access_token"])
    try:
        await http.post("/api/v1/auth/logout", headers=_bearer(logged_out))
        await asyncio.wait_for(gone.wait(), timeout=5)
    finally:
        await client.disconnect()
    with pytest.raises(socketio.exceptions.ConnectionError):
        refused, _ = await _socket(backend_url, logged_out["access_token"])
        await refused.disconnect()


async def test_login_is_limited_per_account(http: httpx.AsyncClient, home: HomeFixture) -> None:
    # Five failures (the default limit) from five different addresses...
    for _ in range(5):
        wrong = await http.post(
            "/api/v1/auth/login",
            json={"email": home.staff_email, "password": "not the password"},
            headers={"X-Forwarded-For": _address()},
        )
        assert_error(wrong, 401, "invalid_credentials")
    # ...and even the right password from a fresh address waits.
    limited = await http.post(
        "/api/v1/auth/login",
        json={"email": home.staff_email, "password": home.password},
        headers={"X-Forwarded-For": _address()},
    )
    assert_error(limited, 429, "too_many_attempts")
    assert 1 <= int(limited.headers["Retry-After"]) <= 900
    # Other accounts are not affected.
    assert (await _login(http, home.guardian_email, home.password))["access_token"]


async def test_login_is_limited_per_address_and_success_does_not_wipe_it(
    http: httpx.AsyncClient, home: HomeFixture
) -> None:
    address = _address()

    async def attempt(email: str, password: str) -> httpx.Response:
        return await http.post(
            "/api/v1/auth/login",
            json={"email": email, "password": password},
            headers={"X-Forwarded-For": address},
        )

    for _ in range(19):  # one short of the default 20, each against another account
        wrong = await attempt(f"guess-{uuid.uuid4().hex[:8]}@example.test", "guess")
        assert_error(wrong, 401, "invalid_credentials")
    # Logging in to one's own account from there works and wipes nothing.
    assert (await attempt(home.admin_email, home.password)).status_code == 200
    assert_error(await attempt("one-more@example.test", "guess"), 401, "invalid_credentials")
    limited = await attempt(home.staff_email, home.password)
    assert_error(limited, 429, "too_many_attempts")
    assert int(limited.headers["Retry-After"]) >= 1
    # The same account from another address is fine.
    assert (await _login(http, home.staff_email, home.password))["access_token"]


def test_password_policy() -> None:
    email = "mina.park@example.org"
    assert password_problem("short-one", email=email)
    assert password_problem("password1234", email=email)
    assert password_problem("QwertyUiop123", email=email)
    assert password_problem("aaaaaaaaaaaaaaaa", email=email)
    assert password_problem("mina.park@example.org", email=email)
    assert password_problem("MINA.PARK@EXAMPLE.ORG", email=email)
    assert password_problem("plum tram quietly ninety", email=email) is None


async def test_change_password(http: httpx.AsyncClient, home: HomeFixture) -> None:
    pair = await _login(http, home.guardian_email, home.password)
    elsewhere = await _login(http, home.guardian_email, home.password)
    url = "/api/v1/auth/password"
    wrong = await http.post(
        url,
        json={"current_password": "nope", "new_password": "plum tram quietly ninety"},
        headers=_bearer(pair),
    )
    assert_error(wrong, 400, "wrong_password")
    for weak in ("short", "password1234", home.guardian_email):
        response = await http.post(
            url,
            json={"current_password": home.password, "new_password": weak},
            headers=_bearer(pair),
        )
        assert_error(response, 422, "weak_password")
    new_password = "plum tram quietly ninety " + uuid.uuid4().hex[:4]
    changed = await http.post(
        url,
        json={"current_password": home.password, "new_password": new_password},
        headers=_bearer(pair),
    )
    assert changed.status_code == 200, changed.text
    fresh = changed.json()
    assert (await http.get("/api/v1/me", headers=_bearer(fresh))).status_code == 200
    for old in (pair, elsewhere):  # every earlier session ended
        assert_error(await http.get("/api/v1/me", headers=_bearer(old)), 401, "invalid_token")
        assert_error(await _refresh(http, old["refresh_token"]), 401, "invalid_refresh_token")
    old_login = await http.post(
        "/api/v1/auth/login", json={"email": home.guardian_email, "password": home.password}
    )
    assert_error(old_login, 401, "invalid_credentials")
    assert (await _login(http, home.guardian_email, new_password))["access_token"]
