"""Admins read their facility's audit log (nobody else's); oversized bodies get 413."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.backend.conftest import login
from tests.factories import HomeFixture, make_home


async def test_admin_reads_own_facility_audit_only(
    http: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    elsewhere = await make_home(sessionmaker)
    staff = await login(http, home.staff_email, home.password)
    await login(http, elsewhere.staff_email, home.password)
    # An audited action of each facility: viewing a resident's profile.
    seen = await http.get(
        f"/api/v1/residents/{home.resident_id}", headers={"Authorization": f"Bearer {staff}"}
    )
    assert seen.status_code == 200
    admin = await login(http, home.admin_email, home.password)
    response = await http.get("/api/v1/admin/audit", headers={"Authorization": f"Bearer {admin}"})
    assert response.status_code == 200, response.text
    entries = response.json()
    emails = {e["actor_email"] for e in entries}
    assert home.staff_email in emails
    assert elsewhere.staff_email not in emails
    refused = await http.get("/api/v1/admin/audit", headers={"Authorization": f"Bearer {staff}"})
    assert refused.status_code == 403
    naive = await http.get(
        "/api/v1/admin/audit",
        params={"since": "2026-01-01T00:00:00"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert naive.status_code == 422


async def test_oversized_body_is_refused_with_413(http: httpx.AsyncClient) -> None:
    big = {"email": "x@example.test", "password": "p" * 2_000_000}
    response = await http.post("/api/v1/auth/login", json=big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 65_536

    streamed = await http.post(
        "/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
