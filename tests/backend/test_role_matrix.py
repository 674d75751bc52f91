"""Every route of the app x every kind of caller: who may call it, and nothing leaks.

Routes are read from the app itself, so a new endpoint is covered the day it is added: it
must declare its callers (a `Callers` dependency such as CurrentUser/StaffUser/AdminUser,
or `PUBLIC`), its path parameters must be ones this test knows how to aim at objects the
caller may and may not see, and its body must either come from BODY_BUILDERS (a body that
names an object is built per request from the world, aimed like a path parameter) or from
its model's examples. The expectations below are written from the access rule of the issue,
not from sst_backend.access.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from sst_backend.app import create_fastapi
from sst_backend.auth.dependencies import Callers, Public
from sst_backend.broker.accounts import DeviceAccount, DeviceKind
from sst_backend.settings import BackendSettings
from sst_core.db.models import (
    Alert,
    DetectionState,
    EmergencyContact,
    EscalationPolicy,
    GuardianLink,
    Resident,
    Robot,
    RobotCommand,
    Room,
    Sensor,
    StaffAssignment,
    User,
    VideoRecording,
    VideoSession,
)
from sst_core.domain import Role, Severity
from sst_core.objects import LocalStore, recording_key
from sst_core.rule_checks import RuleCheck, check_details
from sst_core.thresholds import RuleName
from tests.broker_accounts import delete_device_accounts
from tests.conftest import MQTT_ADMIN, MQTT_HOST, MQTT_PORT, TEST_OBJECTS
from tests.factories import _HASH, PASSWORD, make_home

# Routes FastAPI adds for its own documentation, open to anyone and holding no care data.
FRAMEWORK_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# Mounts of static files (the built dashboard, when dashboard/dist exists): public, no care data.
STATIC_MOUNTS = {"dashboard"}
# Routes of per-resident care data the matrix must have called (a guard against a route
# that drops out of the app, or out of the matrix, unnoticed).
MUST_CHECK = {"/api/v1/residents/{resident_id}/rule-checks"}
CALLERS = ("admin", "charge_nurse", "staff", "guardian", "other_admin", "anonymous")
ROLE_OF = {
    "admin": Role.ADMIN,
    "charge_nurse": Role.STAFF,
    "staff": Role.STAFF,
    "guardian": Role.GUARDIAN,
    "other_admin": Role.ADMIN,
}


@dataclass
class Target:
    """An object a path parameter can point at, and which callers may see it."""

    value: int | str
    label: str
    seen_by: frozenset[str]
    place: str = ""  # "own", "unassigned" or "foreign": whose object it is


@dataclass
class World:
    """Two facilities: own resident, an unassigned one, another facility's; users to aim at."""

    emails: dict[str, str]
    targets: dict[str, list[Target]]
    sessionmaker: async_sessionmaker[AsyncSession]
    # Per place: the facility, resident, home and hub the place's objects belong to.
    facility_id: dict[str, int] = field(default_factory=dict)
    resident_id: dict[str, int] = field(default_factory=dict)
    home_id: dict[str, int] = field(default_factory=dict)
    hub_id: dict[str, int] = field(default_factory=dict)
    user_id: dict[str, int] = field(default_factory=dict)  # the callers' own user ids
    sees: dict[str, frozenset[str]] = field(default_factory=dict)  # place -> who sees it
    # What each caller must never find in any response: names, e-mails, resident ids.
    secret_texts: dict[str, set[str]] = field(default_factory=dict)
    secret_residents: dict[str, set[int]] = field(default_factory=dict)
    # Every device the matrix may give a broker login to; their logins are deleted at the end.
    devices: list[DeviceAccount] = field(default_factory=list)

    def new_serial(self, kind: DeviceKind) -> str:
        """A serial no device has yet, remembered so that its broker login is cleaned up."""
        serial = f"matrix-{kind.value}-{uuid.uuid4().hex[:12]}"
        self.devices.append(DeviceAccount(kind, serial))
        return serial


@dataclass(frozen=True)
class BodyBuilder:
    """A request body naming an object: built per request, aimed at each of `aims` targets."""

    aims: str  # the World.targets key of the object the body names
    build: Callable[[World, Target], dict[str, Any]]


# Bodies that name objects, by route path (or "METHOD path" where routes share a path): a
# static example would point nowhere (or always
# at the same object), so the body is built from the world, once per request, like a path.
BODY_BUILDERS = {
    "/api/v1/admin/hubs": BodyBuilder(
        "home_id",
        lambda world, home: {
            "home_id": home.value,
            "serial": world.new_serial(DeviceKind.HUB),
            "sensors": [{"key": "matrix-motion", "kind": "motion"}],
        },
    ),
    "/api/v1/admin/robots": BodyBuilder(
        "home_id",
        lambda world, home: {"home_id": home.value, "serial": world.new_serial(DeviceKind.ROBOT)},
    ),
    "POST /api/v1/residents": BodyBuilder(
        "home_id",
        lambda world, home: {"full_name": "Matrix Resident", "home_id": home.value},
    ),
    "PATCH /api/v1/residents/{resident_id}": BodyBuilder(
        "home_id", lambda world, home: {"home_id": home.value}
    ),
    "POST /api/v1/hubs/{hub_id}/sensors": BodyBuilder(
        "room_id",
        lambda world, room: {
            "key": f"matrix-{uuid.uuid4().hex[:8]}",
            "kind": "motion",
            "room_id": room.value,
        },
    ),
    "PATCH /api/v1/sensors/{sensor_id}": BodyBuilder(
        "room_id", lambda world, room: {"room_id": room.value}
    ),
}


async def _fresh_resident(world: World, place: str) -> int:
    """A new resident in the place's facility, assigned and linked like the place's one."""
    async with world.sessionmaker() as session, session.begin():
        resident = Resident(
            facility_id=world.facility_id[place], full_name=f"Fresh {uuid.uuid4().hex[:8]}"
        )
        session.add(resident)
        await session.flush()
        resident_id = resident.id
        if place == "own":
            session.add(StaffAssignment(staff_id=world.user_id["staff"], resident_id=resident_id))
            session.add(
                GuardianLink(guardian_id=world.user_id["guardian"], resident_id=resident_id)
            )
    for caller in CALLERS:
        if caller not in world.sees[place]:
            world.secret_residents[caller].add(resident_id)
    return resident_id


async def _add(world: World, row: Any) -> int:
    async with world.sessionmaker() as session, session.begin():
        session.add(row)
        await session.flush()
        return int(row.id)


async def _policy(world: World, facility_id: int, resident_id: int | None, severity: str) -> None:
    """Make sure the policy a DELETE aims at exists (an earlier caller may have deleted it)."""
    async with world.sessionmaker() as session, session.begin():
        exists = await session.scalar(
            text(
                "SELECT 1 FROM escalation_policies WHERE facility_id = :f"
                " AND resident_id IS NOT DISTINCT FROM :r AND severity = :s"
            ),
            {"f": facility_id, "r": resident_id, "s": severity},
        )
        if exists is None:
            session.add(
                EscalationPolicy(
                    facility_id=facility_id,
                    resident_id=resident_id,
                    severity=severity,
                    steps=[{"target": "assigned_staff", "delay_s": 0}],
                )
            )


def _caller_place(caller: str) -> str:
    return "foreign" if caller == "other_admin" else "own"


async def _before_delete_facility_policy(
    world: World, caller: str, aimed: dict[str, Target]
) -> dict[str, Any]:
    severity = str(aimed["severity"].value)
    await _policy(world, world.facility_id[_caller_place(caller)], None, severity)
    return {}


async def _before_delete_resident_policy(
    world: World, caller: str, aimed: dict[str, Target]
) -> dict[str, Any]:
    place = aimed["resident_id"].place
    resident = int(aimed["resident_id"].value)
    await _policy(world, world.facility_id[place], resident, str(aimed["severity"].value))
    return {}


async def _before_delete_contact(
    world: World, caller: str, aimed: dict[str, Target]
) -> dict[str, Any]:
    place = aimed["contact_id"].place
    contact = EmergencyContact(
        resident_id=world.resident_id[place], full_name=f"Contact {place}", phone="+82 10 0000 0000"
    )
    return {"contact_id": await _add(world, contact)}


async def _before_delete_room(
    world: World, caller: str, aimed: dict[str, Target]
) -> dict[str, Any]:
    place = aimed["room_id"].place
    room = Room(home_id=world.home_id[place], name=f"Room {uuid.uuid4().hex[:8]}", kind="bedroom")
    return {"room_id": await _add(world, room)}


async def _before_delete_sensor(
    world: World, caller: str, aimed: dict[str, Target]
) -> dict[str, Any]:
    place = aimed["sensor_id"].place
    key = f"matrix-{uuid.uuid4().hex[:8]}"
    sensor = Sensor(hub_id=world.hub_id[place], key=key, kind="motion")
    return {"sensor_id": await _add(world, sensor)}


async def _before_delete_robot(
    world: World, caller: str, aimed: dict[str, Target]
) -> dict[str, Any]:
    place = aimed["robot_id"].place
    robot = Robot(home_id=world.home_id[place], serial=world.new_serial(DeviceKind.ROBOT))
    return {"robot_id": await _add(world, robot)}


async def _before_erasure(world: World, caller: str, aimed: dict[str, Target]) -> dict[str, Any]:
    return {"resident_id": await _fresh_resident(world, aimed["resident_id"].place)}


# Requests that destroy the object they aim at: each one gets a fresh (or re-made) object
# in the aimed target's place, so that the callers after it still find something to aim at.
BEFORE: dict[
    tuple[str, str], Callable[[World, str, dict[str, Target]], Awaitable[dict[str, Any]]]
] = {
    ("DELETE", "/api/v1/escalation-policies/{severity}"): _before_delete_facility_policy,
    (
        "DELETE",
        "/api/v1/residents/{resident_id}/escalation-policies/{severity}",
    ): _before_delete_resident_policy,
    (
        "DELETE",
        "/api/v1/residents/{resident_id}/emergency-contacts/{contact_id}",
    ): _before_delete_contact,
    ("DELETE", "/api/v1/rooms/{room_id}"): _before_delete_room,
    ("DELETE", "/api/v1/sensors/{sensor_id}"): _before_delete_sensor,
    ("DELETE", "/api/v1/robots/{robot_id}"): _before_delete_robot,
    ("DELETE", "/api/v1/residents/{resident_id}"): _before_erasure,
}


# Objects that only exist under another one named in the same request: an emergency contact
# under its resident, a room under the home of the hub or sensor. Aimed at a parent of
# another place, the child is not there, so the answer must be 404 whoever asks.
SAME_PLACE = (
    ("resident_id", "contact_id"),
    ("hub_id", "room_id"),
    ("sensor_id", "room_id"),
    ("robot_id", "command_id"),
    ("resident_id", "recording_id"),
)


def _declared_callers(route: APIRoute) -> tuple[bool, frozenset[str] | None]:
    """(public?, callers allowed) from the route's dependency tree; callers None if undeclared."""
    public, allowed = False, None
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        call = dependant.call
        if isinstance(call, Public):
            public = True
        if isinstance(call, Callers):
            these = frozenset(
                caller
                for caller, role in ROLE_OF.items()
                if role in call.roles or (caller == "charge_nurse" and call.charge_nurses)
            )
            allowed = these if allowed is None else allowed & these
        stack.extend(dependant.dependencies)
    return public, allowed


def _params(route: APIRoute) -> tuple[list[Any], list[Any]]:
    """Path and query parameters of the route and all its dependencies."""
    path: list[Any] = []
    query: list[Any] = []
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        path += dependant.path_params
        query += dependant.query_params
        stack.extend(dependant.dependencies)
    return path, query


def _example_body(route: APIRoute) -> dict[str, Any] | None:
    if route.body_field is None:
        return None
    model = route.body_field.field_info.annotation
    assert isinstance(model, type) and issubclass(model, BaseModel), route.path
    schema = model.model_json_schema()
    names_objects = [n for n in schema.get("properties", {}) if n.endswith(("_id", "_ids"))]
    assert not names_objects, (
        f"{route.path}: {model.__name__}.{names_objects} names objects; add a BODY_BUILDERS entry"
    )
    if schema.get("examples"):
        return dict(schema["examples"][0])
    body: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if prop.get("examples"):
            body[name] = prop["examples"][0]
        else:
            assert name not in schema.get("required", []), (
                f"{route.path}: give {model.__name__}.{name} an example (or the model one)"
            )
    return body


def _resident_ids_in(value: Any) -> set[int]:
    found: set[int] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "resident_id" and isinstance(item, int):
                found.add(item)
            elif key == "resident_ids" and isinstance(item, list):
                found.update(i for i in item if isinstance(i, int))
            else:
                found |= _resident_ids_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= _resident_ids_in(item)
    return found


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[World]:
    own = await make_home(sessionmaker)  # resident 1: assigned to staff, linked to guardian
    unassigned = await make_home(sessionmaker, facility_id=own.facility_id)
    foreign = await make_home(sessionmaker)
    tag = uuid.uuid4().hex[:8]
    async with sessionmaker() as session, session.begin():
        charge = User(
            facility_id=own.facility_id,
            email=f"charge-{tag}@example.test",
            full_name=f"Charge {tag}",
            role="staff",
            is_charge_nurse=True,
            password_hash=_HASH,
        )
        session.add(charge)
        robots = {}
        for name, home in (("own", own), ("unassigned", unassigned), ("foreign", foreign)):
            robot = Robot(
                home_id=home.home_id, serial=f"matrix-robot-{tag}-{name}", capabilities=[]
            )
            session.add(robot)
            await session.flush()
            robots[name] = (robot.id, robot.serial)
        commands = {}
        for name, (robot_id, _) in robots.items():
            command = RobotCommand(
                robot_id=robot_id,
                command="return_to_dock",
                args={},
                state="queued",
                attempts=0,
                expires_at=datetime.now(UTC),
            )
            session.add(command)
            await session.flush()
            commands[name] = command.id
        now = datetime.now(UTC)
        alerts = {}
        for name, home in (("own", own), ("unassigned", unassigned), ("foreign", foreign)):
            alert = Alert(
                resident_id=home.resident_id,
                kind="fall",
                severity="critical",
                state="open",
                title="Fall detected",
                explanation="Fall detected in the Bathroom.",
                count=1,
                opened_at=now,
                last_seen_at=now,
            )
            session.add(alert)
            await session.flush()
            alerts[name] = alert.id
            # What the windowed rules last decided (GET .../rule-checks): one cannot tell.
            unknown = RuleCheck.model_validate(
                {
                    "verdict": "unknown",
                    "reason": {"key": "unknown.hub_offline", "params": {}},
                    "decided_at": now,
                }
            )
            session.add(
                DetectionState(
                    resident_id=home.resident_id,
                    kind="no_wake_up",
                    active=False,
                    details=check_details(unknown),
                )
            )
        recordings = {}
        for name, home in (("own", own), ("unassigned", unassigned), ("foreign", foreign)):
            call = VideoSession(
                id=uuid.uuid4().hex,
                resident_id=home.resident_id,
                hub_id=home.hub_id,
                hub_serial=home.hub_serial,
                basis="alert",
                state="ended",
                connect_by=now,
                expires_at=now,
                recorded=True,
            )
            session.add(call)
            await session.flush()
            key = recording_key(home.resident_id, call.id)
            recording = VideoRecording(
                session_id=call.id,
                resident_id=home.resident_id,
                state="stored",
                object_key=key,
                content_type="video/mp4",
                size_bytes=4,
                delete_after=now + timedelta(days=1),
            )
            session.add(recording)
            await session.flush()
            recordings[name] = recording.id
            LocalStore(TEST_OBJECTS).put(key, b"film")  # the `http` backend's local store
        contacts = {}
        for name, home in (("own", own), ("unassigned", unassigned), ("foreign", foreign)):
            contact = EmergencyContact(
                resident_id=home.resident_id,
                full_name=f"Contact {tag} {name}",
                phone="+82 10 0000 0000",
            )
            session.add(contact)
            await session.flush()
            contacts[name] = contact.id
        rooms = {}
        for name, home in (("own", own), ("unassigned", unassigned), ("foreign", foreign)):
            rooms[name] = (
                await session.execute(
                    text("SELECT min(id) FROM rooms WHERE home_id = :h"), {"h": home.home_id}
                )
            ).scalar_one()
        resident_names = {}
        for name, home in (("own", own), ("unassigned", unassigned), ("foreign", foreign)):
            resident_names[name] = (
                await session.execute(
                    text("SELECT full_name FROM residents WHERE id = :i"), {"i": home.resident_id}
                )
            ).scalar_one()

    sees = {
        "own": frozenset({"admin", "charge_nurse", "staff", "guardian"}),
        "unassigned": frozenset({"admin", "charge_nurse"}),
        "foreign": frozenset({"other_admin"}),
    }
    resident_id = {"own": own.resident_id, "unassigned": unassigned.resident_id}
    resident_id["foreign"] = foreign.resident_id
    home_id = {"own": own.home_id, "unassigned": unassigned.home_id, "foreign": foreign.home_id}
    # Devices are only an admin's business, within the admin's own facility.
    hubs = {
        "own": (own.hub_id, own.hub_serial, frozenset({"admin"})),
        "unassigned": (unassigned.hub_id, unassigned.hub_serial, frozenset({"admin"})),
        "foreign": (foreign.hub_id, foreign.hub_serial, frozenset({"other_admin"})),
    }
    # A robot is read like its home (care_access: whoever sees the resident sees the devices);
    # its broker credentials are an admin's business (the /admin routes declare AdminUser).
    serial_seen_by = {serial: who for _, serial, who in hubs.values()}
    serial_seen_by |= {robots[n][1]: sees[n] for n in robots}
    # Users to aim admin routes at; none of them is a caller, so changing them is harmless.
    user_targets = [
        ("A staff", unassigned.staff_email, frozenset({"admin"})),
        ("A guardian", unassigned.guardian_email, frozenset({"admin"})),
        ("B staff", foreign.staff_email, frozenset({"other_admin"})),
    ]
    async with sessionmaker() as session:
        user_ids = {
            email: (
                await session.execute(text("SELECT id FROM users WHERE email = :e"), {"e": email})
            ).scalar_one()
            for _, email, _ in user_targets
        }
        caller_ids = {
            caller: (
                await session.execute(text("SELECT id FROM users WHERE email = :e"), {"e": email})
            ).scalar_one()
            for caller, email in (
                ("staff", own.staff_email),
                ("guardian", own.guardian_email),
            )
        }
    everyone = frozenset(CALLERS) - {"anonymous"}
    own_facility = everyone - {"other_admin"}
    world = World(
        emails={
            "admin": own.admin_email,
            "charge_nurse": f"charge-{tag}@example.test",
            "staff": own.staff_email,
            "guardian": own.guardian_email,
            "other_admin": foreign.admin_email,
        },
        targets={
            "resident_id": [Target(resident_id[n], f"{n} resident", sees[n], n) for n in sees],
            "alert_id": [Target(alerts[n], f"{n} resident's alert", sees[n], n) for n in sees],
            "user_id": [Target(user_ids[e], label, who) for label, e, who in user_targets],
            "home_id": [Target(home_id[n], f"{n} resident's home", sees[n], n) for n in sees],
            "hub_id": [Target(i, f"{n} resident's hub", who, n) for n, (i, _, who) in hubs.items()],
            "robot_id": [Target(robots[n][0], f"{n} resident's robot", sees[n], n) for n in sees],
            "room_id": [Target(rooms[n], f"{n} resident's room", sees[n], n) for n in sees],
            "command_id": [
                Target(commands[n], f"{n} resident's robot's command", sees[n], n) for n in sees
            ],
            "sensor_id": [
                Target(min(h.sensors.values()), f"{n} resident's sensor", sees[n], n)
                for n, h in (("own", own), ("unassigned", unassigned), ("foreign", foreign))
            ],
            "contact_id": [
                Target(contacts[n], f"{n} resident's emergency contact", sees[n], n) for n in sees
            ],
            "recording_id": [
                Target(recordings[n], f"{n} resident's video recording", sees[n], n) for n in sees
            ],
            "facility_id": [
                Target(own.facility_id, "own facility", own_facility, "own"),
                Target(
                    foreign.facility_id, "other facility", frozenset({"other_admin"}), "foreign"
                ),
            ],
            # Policies and thresholds of a severity/rule belong to the caller's own facility
            # (or to the resident in the path), so every value is one the caller may aim at.
            "severity": [Target(str(v), f"severity {v}", everyone) for v in Severity],
            "rule": [Target(str(RuleName.INACTIVITY), "inactivity rule", everyone)],
            # Staff whose duty one sets: a plain member of staff may only set their own.
            "staff_id": [
                Target(
                    user_ids[unassigned.staff_email],
                    "A staff",
                    frozenset({"admin", "charge_nurse"}),
                ),
                Target(user_ids[unassigned.guardian_email], "A guardian (not staff)", frozenset()),
                Target(user_ids[foreign.staff_email], "B staff", frozenset({"other_admin"})),
            ],
        },
        sessionmaker=sessionmaker,
        facility_id={"own": own.facility_id, "unassigned": own.facility_id},
        resident_id=resident_id,
        home_id=home_id,
        hub_id={"own": own.hub_id, "unassigned": unassigned.hub_id, "foreign": foreign.hub_id},
        user_id=caller_ids,
        sees=dict(sees),
        devices=[DeviceAccount(DeviceKind.HUB, serial) for _, serial, _ in hubs.values()]
        + [DeviceAccount(DeviceKind.ROBOT, serial) for _, serial in robots.values()],
    )
    world.facility_id["foreign"] = foreign.facility_id
    for caller in CALLERS:
        hidden = [n for n in sees if caller not in sees[n]]
        world.secret_residents[caller] = {resident_id[n] for n in hidden}
        world.secret_texts[caller] = (
            {resident_names[n] for n in hidden}
            | {e for _, e, who in user_targets if caller not in who}
            | {serial for serial, who in serial_seen_by.items() if caller not in who}
            | {f"Contact {tag} {n}" for n in hidden}
        )
    yield world
    # The matrix rotates and provisions real broker logins: none may outlive the test.
    left = await delete_device_accounts(MQTT_HOST, MQTT_PORT, MQTT_ADMIN, world.devices)
    assert not left, f"broker logins left behind: {left}"


@dataclass(frozen=True)
class Declared:
    """A route as served: its full path, methods, and the route object that handles it."""

    path: str
    methods: frozenset[str]
    route: BaseRoute


def _served_routes() -> list[Declared]:
    settings = BackendSettings(jwt_secret=SecretStr("x" * 32), dashboard_dir=None)
    return [
        Declared(str(c.path), frozenset(c.methods or ()), c.original_route)
        for c in iter_route_contexts(create_fastapi(settings).routes)
    ]


def test_every_route_declares_its_callers() -> None:
    undeclared = []
    for served in _served_routes():
        if isinstance(served.route, APIRoute):
            public, roles = _declared_callers(served.route)
            if public == (roles is not None):  # neither, or both at once
                undeclared.append(f"{sorted(served.methods)} {served.path}")
        elif isinstance(served.route, Mount):
            mount = served.route
            assert mount.name in STATIC_MOUNTS, f"{mount.name!r} at {served.path!r}: what is this?"
            assert isinstance(mount.app, StaticFiles), f"{mount.name}: static files only"
        else:
            assert isinstance(served.route, Route), served
            assert served.path in FRAMEWORK_ROUTES, f"{served.path}: what is this route?"
    assert not undeclared, f"routes without (or with contradictory) callers: {undeclared}"


async def _token(http: httpx.AsyncClient, world: World, caller: str) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    response = await http.post(
        "/api/v1/auth/login",
        json={"email": world.emails[caller], "password": PASSWORD},
        # One address per caller: the matrix's failed attempts stay out of other tests' way.
        headers={"X-Forwarded-For": f"192.0.2.{CALLERS.index(caller) + 10}"},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_role_matrix_has_no_leak(http: httpx.AsyncClient, world: World) -> None:
    problems: list[str] = []
    checked = 0
    # A token is reused after a GET; any other call may have ended the session (logout,
    # password change), so the next request logs in again.
    tokens: dict[str, dict[str, str]] = {}
    called: set[str] = set()
    for served in _served_routes():
        route = served.route
        if not isinstance(route, APIRoute):
            continue
        public, allowed = _declared_callers(route)
        path_params, query_params = _params(route)
        params = list(dict.fromkeys(p.name for p in path_params))
        unknown = [p for p in params if p not in world.targets]
        assert not unknown, f"{served.path}: teach this test to aim {unknown} (World.targets)"
        required_query = [q.name for q in query_params if q.field_info.is_required()]
        assert not required_query, f"{served.path}: required query {required_query} needs a value"
        keys = [f"{m} {served.path}" for m in sorted(served.methods)] + [served.path]
        builder = next((BODY_BUILDERS[k] for k in keys if k in BODY_BUILDERS), None)
        example = None if builder is not None else _example_body(route)
        assert builder is None or route.body_field is not None, f"{served.path}: takes no body"
        aims = params + ([builder.aims] if builder is not None else [])
        choices = [world.targets[p] for p in aims]
        for method in sorted(served.methods):
            for caller, aimed in itertools.product(CALLERS, itertools.product(*choices)):
                values = {p: t.value for p, t in zip(params, aimed[: len(params)], strict=True)}
                before = BEFORE.get((method, served.path))
                if before is not None:
                    named = dict(zip(params, aimed[: len(params)], strict=True))
                    values |= await before(world, caller, named)
                path = served.path.format(**values)
                body = example if builder is None else builder.build(world, aimed[-1])
                if caller not in tokens:
                    tokens[caller] = await _token(http, world, caller)
                headers = {
                    **tokens[caller],
                    "X-Forwarded-For": f"192.0.2.{CALLERS.index(caller) + 10}",
                }
                response = await http.request(method, path, json=body, headers=headers)
                checked += 1
                called.add(served.path)
                if method != "GET":
                    tokens.pop(caller, None)
                where = f"{caller} {method} {path} ({', '.join(t.label for t in aimed)})"
                status = response.status_code
                if status >= 500:
                    problems.append(f"{where}: server error {status}")
                    continue
                if not public:
                    assert allowed is not None
                    if caller == "anonymous":
                        if status != 401:
                            problems.append(f"{where}: {status}, expected 401")
                        continue
                    if caller not in allowed:
                        if status != 403:
                            problems.append(f"{where}: {status}, expected 403")
                        continue
                    hidden = [t.label for t in aimed if caller not in t.seen_by]
                    by_name = dict(zip(aims, aimed, strict=True))
                    hidden += [
                        f"{by_name[child].label} not under the {by_name[parent].label}"
                        for parent, child in SAME_PLACE
                        if parent in by_name
                        and child in by_name
                        and by_name[parent].place != by_name[child].place
                    ]
                    if hidden and status != 404:
                        problems.append(f"{where}: {status} for {hidden}, expected 404")
                        continue
                    if not hidden and status in (401, 403, 404):
                        problems.append(f"{where}: refused ({status}) what it may see")
                        continue
                text = response.text
                leaked = [s for s in world.secret_texts[caller] if s in text]
                try:
                    ids = _resident_ids_in(response.json()) if text else set()
                except json.JSONDecodeError:
                    ids = set()
                leaked += [f"resident {i}" for i in ids & world.secret_residents[caller]]
                if leaked:
                    problems.append(f"{where}: leaks {leaked}")
    print(f"role matrix: {checked} requests")
    assert checked > 100
    assert called >= MUST_CHECK, f"not called: {MUST_CHECK - called}"
    assert not problems, "\n".join(problems)
