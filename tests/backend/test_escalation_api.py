"""Escalation policies, emergency contacts and duty: who may read and who may edit."""

from __future__ import annotations

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_core.db.models import User
from tests.backend.conftest import login
from tests.factories import HomeFixture, make_home

FAST = {
    "steps": [
        {"target": "assigned_staff", "delay_s": 0},
        {"target": "guardians", "delay_s": 120},
    ],
    "reminder_interval_s": 600,
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_policies_default_facility_and_resident_override(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin = await login(http, home.admin_email, home.password)
    staff = await login(http, home.staff_email, home.password)
    guardian = await login(http, home.guardian_email, home.password)
    defaults = (await http.get("/api/v1/escalation-policies", headers=auth(staff))).json()
    by_severity = {p["severity"]: p for p in defaults}
    assert all(p["source"] == "default" for p in defaults)
    assert "guardians" not in [s["target"] for s in by_severity["low"]["steps"]]
    assert by_severity["critical"]["steps"][1]["delay_s"] <= 60
    assert (
        await http.get("/api/v1/escalation-policies", headers=auth(guardian))
    ).status_code == 403
    # Staff read but do not edit; admins and charge nurses edit.
    assert (
        await http.put("/api/v1/escalation-policies/high", headers=auth(staff), json=FAST)
    ).status_code == 403
    saved = await http.put("/api/v1/escalation-policies/high", headers=auth(admin), json=FAST)
    assert saved.status_code == 200 and saved.json()["source"] == "facility"
    again = await http.put(
        "/api/v1/escalation-policies/high",
        headers=auth(admin),
        json={**FAST, "reminder_interval_s": None},
    )
    assert again.status_code == 200
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(User).where(User.email == home.staff_email).values(is_charge_nurse=True)
        )
    override = {**FAST, "steps": [{"target": "staff_on_duty", "delay_s": 0}]}
    url = f"/api/v1/residents/{home.resident_id}/escalation-policies"
    put = await http.put(f"{url}/high", headers=auth(staff), json=override)
    assert put.status_code == 200, put.text
    effective = {p["severity"]: p for p in (await http.get(url, headers=auth(staff))).json()}
    assert effective["high"]["source"] == "resident"
    assert effective["high"]["steps"] == override["steps"]
    assert effective["critical"]["source"] == "default"
    facility = {
        p["severity"]: p
        for p in (await http.get("/api/v1/escalation-policies", headers=auth(staff))).json()
    }
    assert (
        facility["high"]["source"] == "facility" and facility["high"]["reminder_interval_s"] is None
    )
    assert (await http.delete(f"{url}/high", headers=auth(staff))).status_code == 204
    effective = {p["severity"]: p for p in (await http.get(url, headers=auth(staff))).json()}
    assert effective["high"]["source"] == "facility"
    # Bad policies are refused with the one error shape.
    bodies: list[dict[str, object]] = [
        {"steps": []},
        {"steps": [{"target": "the pope", "delay_s": 0}]},
        {"steps": [{"target": "guardians", "delay_s": -1}]},
        {**FAST, "reminder_interval_s": 5},
    ]
    for body in bodies:
        bad = await http.put("/api/v1/escalation-policies/high", headers=auth(admin), json=body)
        assert bad.status_code == 422 and "error" in bad.json(), body
    # Another facility's admin cannot touch this resident.
    other = await make_home(sessionmaker)
    stranger = await login(http, other.admin_email, other.password)
    assert (await http.put(f"{url}/high", headers=auth(stranger), json=FAST)).status_code == 404


async def test_emergency_contacts_and_duty(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin = await login(http, home.admin_email, home.password)
    staff = await login(http, home.staff_email, home.password)
    guardian = await login(http, home.guardian_email, home.password)
    url = f"/api/v1/residents/{home.resident_id}/emergency-contacts"
    contact = {"full_name": "Lee Min-jun", "relation": "neighbour", "phone": "+82 10 1234 5678"}
    assert (await http.post(url, headers=auth(staff), json=contact)).status_code == 403
    assert (
        await http.post(url, headers=auth(admin), json={"full_name": "Nobody"})
    ).status_code == 422
    made = await http.post(url, headers=auth(admin), json=contact)
    assert made.status_code == 201, made.text
    listed = (await http.get(url, headers=auth(guardian))).json()
    assert [c["full_name"] for c in listed] == ["Lee Min-jun"]
    assert (await http.delete(f"{url}/{made.json()['id']}", headers=auth(admin))).status_code == 204
    assert (await http.get(url, headers=auth(staff))).json() == []
    me = (await http.get("/api/v1/me", headers=auth(staff))).json()
    on = await http.put(
        f"/api/v1/staff/{me['id']}/duty", headers=auth(staff), json={"on_duty": True}
    )
    assert on.status_code == 200 and on.json()["on_duty"] is True
    names = [
        d["user_id"] for d in (await http.get("/api/v1/staff/on-duty", headers=auth(admin))).json()
    ]
    assert me["id"] in names
    admin_me = (await http.get("/api/v1/me", headers=auth(admin))).json()
    # Plain staff cannot put others on duty: they are "not found" to them, the answer the
    # role matrix holds every route to wherever a caller may not act; guardians have no duty.
    assert (
        await http.put(
            f"/api/v1/staff/{admin_me['id']}/duty", headers=auth(staff), json={"on_duty": True}
        )
    ).status_code == 404
    off = await http.put(
        f"/api/v1/staff/{me['id']}/duty", headers=auth(admin), json={"on_duty": False}
    )
    assert off.status_code == 200
    names = [
        d["user_id"] for d in (await http.get("/api/v1/staff/on-duty", headers=auth(admin))).json()
    ]
    assert me["id"] not in names
    assert (await http.get("/api/v1/staff/on-duty", headers=auth(guardian))).status_code == 403
