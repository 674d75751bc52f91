"""Care data CRUD on the real backend: admins set up, others read by the access rule."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_core.db.models import AuditEntry
from tests.backend.conftest import login
from tests.factories import HomeFixture, make_home

API = "/api/v1"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _token(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    return _auth(await login(http, email, HomeFixture.password))


async def test_admin_sets_up_a_resident_home_rooms_sensors_and_robot(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin = await _token(http, home.admin_email)
    created = await http.post(
        f"{API}/residents",
        json={
            "full_name": "Lee Soon-ja",
            "date_of_birth": "1941-03-09",
            "video_consent": True,
            "home": {"label": "Flat 9", "timezone": "Asia/Seoul"},
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    resident = created.json()
    assert resident["timezone"] == "Asia/Seoul" and resident["video_consent"] is True
    home_id = resident["home_id"]

    room = await http.post(
        f"{API}/homes/{home_id}/rooms", json={"name": "Bathroom", "kind": "bathroom"}, headers=admin
    )
    assert room.status_code == 201, room.text
    again = await http.post(
        f"{API}/homes/{home_id}/rooms", json={"name": "Bathroom", "kind": "bathroom"}, headers=admin
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "room_exists"

    # Sensors go on an existing hub: the fixture's hub, in the fixture's home.
    sensor = await http.post(
        f"{API}/hubs/{home.hub_id}/sensors",
        json={"key": "hall-motion", "kind": "motion"},
        headers=admin,
    )
    assert sensor.status_code == 201, sensor.text
    assert sensor.json()["home_id"] == home.home_id
    wrong_room = await http.patch(
        f"{API}/sensors/{sensor.json()['id']}",
        json={"room_id": room.json()["id"]},  # a room of another home
        headers=admin,
    )
    assert wrong_room.status_code == 404, wrong_room.text
    bad_kind = await http.post(
        f"{API}/hubs/{home.hub_id}/sensors", json={"key": "x-1", "kind": "lava"}, headers=admin
    )
    assert bad_kind.status_code == 422
    duplicate = await http.post(
        f"{API}/hubs/{home.hub_id}/sensors",
        json={"key": "hall-motion", "kind": "door"},
        headers=admin,
    )
    assert duplicate.status_code == 409

    serial = f"robot-{uuid.uuid4().hex[:8]}"
    robot = await http.post(
        f"{API}/homes/{home_id}/robots",
        json={"serial": serial, "capabilities": ["move", "speak"]},
        headers=admin,
    )
    assert robot.status_code == 201, robot.text
    same_serial = await http.post(
        f"{API}/homes/{home_id}/robots", json={"serial": serial}, headers=admin
    )
    assert same_serial.status_code == 409

    patched = await http.patch(
        f"{API}/residents/{resident['id']}", json={"video_consent": False}, headers=admin
    )
    assert patched.status_code == 200 and patched.json()["video_consent"] is False
    async with sessionmaker() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.target_id == str(resident["id"]))
            )
        ).all()
    assert {"resident.create", "resident.update"} <= set(actions)


@pytest.mark.parametrize(
    "body",
    [
        {"label": "Flat", "timezone": "Mars/Olympus_Mons"},
        {"label": "Flat", "timezone": "../../etc/passwd"},
        {"label": "Flat", "timezone": "Asia/Seoul\x00"},
        {"label": "", "timezone": "Asia/Seoul"},
        {"label": "Flat", "timezone": "Asia/Seoul", "owner": "me"},
        {"label": "Flat", "timezone": None},
    ],
)
async def test_homes_refuse_bad_time_zones_and_fields(
    http: httpx.AsyncClient, home: HomeFixture, body: dict[str, object]
) -> None:
    response = await http.post(
        f"{API}/homes", json=body, headers=await _token(http, home.admin_email)
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


async def test_patch_refuses_null_for_required_fields(
    http: httpx.AsyncClient, home: HomeFixture
) -> None:
    admin = await _token(http, home.admin_email)
    response = await http.patch(f"{API}/homes/{home.home_id}", json={"label": None}, headers=admin)
    assert response.status_code == 422, response.text
    moved = await http.patch(
        f"{API}/homes/{home.home_id}", json={"timezone": "Europe/London"}, headers=admin
    )
    assert moved.status_code == 200 and moved.json()["timezone"] == "Europe/London"


async def test_who_reads_and_who_writes(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    other = await make_home(sessionmaker)  # another facility
    neighbour = await make_home(sessionmaker, facility_id=home.facility_id)
    staff, guardian = await _token(http, home.staff_email), await _token(http, home.guardian_email)
    reads = [
        f"{API}/residents/{home.resident_id}",
        f"{API}/homes/{home.home_id}",
        f"{API}/homes/{home.home_id}/rooms",
        f"{API}/homes/{home.home_id}/sensors",
        f"{API}/homes/{home.home_id}/robots",
        f"{API}/homes/{home.home_id}/hubs",
        f"{API}/sensors/{home.sensors['front-door']}",
        f"{API}/residents/{home.resident_id}/thresholds",
    ]
    for headers in (staff, guardian):
        for path in reads:
            assert (await http.get(path, headers=headers)).status_code == 200, path
    for email in (
        other.admin_email,
        other.staff_email,
        other.guardian_email,
        neighbour.staff_email,
    ):
        headers = await _token(http, email)
        for path in reads:
            response = await http.get(path, headers=headers)
            assert response.status_code == 404, (email, path, response.text)
    # Only admins change care data; another facility's admin gets "not found".
    writes: list[tuple[str, str, dict[str, object] | None]] = [
        ("PATCH", f"{API}/residents/{home.resident_id}", {"full_name": "X"}),
        ("PATCH", f"{API}/homes/{home.home_id}", {"label": "X"}),
        ("POST", f"{API}/homes/{home.home_id}/rooms", {"name": "Attic", "kind": "hall"}),
        ("POST", f"{API}/hubs/{home.hub_id}/sensors", {"key": "k-1", "kind": "door"}),
        ("DELETE", f"{API}/sensors/{home.sensors['front-door']}", None),
        ("PUT", f"{API}/residents/{home.resident_id}/thresholds/inactivity", {"params": {}}),
        ("DELETE", f"{API}/residents/{home.resident_id}", None),
    ]
    for headers, status in (
        (staff, 403),
        (guardian, 403),
        (await _token(http, other.admin_email), 404),
    ):
        for method, path, body in writes:
            response = await http.request(method, path, json=body, headers=headers)
            assert response.status_code == status, (method, path, response.text)
    facility = await http.get(
        f"{API}/facilities/{home.facility_id}", headers=await _token(http, other.admin_email)
    )
    assert facility.status_code == 404
    own = await http.get(
        f"{API}/facilities/{home.facility_id}", headers=await _token(http, home.admin_email)
    )
    assert own.status_code == 200 and own.json()["id"] == home.facility_id


async def test_hubs_of_a_home_show_their_presence(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    staff = await _token(http, home.staff_email)
    before = await http.get(f"{API}/homes/{home.home_id}/hubs", headers=staff)
    assert before.status_code == 200, before.text
    assert before.json() == [
        {"id": home.hub_id, "home_id": home.home_id, "online": False, "last_seen_at": None}
    ]
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE hubs SET online = true, last_seen_at = now() WHERE id = :h"),
            {"h": home.hub_id},
        )
    after = (await http.get(f"{API}/homes/{home.home_id}/hubs", headers=staff)).json()
    assert after[0]["online"] is True and after[0]["last_seen_at"] is not None


async def test_thresholds_are_validated_and_stored_for_inference(
    http: httpx.AsyncClient, home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin = await _token(http, home.admin_email)
    path = f"{API}/residents/{home.resident_id}/thresholds"
    listed = (await http.get(path, headers=admin)).json()
    bathroom = next(t for t in listed if t["rule"] == "long_bathroom_stay")
    assert bathroom["effective"] == {"max_minutes": 45}
    assert bathroom["parameters"]["max_minutes"]["maximum"] == 240

    ok = await http.put(
        f"{path}/long_bathroom_stay", json={"params": {"max_minutes": 30}}, headers=admin
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["overrides"] == {"max_minutes": 30}
    for rule, params in [
        ("long_bathroom_stay", {"max_minutes": 1}),  # below the range
        ("long_bathroom_stay", {"max_minute": 30}),  # unknown parameter
        ("night_exit", {"night_start_hour": 24}),
    ]:
        bad = await http.put(f"{path}/{rule}", json={"params": params}, headers=admin)
        assert bad.status_code == 422, bad.text
        assert bad.json()["error"]["code"] == "invalid_threshold"
    unknown = await http.put(f"{path}/sleepwalking", json={"params": {}}, headers=admin)
    assert unknown.status_code == 422
    async with sessionmaker() as session:
        stored = (
            await session.execute(
                text("SELECT rule, params FROM resident_rule_thresholds WHERE resident_id = :r"),
                {"r": home.resident_id},
            )
        ).all()
    assert [(r.rule, r.params) for r in stored] == [("long_bathroom_stay", {"max_minutes": 30})]
    reset = await http.delete(f"{path}/long_bathroom_stay", headers=admin)
    assert reset.status_code == 200 and reset.json()["overrides"] == {}


async def test_a_home_with_a_resident_cannot_be_removed(
    http: httpx.AsyncClient, home: HomeFixture
) -> None:
    admin = await _token(http, home.admin_email)
    response = await http.delete(f"{API}/homes/{home.home_id}", headers=admin)
    assert response.status_code == 409 and response.json()["error"]["code"] == "home_occupied"
    empty = await http.post(
        f"{API}/homes", json={"label": "Empty", "timezone": "UTC"}, headers=admin
    )
    gone = await http.delete(f"{API}/homes/{empty.json()['id']}", headers=admin)
    assert gone.status_code == 204
    assert (await http.get(f"{API}/homes/{empty.json()['id']}", headers=admin)).status_code == 404
