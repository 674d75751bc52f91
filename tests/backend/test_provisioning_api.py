"""Admin API for hubs and robots: real broker logins, shown once, facility-scoped, audited."""

from __future__ import annotations

import asyncio
import time

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_core.const import hub_topic
from sst_core.db.models import AuditEntry, Hub, Robot, Room, Sensor
from sst_hub_gateway.service import Gateway
from tests.backend.conftest import login
from tests.broker.helpers import Device, connect_code
from tests.conftest import MQTT_GATEWAY
from tests.factories import HomeFixture, make_home
from tests.hub_gateway.conftest import gateway_settings, stored_readings
from tests.hub_gateway.helpers import eventually, now_ms, running


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def admin_headers(http: httpx.AsyncClient, home: HomeFixture) -> dict[str, str]:
    return auth(await login(http, home.admin_email, home.password))


async def revoke_at_end(http: httpx.AsyncClient, headers: dict[str, str], path: str) -> None:
    response = await http.delete(path, headers=headers)
    assert response.status_code == 204, response.text


async def test_an_admin_provisions_a_hub_that_then_reports_through_the_gateway(
    http: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    headers = await admin_headers(http, home)
    async with sessionmaker() as session:
        kitchen = await session.scalar(
            select(Room.id).where(Room.home_id == home.home_id, Room.name == "Kitchen")
        )
    serial = f"hub-api-{time.time_ns()}"
    response = await http.post(
        "/api/v1/admin/hubs",
        headers=headers,
        json={
            "home_id": home.home_id,
            "serial": serial,
            "sensors": [{"key": "fridge-door", "kind": "door", "room_id": kitchen}],
        },
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    mqtt = body["mqtt"]
    assert (body["serial"], mqtt["username"]) == (serial, serial)
    assert mqtt["topic_root"] == f"sst/v1/hubs/{serial}/#"
    assert len(mqtt["password"]) >= 40
    hub_id, sensor_id = body["id"], body["sensors"][0]["id"]
    try:
        # The password is nowhere in the database: not on the hub, not in the audit log.
        async with engine.connect() as conn:
            dump = await conn.scalar(
                text(
                    "SELECT concat_ws(' ', (SELECT row_to_json(h)::text FROM hubs h WHERE id = :h),"
                    " (SELECT string_agg(row_to_json(a)::text, ' ') FROM audit_log a))"
                ),
                {"h": hub_id},
            )
        assert serial in dump and mqtt["password"] not in dump
        async with sessionmaker() as session:
            hub = await session.get(Hub, hub_id)
            assert hub is not None and hub.credentials_issued_at is not None
            sensor = await session.get(Sensor, sensor_id)
            assert sensor is not None and (sensor.key, sensor.room_id) == ("fridge-door", kitchen)
            audit = (
                await session.scalars(
                    select(AuditEntry).where(
                        AuditEntry.target_type == "hub", AuditEntry.target_id == str(hub_id)
                    )
                )
            ).all()
            assert [a.action for a in audit] == ["hub.provision"]

        # The new login works end to end: the gateway stores what the hub sends.
        ts = now_ms()
        async with running(Gateway(gateway_settings())):
            device = await asyncio.to_thread(Device, mqtt["username"], mqtt["password"])
            try:
                payload = b'{"v":1,"readings":[{"sensor":"fridge-door","ts":%d,"value":1}]}' % ts
                device.publish(hub_topic(serial, "telemetry"), payload)

                async def stored() -> bool:
                    return len(await stored_readings(engine, [sensor_id])) == 1

                await eventually(stored)
            finally:
                device.close()
    finally:
        await revoke_at_end(http, headers, f"/api/v1/admin/hubs/{hub_id}/credentials")


async def test_rotating_and_revoking_a_hubs_login_through_the_api(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = await admin_headers(http, home)
    created = await http.post("/api/v1/admin/hubs", headers=headers, json={"home_id": home.home_id})
    assert created.status_code == 201, created.text
    hub_id, first = created.json()["id"], created.json()["mqtt"]
    assert created.json()["serial"].startswith("hub-")

    hub = await asyncio.to_thread(Device, first["username"], first["password"])
    try:
        rotated = await http.post(f"/api/v1/admin/hubs/{hub_id}/credentials", headers=headers)
        assert rotated.status_code == 200, rotated.text
        second = rotated.json()
        assert second["username"] == first["username"]
        assert second["password"] != first["password"]
        assert await asyncio.to_thread(hub.dropped.wait, 5), "the old session survived rotation"
    finally:
        hub.close()
    assert await asyncio.to_thread(connect_code, first["username"], first["password"]) != 0

    hub = await asyncio.to_thread(Device, second["username"], second["password"])
    try:
        revoked = await http.delete(f"/api/v1/admin/hubs/{hub_id}/credentials", headers=headers)
        assert revoked.status_code == 204, revoked.text
        assert await asyncio.to_thread(hub.dropped.wait, 5), "the revoked hub stayed connected"
    finally:
        hub.close()
    assert await asyncio.to_thread(connect_code, second["username"], second["password"]) != 0
    # Revoking again is harmless.
    again = await http.delete(f"/api/v1/admin/hubs/{hub_id}/credentials", headers=headers)
    assert again.status_code == 204

    async with sessionmaker() as session:
        row = await session.get(Hub, hub_id)
        assert row is not None and row.credentials_revoked_at is not None
        actions = (
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.target_type == "hub", AuditEntry.target_id == str(hub_id))
                .order_by(AuditEntry.id)
            )
        ).all()
    assert actions == [
        "hub.provision",
        "hub.credentials.issue",
        "hub.credentials.revoke",
        "hub.credentials.revoke",
    ]


async def test_a_robot_gets_its_own_login_in_its_own_subtree(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = await admin_headers(http, home)
    created = await http.post(
        "/api/v1/admin/robots", headers=headers, json={"home_id": home.home_id}
    )
    assert created.status_code == 201, created.text
    robot_id, mqtt = created.json()["id"], created.json()["mqtt"]
    try:
        assert mqtt["topic_root"] == f"sst/v1/robots/{mqtt['username']}/#"
        robot = await asyncio.to_thread(Device, mqtt["username"], mqtt["password"])
        gateway = await asyncio.to_thread(Device, MQTT_GATEWAY.username, MQTT_GATEWAY.password)
        try:
            gateway.subscribe(f"sst/v1/robots/{mqtt['username']}/#")
            gateway.subscribe(f"sst/v1/hubs/{home.hub_serial}/#")
            robot.publish(f"sst/v1/robots/{mqtt['username']}/status", b"docked")
            robot.publish(hub_topic(home.hub_serial, "telemetry"), b"forged")
            seen = await asyncio.to_thread(gateway.received)
            assert seen == [(f"sst/v1/robots/{mqtt['username']}/status", b"docked")]
        finally:
            robot.close()
            gateway.close()
        async with sessionmaker() as session:
            row = await session.get(Robot, robot_id)
            assert row is not None and row.home_id == home.home_id
    finally:
        await revoke_at_end(http, headers, f"/api/v1/admin/robots/{robot_id}/credentials")


async def test_only_admins_of_the_facility_may_provision(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    elsewhere = await make_home(sessionmaker)
    body = {"home_id": home.home_id}
    paths = [
        ("POST", "/api/v1/admin/hubs", body),
        ("POST", "/api/v1/admin/robots", body),
        ("POST", f"/api/v1/admin/hubs/{home.hub_id}/credentials", None),
        ("DELETE", f"/api/v1/admin/hubs/{home.hub_id}/credentials", None),
    ]
    expectations = {
        home.staff_email: 403,
        home.guardian_email: 403,
        elsewhere.admin_email: 404,  # another facility's home and hub do not exist for them
    }
    for email, status in expectations.items():
        headers = auth(await login(http, email, home.password))
        for method, path, json in paths:
            response = await http.request(method, path, headers=headers, json=json)
            assert response.status_code == status, (email, method, path, response.text)
            assert "password" not in response.text
    for method, path, json in paths:
        response = await http.request(method, path, json=json)
        assert response.status_code == 401, (method, path)
    async with sessionmaker() as session:
        hub = await session.get(Hub, home.hub_id)
        assert hub is not None and hub.credentials_issued_at is None
        assert hub.credentials_revoked_at is None


async def test_serials_are_unique_valid_and_never_a_service_account(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = await admin_headers(http, home)
    taken = await http.post(
        "/api/v1/admin/hubs",
        headers=headers,
        json={"home_id": home.home_id, "serial": home.hub_serial},
    )
    assert taken.status_code == 409, taken.text
    for serial in (MQTT_GATEWAY.username, "sst-gateway", "SST-admin", "a/b", "+", "#", ""):
        response = await http.post(
            "/api/v1/admin/hubs", headers=headers, json={"home_id": home.home_id, "serial": serial}
        )
        assert response.status_code == 422, (serial, response.text)
    # The gateway's login still works: nothing above touched it.
    assert await asyncio.to_thread(connect_code, MQTT_GATEWAY.username, MQTT_GATEWAY.password) == 0
    # A sensor cannot be put in a room of somebody else's home.
    elsewhere = await make_home(sessionmaker)
    async with sessionmaker() as session:
        foreign_room = await session.scalar(
            select(Room.id).where(Room.home_id == elsewhere.home_id).limit(1)
        )
    sensors = [{"key": "x", "kind": "door", "room_id": foreign_room}]
    response = await http.post(
        "/api/v1/admin/hubs", headers=headers, json={"home_id": home.home_id, "sensors": sensors}
    )
    assert response.status_code == 422, response.text


async def test_an_admin_sets_a_hubs_own_heartbeat_timeout(
    http: httpx.AsyncClient, home: HomeFixture, engine: AsyncEngine
) -> None:
    headers = await admin_headers(http, home)
    path = f"/api/v1/admin/hubs/{home.hub_id}"
    made = await http.patch(path, headers=headers, json={"heartbeat_timeout_s": 900})
    assert made.status_code == 200, made.text
    assert made.json() == {
        "id": home.hub_id,
        "home_id": home.home_id,
        "serial": home.hub_serial,
        "heartbeat_timeout_s": 900,
    }
    async with engine.connect() as conn:
        stored = await conn.scalar(
            text("SELECT heartbeat_timeout_s FROM hubs WHERE id = :h"), {"h": home.hub_id}
        )
        audited = await conn.scalar(
            text(
                "SELECT details FROM audit_log WHERE action = 'hub.settings.update' "
                "AND target_id = :h ORDER BY id DESC LIMIT 1"
            ),
            {"h": str(home.hub_id)},
        )
    assert stored == 900
    assert audited == {"heartbeat_timeout_s": [None, 900]}
    for bad in (29, 86_401, "ten", 1.5):
        refused = await http.patch(path, headers=headers, json={"heartbeat_timeout_s": bad})
        assert refused.status_code == 422, (bad, refused.text)
    # Back to the gateway's default.
    reset = await http.patch(path, headers=headers, json={"heartbeat_timeout_s": None})
    assert reset.status_code == 200 and reset.json()["heartbeat_timeout_s"] is None
    # Staff may not; another facility's admin finds no such hub.
    staff = auth(await login(http, home.staff_email, home.password))
    assert (
        await http.patch(path, headers=staff, json={"heartbeat_timeout_s": 600})
    ).status_code == 403
