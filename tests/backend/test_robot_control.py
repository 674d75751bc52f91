"""Robot control: commands validated, audited and queued; progress streamed to the dashboard.

The end-to-end tests run the real path: API -> robot_commands row + stream -> the gateway's
robot relay -> Mosquitto -> the reference robot agent -> acks/progress/status -> the
robot-events stream -> the backend's relay -> the Socket.IO client.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.realtime.events import FEED_ERROR_EVENT, ROBOT_COMMAND_EVENT, ROBOT_STATUS_EVENT
from sst_core.const import ROBOT_COMMANDS_STREAM
from sst_core.db.models import Robot
from sst_core.robot_messages import decode_command_entry
from sst_hub_gateway.service import Gateway
from tests.backend.conftest import login
from tests.backend.live import LiveClient
from tests.devices.conftest import starting_robots
from tests.factories import HomeFixture, make_home
from tests.hub_gateway.conftest import gateway_settings
from tests.hub_gateway.helpers import running

ALL = ["move", "check", "speak", "dock"]


async def _robot(
    sessionmaker: async_sessionmaker[AsyncSession], home: HomeFixture, capabilities: list[str]
) -> tuple[int, str]:
    serial = f"robot-{uuid.uuid4().hex[:10]}"
    async with sessionmaker() as session, session.begin():
        robot = Robot(home_id=home.home_id, serial=serial, capabilities=capabilities)
        session.add(robot)
        await session.flush()
        return robot.id, serial


async def _headers(http: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await login(http, email, password)}"}


async def test_commands_are_validated_audited_and_queued(
    backend_url: str,
    http: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    clients: list[LiveClient],
) -> None:
    robot_id, serial = await _robot(sessionmaker, home, ALL)
    speaker_id, _ = await _robot(sessionmaker, home, ["speak"])
    foreign = await make_home(sessionmaker)
    foreign_robot, _ = await _robot(sessionmaker, foreign, ALL)
    staff = await _headers(http, home.staff_email, home.password)
    live = await LiveClient().connect(backend_url, token=staff["Authorization"][7:])
    clients.append(live)
    url = f"/api/v1/robots/{robot_id}/commands"

    created = await http.post(
        url, json={"command": "move_to", "args": {"room": "Kitchen"}}, headers=staff
    )
    assert created.status_code == 202, created.text
    command = created.json()
    assert (command["state"], command["args"], command["attempts"]) == (
        "queued",
        {"room": "Kitchen"},
        0,
    )
    event = await live.first(ROBOT_COMMAND_EVENT, command_id=command["id"])
    assert (event["state"], event["robot_serial"], event["resident_id"]) == (
        "queued",
        serial,
        home.resident_id,
    )
    entries = await redis.xrange(ROBOT_COMMANDS_STREAM) or []
    assert command["id"] in [decode_command_entry(f or {}) for _, f in entries]
    async with sessionmaker() as session:
        audit = (
            await session.execute(
                text(
                    "SELECT action, details FROM audit_log WHERE target_type = 'robot'"
                    " AND target_id = :r ORDER BY id DESC LIMIT 1"
                ),
                {"r": str(robot_id)},
            )
        ).one()
    assert audit.action == "robot.command" and audit.details["command_id"] == command["id"]

    listed = await http.get(url, headers=staff)
    assert listed.json()[0]["id"] == command["id"]
    one = await http.get(f"{url}/{command['id']}", headers=staff)
    assert one.json()["command"] == "move_to"

    refused = [
        (url, {"command": "move_to", "args": {"room": "Garage"}}, 422, "unknown_room"),
        (url, {"command": "move_to", "args": {}}, 422, "invalid_request"),
        (url, {"command": "speak", "args": {"text": "x" * 501}}, 422, "invalid_request"),
        (url, {"command": "fly", "args": {}}, 422, "invalid_request"),
        (url, {"command": "stop", "args": {"command_id": 2**40}}, 422, "unknown_command"),
        (url, {"command": "stop", "expires_in_s": 1}, 422, "invalid_request"),
        (
            f"/api/v1/robots/{speaker_id}/commands",
            {"command": "check_on_resident", "args": {"room": "Bathroom"}},
            422,
            "unsupported_command",
        ),
        (f"/api/v1/robots/{foreign_robot}/commands", {"command": "stop"}, 404, "not_found"),
    ]
    for path, body, status, code in refused:
        response = await http.post(path, json=body, headers=staff)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["code"] == code, (body, response.text)
    # Stop is always allowed, whatever the robot declares.
    stop = await http.post(
        f"/api/v1/robots/{speaker_id}/commands", json={"command": "stop"}, headers=staff
    )
    assert stop.status_code == 202
    guardian = await _headers(http, home.guardian_email, home.password)
    assert (await http.post(url, json={"command": "stop"}, headers=guardian)).status_code == 403
    outsider = await _headers(http, foreign.admin_email, home.password)
    assert (await http.post(url, json={"command": "stop"}, headers=outsider)).status_code == 404
    async with sessionmaker() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM robot_commands WHERE robot_id IN (:a, :b, :c)"),
            {"a": robot_id, "b": speaker_id, "c": foreign_robot},
        )
    assert count == 2, "refused commands leave no row behind"


async def test_socket_action_commands_a_robot_and_refuses_another_facilitys(
    backend_url: str,
    http: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    clients: list[LiveClient],
) -> None:
    robot_id, _ = await _robot(sessionmaker, home, ALL)
    foreign = await make_home(sessionmaker)
    foreign_robot, _ = await _robot(sessionmaker, foreign, ALL)
    live = await LiveClient().connect(
        backend_url, token=await login(http, home.staff_email, home.password)
    )
    clients.append(live)
    ack = await live.call(
        "robot_command",
        {"robot_id": robot_id, "body": {"command": "speak", "args": {"text": "Hello"}}},
    )
    assert ack["ok"] is True and ack["command"]["state"] == "queued"
    await live.first(ROBOT_COMMAND_EVENT, command_id=ack["command"]["id"])

    for data, code in [
        ({"robot_id": foreign_robot, "body": {"command": "stop"}}, "not_found"),
        (
            {"robot_id": robot_id, "body": {"command": "move_to", "args": {"room": "Moon"}}},
            "unknown_room",
        ),
        ({"robot_id": "seven", "body": {"command": "stop"}}, "bad_request"),
        ({"robot_id": robot_id}, "bad_request"),
        ("stop everything", "bad_request"),
        ({"robot_id": robot_id, "body": {"command": "stop"}, "token": "forged"}, "unauthorized"),
    ]:
        errors = len(live.of(FEED_ERROR_EVENT))
        ack = await live.call("robot_command", data)
        assert ack["ok"] is False and ack["error"]["code"] == code, (data, ack)
        await live.wait_for(lambda _, n=errors: len(live.of(FEED_ERROR_EVENT)) > n)  # type: ignore[misc]
    guardian = await LiveClient().connect(
        backend_url, token=await login(http, home.guardian_email, home.password)
    )
    clients.append(guardian)
    ack = await guardian.call("robot_command", {"robot_id": robot_id, "body": {"command": "stop"}})
    assert ack["error"]["code"] == "forbidden"
    async with sessionmaker() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM robot_commands WHERE robot_id IN (:a, :b)"),
            {"a": robot_id, "b": foreign_robot},
        )
    assert count == 1


@pytest.fixture
async def gateway(database_url: str, redis: Redis) -> AsyncIterator[Gateway]:
    """The gateway with its robot relay (sweep every 0.2 s)."""
    gw = Gateway(gateway_settings(robot_sweep_interval_s=0.2))
    async with running(gw):
        yield gw


@pytest.fixture
def robot_agents() -> Iterator[Any]:
    with starting_robots() as start:
        yield start


async def test_progress_position_and_failures_stream_live(
    backend_url: str,
    http: httpx.AsyncClient,
    home: HomeFixture,
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway: Gateway,
    robot_agents: Any,
    clients: list[LiveClient],
) -> None:
    robot_id, serial = await _robot(sessionmaker, home, ALL)
    token = await login(http, home.staff_email, home.password)
    live = await LiveClient().connect(backend_url, token=token)
    clients.append(live)
    agent = await robot_agents(serial, seconds_per_room=0.2)
    await live.first(ROBOT_STATUS_EVENT, robot_id=robot_id, state="docked", within=15)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/robots/{robot_id}/commands"

    move = await http.post(
        url, json={"command": "move_to", "args": {"room": "Kitchen"}}, headers=headers
    )
    assert move.status_code == 202
    move_id = move.json()["id"]
    await live.first(ROBOT_COMMAND_EVENT, command_id=move_id, state="succeeded", within=20)
    states = [d["state"] for d in live.of(ROBOT_COMMAND_EVENT) if d["command_id"] == move_id]
    assert states == ["queued", "sent", "acknowledged", "running", "succeeded"]
    positions = [d["position"] for d in live.of(ROBOT_STATUS_EVENT) if d["robot_id"] == robot_id]
    assert "Living room" in positions and positions[-1] == "Kitchen"
    assert all(isinstance(d["event_id"], int) for d in live.of(ROBOT_STATUS_EVENT))

    agent.blocked.add("Bedroom")  # a closed door on the way
    check = await http.post(
        url, json={"command": "check_on_resident", "args": {"room": "Bathroom"}}, headers=headers
    )
    failed = await live.first(
        ROBOT_COMMAND_EVENT, command_id=check.json()["id"], state="failed", within=20
    )
    assert "blocked" in failed["detail"] and "Bedroom" in failed["detail"]

    agent.blocked.clear()
    agent.seconds_per_room = 1.0
    trip = await http.post(
        url, json={"command": "move_to", "args": {"room": "Bathroom"}}, headers=headers
    )
    await live.first(ROBOT_COMMAND_EVENT, command_id=trip.json()["id"], state="running", within=20)
    stop = await http.post(url, json={"command": "stop"}, headers=headers)
    stopped = await live.first(
        ROBOT_COMMAND_EVENT, command_id=trip.json()["id"], state="failed", within=20
    )
    assert "stopped by staff" in stopped["detail"]
    await live.first(
        ROBOT_COMMAND_EVENT, command_id=stop.json()["id"], state="succeeded", within=20
    )

    agent.battery = 16.0  # one room's drain above the reserve: the bathroom is too far
    low = await http.post(
        url, json={"command": "move_to", "args": {"room": "Bathroom"}}, headers=headers
    )
    refused = await live.first(
        ROBOT_COMMAND_EVENT, command_id=low.json()["id"], state="failed", within=20
    )
    assert "battery too low" in refused["detail"]
