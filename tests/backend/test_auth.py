"""Logging in, and every request without a valid token being refused with the error shape."""

from __future__ import annotations

import time

import httpx
import jwt

from sst_backend.settings import BackendSettings
from tests.backend.conftest import login
from tests.factories import HomeFixture


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]


async def test_login_and_me(http: httpx.AsyncClient, home: HomeFixture) -> None:
    token = await login(http, home.staff_email, home.password)
    me = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["email"] == home.staff_email
    assert me.json()["role"] == "staff"
    assert me.json()["is_charge_nurse"] is False


async def test_wrong_password_and_unknown_email_look_the_same(
    http: httpx.AsyncClient, home: HomeFixture
) -> None:
    wrong = await http.post(
        "/api/v1/auth/login", json={"email": home.staff_email, "password": "nope"}
    )
    unknown = await http.post(
        "/api/v1/auth/login", json={"email": "nobody@example.test", "password": "nope"}
    )
    assert_error(wrong, 401, "invalid_credentials")
    assert_error(unknown, 401, "invalid_credentials")
    assert wrong.json() == unknown.json()


async def test_requests_without_valid_token_get_401(
    http: httpx.AsyncClient, home: HomeFixture
) -> None:
    settings = BackendSettings()
    now = int(time.time())
    base = {"sub": "1", "role": "admin", "fac": home.facility_id, "iss": "sst", "jti": "x"}
    expired = jwt.encode(
        {**base, "iat": now - 7200, "exp": now - 3600},
        settings.jwt_secret.get_secret_value(),
        algorithm="HS256",
    )
    forged = jwt.encode(
        {**base, "iat": now, "exp": now + 600},
        "not-the-key-but-long-enough-to-look-real-0123456789",
        algorithm="HS256",
    )
    assert_error(await http.get("/api/v1/residents"), 401, "unauthorized")
    for token in (expired, forged, "garbage"):
        response = await http.get("/api/v1/residents", headers={"Authorization": f"Bearer {token}"})
        assert_error(response, 401, "invalid_token")
    assert (await http.get("/api/v1/alerts")).status_code == 401


async def test_bad_request_body_gets_422_in_error_shape(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/v1/auth/login", json={"email": 5})
    assert_error(response, 422, "invalid_request")
    assert (
        "email" in response.json()["error"]["message"]
        or "password" in response.json()["error"]["message"]
    )


async def test_health_and_ready(http: httpx.AsyncClient) -> None:
    assert (await http.get("/health")).json() == {"status": "ok"}
    ready = await http.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgresql": "ok", "redis": "ok"}
