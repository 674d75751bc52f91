"""User administration: an admin manages the accounts of their own facility, and only those."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_core.db.models import AuditEntry
from tests.backend.conftest import login
from tests.backend.test_auth import assert_error
from tests.factories import HomeFixture, make_home

STRONG = "plum tram quietly ninety"
_LINK_ACTIONS = ("staff.assign", "staff.unassign", "guardian.link", "guardian.unlink")


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _resident_ids(http: httpx.AsyncClient, email: str, password: str) -> set[int]:
    token = await login(http, email, password)
    return {r["id"] for r in (await http.get("/api/v1/residents", headers=_auth(token))).json()}


async def test_admin_creates_lists_updates_and_deactivates(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin = _auth(await login(http, home.admin_email, home.password))
    email = f"New.Nurse-{uuid.uuid4().hex[:6]}@Example.test"
    body = {"email": email, "full_name": "Mina Park", "role": "staff", "password": STRONG}
    created = await http.post("/api/v1/admin/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["email"] == email.lower() and user["facility_id"] == home.facility_id
    assert user["is_active"] and not user["is_charge_nurse"] and user["resident_ids"] == []
    assert "password" not in created.text and STRONG not in created.text

    again = await http.post("/api/v1/admin/users", json=body, headers=admin)
    assert_error(again, 409, "email_taken")
    weak = await http.post(
        "/api/v1/admin/users", json={**body, "email": "x" + email, "password": "short"}
    )
    assert weak.status_code == 401  # no token, no answer about the body
    weak = await http.post(
        "/api/v1/admin/users",
        json={**body, "email": "x" + email, "password": "password1234"},
        headers=admin,
    )
    assert_error(weak, 422, "weak_password")
    guardian_nurse = await http.post(
        "/api/v1/admin/users",
        json={**body, "email": "y" + email, "role": "guardian", "is_charge_nurse": True},
        headers=admin,
    )
    assert_error(guardian_nurse, 422, "invalid_request")

    listed = await http.get("/api/v1/admin/users", params={"role": "staff"}, headers=admin)
    assert user["id"] in [u["id"] for u in listed.json()]
    assert all(u["facility_id"] == home.facility_id for u in listed.json())
    assert all(u["role"] == "staff" for u in listed.json())

    charge = await http.patch(
        f"/api/v1/admin/users/{user['id']}", json={"is_charge_nurse": True}, headers=admin
    )
    assert charge.status_code == 200 and charge.json()["is_charge_nurse"] is True
    # As a charge nurse, the new account sees the whole facility.
    assert home.resident_id in await _resident_ids(http, email, STRONG)

    me = (await http.get("/api/v1/me", headers=admin)).json()
    self_off = await http.patch(
        f"/api/v1/admin/users/{me['id']}", json={"is_active": False}, headers=admin
    )
    assert_error(self_off, 409, "cannot_deactivate_self")
    off = await http.patch(
        f"/api/v1/admin/users/{user['id']}", json={"is_active": False}, headers=admin
    )
    assert off.json()["is_active"] is False
    inactive = await http.get("/api/v1/admin/users", params={"active": "false"}, headers=admin)
    assert [u["id"] for u in inactive.json()] == [user["id"]]
    async with sessionmaker() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.target_type == "user", AuditEntry.target_id == str(user["id"])
                )
            )
        ).all()
    assert {"user.create", "user.update"} <= set(actions)


async def test_assignments_and_guardian_links_change_what_people_see(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    second = await make_home(sessionmaker, facility_id=home.facility_id)
    admin = _auth(await login(http, home.admin_email, home.password))
    users = (await http.get("/api/v1/admin/users", headers=admin)).json()
    staff = next(u for u in users if u["email"] == home.staff_email)
    guardian = next(u for u in users if u["email"] == home.guardian_email)
    assert staff["resident_ids"] == [home.resident_id]

    assert await _resident_ids(http, home.staff_email, home.password) == {home.resident_id}
    put = await http.put(
        f"/api/v1/admin/users/{staff['id']}/assignments/{second.resident_id}", headers=admin
    )
    assert put.status_code == 200 and second.resident_id in put.json()["resident_ids"]
    assert await _resident_ids(http, home.staff_email, home.password) == {
        home.resident_id,
        second.resident_id,
    }
    gone = await http.delete(
        f"/api/v1/admin/users/{staff['id']}/assignments/{home.resident_id}", headers=admin
    )
    assert gone.json()["resident_ids"] == [second.resident_id]
    assert await _resident_ids(http, home.staff_email, home.password) == {second.resident_id}

    link = await http.put(
        f"/api/v1/admin/users/{guardian['id']}/guardian-links/{second.resident_id}",
        json={"relation": "son"},
        headers=admin,
    )
    assert link.status_code == 200
    assert await _resident_ids(http, home.guardian_email, home.password) == {
        home.resident_id,
        second.resident_id,
    }
    await http.delete(
        f"/api/v1/admin/users/{guardian['id']}/guardian-links/{home.resident_id}", headers=admin
    )
    assert await _resident_ids(http, home.guardian_email, home.password) == {second.resident_id}

    wrong_role = await http.put(
        f"/api/v1/admin/users/{guardian['id']}/assignments/{home.resident_id}", headers=admin
    )
    assert_error(wrong_role, 409, "wrong_role")
    # Each change is audited once, on the resident, naming the account by its role.
    async with sessionmaker() as session:
        audited = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.target_id, AuditEntry.details)
                .where(AuditEntry.action.in_(_LINK_ACTIONS))
                .where(AuditEntry.target_id.in_([str(home.resident_id), str(second.resident_id)]))
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [tuple(row) for row in audited] == [
        ("staff.assign", str(second.resident_id), {"staff_id": staff["id"]}),
        ("staff.unassign", str(home.resident_id), {"staff_id": staff["id"]}),
        ("guardian.link", str(second.resident_id), {"guardian_id": guardian["id"]}),
        ("guardian.unlink", str(home.resident_id), {"guardian_id": guardian["id"]}),
    ]


async def test_another_facility_is_out_of_reach(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    foreign = await make_home(sessionmaker)
    admin = _auth(await login(http, home.admin_email, home.password))
    foreign_admin = _auth(await login(http, foreign.admin_email, foreign.password))
    foreign_users = (await http.get("/api/v1/admin/users", headers=foreign_admin)).json()
    foreign_staff = next(u for u in foreign_users if u["email"] == foreign.staff_email)
    own_users = (await http.get("/api/v1/admin/users", headers=admin)).json()
    own_staff = next(u for u in own_users if u["email"] == home.staff_email)
    assert foreign.staff_email not in str(own_users)

    for response in (
        await http.get(f"/api/v1/admin/users/{foreign_staff['id']}", headers=admin),
        await http.patch(
            f"/api/v1/admin/users/{foreign_staff['id']}", json={"full_name": "x"}, headers=admin
        ),
        await http.post(
            f"/api/v1/admin/users/{foreign_staff['id']}/revoke-sessions", headers=admin
        ),
        await http.put(
            f"/api/v1/admin/users/{own_staff['id']}/assignments/{foreign.resident_id}",
            headers=admin,
        ),
        await http.put(
            f"/api/v1/admin/users/{foreign_staff['id']}/assignments/{home.resident_id}",
            headers=admin,
        ),
    ):
        assert_error(response, 404, "not_found")
    # Staff and guardians have no admin powers at all.
    staff = _auth(await login(http, home.staff_email, home.password))
    assert_error(await http.get("/api/v1/admin/users", headers=staff), 403, "forbidden")
