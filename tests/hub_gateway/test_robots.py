"""The robot relay end to end: a command row + stream entry (as the backend queues it) ->
gateway -> Mosquitto -> the reference robot -> acks, progress, status -> PostgreSQL and
the robot-events stream.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_core.const import ROBOT_COMMANDS_STREAM, ROBOT_EVENTS_STREAM, robot_topic
from sst_core.db.models import Robot
from sst_core.localized import render
from sst_core.robot_messages import (
    RobotCommandEvent,
    RobotStatusEvent,
    decode_robot_event,
    encode_command_entry,
)
from sst_core.texts import Text
from sst_hub_gateway.service import Gateway
from tests.devices.conftest import clear_retained, starting_robots
from tests.factories import HomeFixture
from tests.hub_gateway.conftest import dead_letters, gateway_settings
from tests.hub_gateway.helpers import HubPublisher, eventually, now_ms, running


@pytest.fixture(scope="module")
async def gateway(database_url: str, redis: Redis) -> AsyncIterator[Gateway]:
    """A gateway whose robot sweep runs every 0.2 s."""
    gw = Gateway(gateway_settings(robot_sweep_interval_s=0.2))
    async with running(gw):
        yield gw


@pytest.fixture
async def robot_serial(
    home: HomeFixture, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[str]:
    """A robot registered in the home (never seen yet: offline)."""
    serial = f"robot-{uuid.uuid4().hex[:10]}"
    async with sessionmaker() as session, session.begin():
        session.add(Robot(home_id=home.home_id, serial=serial, capabilities=["move", "speak"]))
    yield serial
    clear_retained(robot_topic(serial, "status"))


@pytest.fixture
def robots() -> Iterator[Any]:
    """Start reference robots (fast ones); all are disconnected after the test."""
    with starting_robots(seconds_per_room=0.1) as start:
        yield start


async def queue_command(
    engine: AsyncEngine,
    redis: Redis,
    serial: str,
    command: str,
    args: dict[str, Any] | None = None,
    *,
    expires_in_s: float = 60,
) -> int:
    """What the backend does: a queued row, committed, then its id on the stream."""
    async with engine.begin() as conn:
        robot_id = await conn.scalar(text("SELECT id FROM robots WHERE serial = :s"), {"s": serial})
        command_id = await conn.scalar(
            text(
                "INSERT INTO robot_commands (robot_id, command, args, state, attempts, expires_at)"
                " VALUES (:r, :c, CAST(:a AS jsonb), 'queued', 0, :e) RETURNING id"
            ),
            {
                "r": robot_id,
                "c": command,
                "a": orjson.dumps(args or {}).decode(),
                "e": datetime.now(UTC) + timedelta(seconds=expires_in_s),
            },
        )
    await redis.xadd(ROBOT_COMMANDS_STREAM, encode_command_entry(command_id))
    return int(command_id)


async def command_row(engine: AsyncEngine, command_id: int) -> Any:
    async with engine.connect() as conn:
        return (
            (
                await conn.execute(
                    text("SELECT * FROM robot_commands WHERE id = :id"), {"id": command_id}
                )
            )
            .mappings()
            .one()
        )


async def robot_row(engine: AsyncEngine, serial: str) -> Any:
    async with engine.connect() as conn:
        return (
            (await conn.execute(text("SELECT * FROM robots WHERE serial = :s"), {"s": serial}))
            .mappings()
            .one()
        )


async def lifecycle(redis: Redis, command_id: int) -> list[str]:
    """States of one command as announced on the robot-events stream, in order."""
    entries = await redis.xrange(ROBOT_EVENTS_STREAM) or []
    events = [decode_robot_event(fields) for _, fields in entries if fields]
    return [
        e.state.value
        for e in events
        if isinstance(e, RobotCommandEvent) and e.command_id == command_id
    ]


async def detail_texts(redis: Redis, command_id: int) -> list[dict[str, Any] | None]:
    """The detail texts of one command's announced changes, in order."""
    entries = await redis.xrange(ROBOT_EVENTS_STREAM) or []
    events = [decode_robot_event(fields) for _, fields in entries if fields]
    return [
        e.detail_text.model_dump(mode="json") if e.detail_text else None
        for e in events
        if isinstance(e, RobotCommandEvent) and e.command_id == command_id
    ]


async def final(engine: AsyncEngine, command_id: int, within: float = 15) -> Any:
    """Wait until a command reaches a final state; its row."""

    async def done() -> bool:
        row = await command_row(engine, command_id)
        return row["state"] in ("succeeded", "failed", "expired")

    await eventually(done, within=within)
    return await command_row(engine, command_id)


async def test_command_lifecycle_end_to_end(
    gateway: Gateway, robot_serial: str, robots: Any, engine: AsyncEngine, redis: Redis
) -> None:
    await robots(robot_serial)

    async def online() -> bool:
        return (await robot_row(engine, robot_serial))["state"] == "docked"

    await eventually(online)
    command_id = await queue_command(engine, redis, robot_serial, "move_to", {"room": "Kitchen"})
    row = await final(engine, command_id)
    assert (row["state"], row["attempts"], row["detail"]) == (
        "succeeded",
        1,
        "arrived in the Kitchen",
    )
    # The robot's words also as key + params, stored and announced, for staff's language.
    arrived = {
        "key": "robot.progress.arrived_in",
        "params": {"room": "Kitchen", "room_kind": "kitchen"},
    }
    assert row["detail_text"] == arrived
    assert await lifecycle(redis, command_id) == ["sent", "acknowledged", "running", "succeeded"]
    texts = await detail_texts(redis, command_id)
    assert texts[-2:] == [
        {"key": "robot.progress.starting_at_dock", "params": {}},
        arrived,
    ]
    assert render(Text.model_validate(arrived), "ko") == "주방에 도착"

    async def in_the_kitchen() -> bool:
        robot = await robot_row(engine, robot_serial)
        return bool(robot["position"] == "Kitchen" and robot["state"] == "idle")

    await eventually(in_the_kitchen)
    robot = await robot_row(engine, robot_serial)
    assert robot["battery_pct"] == pytest.approx(90 - 3 * 1.5)
    entries = await redis.xrange(ROBOT_EVENTS_STREAM) or []
    statuses = [decode_robot_event(f) for _, f in entries if f]
    positions = [
        e.position
        for e in statuses
        if isinstance(e, RobotStatusEvent) and e.robot_serial == robot_serial
    ]
    assert positions[-1] == "Kitchen" and "Living room" in positions


async def test_stop_interrupts_the_running_command(
    gateway: Gateway, robot_serial: str, robots: Any, engine: AsyncEngine, redis: Redis
) -> None:
    await robots(robot_serial, seconds_per_room=0.5)
    await eventually(lambda: _robot_in(engine, robot_serial, "docked"))
    move = await queue_command(engine, redis, robot_serial, "move_to", {"room": "Bathroom"})

    async def on_the_way() -> bool:
        robot = await robot_row(engine, robot_serial)
        return bool(robot["position"] == "Entrance")

    await eventually(on_the_way)
    assert (await command_row(engine, move))["state"] == "running"
    stop = await queue_command(engine, redis, robot_serial, "stop")
    stopped, stopper = await final(engine, move), await final(engine, stop)
    assert stopped["state"] == "failed"
    assert stopped["detail"].startswith("stopped by staff in the ")
    assert (stopper["state"], stopper["detail"]) == ("succeeded", f"stopped command {move}")
    robot = await robot_row(engine, robot_serial)
    assert robot["position"] not in ("Bathroom", "Dock")  # it stopped on the way


async def test_failures_are_reported_as_they_happen(
    gateway: Gateway, robot_serial: str, robots: Any, engine: AsyncEngine, redis: Redis
) -> None:
    # Enough battery for the first trip (and its reserve), not for the second.
    agent = await robots(robot_serial, battery=22)
    agent.blocked = {"Kitchen"}
    await eventually(lambda: _robot_in(engine, robot_serial, "docked"))
    blocked = await queue_command(engine, redis, robot_serial, "move_to", {"room": "Bedroom"})
    row = await final(engine, blocked)
    assert (row["state"], row["detail"]) == (
        "failed",
        "path to the Bedroom is blocked at the Kitchen",
    )
    assert row["detail_text"] == {
        "key": "robot.progress.blocked",
        "params": {
            "room": "Bedroom",
            "room_kind": "bedroom",
            "at": "Kitchen",
            "at_kind": "kitchen",
        },
    }
    assert (
        render(Text.model_validate(row["detail_text"]), "ko") == "침실까지 가는 길이 주방에서 막힘"
    )
    far = await queue_command(
        engine, redis, robot_serial, "check_on_resident", {"room": "Bathroom"}
    )
    row = await final(engine, far)
    assert row["state"] == "failed"
    assert row["detail"].startswith("battery too low (19%) to reach the Bathroom")
    assert row["detail_text"]["params"]["battery"] == 19


async def test_offline_robot_command_waits_then_goes_when_it_is_back(
    gateway: Gateway, robot_serial: str, robots: Any, engine: AsyncEngine, redis: Redis
) -> None:
    command_id = await queue_command(engine, redis, robot_serial, "speak", {"text": "Hello!"})
    await asyncio.sleep(1.0)  # several sweeps: nothing goes to an offline robot
    row = await command_row(engine, command_id)
    assert (row["state"], row["attempts"]) == ("queued", 0)
    await robots(robot_serial)
    row = await final(engine, command_id)
    assert (row["state"], row["attempts"]) == ("succeeded", 1)
    assert await lifecycle(redis, command_id) == ["sent", "acknowledged", "running", "succeeded"]


async def test_offline_robot_command_expires(
    gateway: Gateway, robot_serial: str, engine: AsyncEngine, redis: Redis
) -> None:
    command_id = await queue_command(
        engine, redis, robot_serial, "return_to_dock", expires_in_s=1.0
    )
    row = await final(engine, command_id, within=5)
    assert (row["state"], row["attempts"]) == ("expired", 0)
    assert row["detail"] == "expired while waiting for the robot"
    assert row["detail_text"] is None  # SST's own words: the backend knows them by heart
    assert await lifecycle(redis, command_id) == ["expired"]


async def test_duplicate_ack_is_harmless_and_a_foreign_ack_is_dead_lettered(
    gateway: Gateway,
    robot_serial: str,
    robots: Any,
    home: HomeFixture,
    engine: AsyncEngine,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await robots(robot_serial)
    await eventually(lambda: _robot_in(engine, robot_serial, "docked"))
    command_id = await queue_command(engine, redis, robot_serial, "move_to", {"room": "Entrance"})
    assert (await final(engine, command_id))["state"] == "succeeded"
    other = f"robot-{uuid.uuid4().hex[:10]}"
    async with sessionmaker() as session, session.begin():
        session.add(Robot(home_id=home.home_id, serial=other))
    publisher = HubPublisher()
    try:
        ack = {"v": 1, "id": command_id, "ts": now_ms()}
        # The robot repeats itself (a resend crossed its ack), and a late "running" arrives.
        await publisher.publish(robot_topic(robot_serial, "acks"), ack)
        await publisher.publish(
            robot_topic(robot_serial, "progress"),
            {"v": 1, "id": command_id, "state": "running", "ts": now_ms()},
        )
        # Another robot acknowledges this robot's command; someone acks a command never made.
        await publisher.publish(robot_topic(other, "acks"), ack)
        await publisher.publish(robot_topic(other, "acks"), {"v": 1, "id": 2**62, "ts": now_ms()})
        await publisher.publish(robot_topic(other, "acks"), b'{"v":1,"id":"x"}')

        async def three_letters() -> bool:
            return len(await dead_letters(engine, other)) == 3

        await eventually(three_letters)
    finally:
        publisher.close()
    reasons = [reason for _, reason, _ in await dead_letters(engine, other)]
    assert reasons[0] == (
        f"command {command_id} is not robot {other!r}'s (it is {robot_serial!r}'s)"
    )
    assert reasons[1] == f"no command {2**62} (from robot {other!r})"
    assert reasons[2].startswith("schema: id: ")
    assert await dead_letters(engine, robot_serial) == []
    row = await command_row(engine, command_id)
    assert (row["state"], row["attempts"]) == ("succeeded", 1)
    assert await lifecycle(redis, command_id) == ["sent", "acknowledged", "running", "succeeded"]
    assert gateway.metrics.dead_letters["robot_foreign_command"] >= 1


async def _robot_in(engine: AsyncEngine, serial: str, state: str) -> bool:
    return bool((await robot_row(engine, serial))["state"] == state)


async def test_a_progress_text_sst_cannot_show_is_dropped_and_the_words_kept(
    gateway: Gateway, robot_serial: str, engine: AsyncEngine, redis: Redis
) -> None:
    # No robot answers: this test plays the robot, reporting on commands SST queued for it.
    first = await queue_command(engine, redis, robot_serial, "speak", {"text": "Hello"})
    second = await queue_command(engine, redis, robot_serial, "speak", {"text": "Hello"})
    publisher = HubPublisher()
    try:
        topic = robot_topic(robot_serial, "progress")
        # A key outside the robot's family (an alert's title), with the robot's own words...
        await publisher.publish(
            topic,
            {
                "v": 1,
                "id": first,
                "state": "failed",
                "detail": "could not speak",
                "text": {"key": "alert.fall.title", "params": {"room": "Kitchen"}},
                "ts": now_ms(),
            },
        )
        # ...and a robot.progress key without its param, with no words at all.
        await publisher.publish(
            topic,
            {
                "v": 1,
                "id": second,
                "state": "failed",
                "text": {"key": "robot.progress.arrived_in", "params": {}},
                "ts": now_ms(),
            },
        )

        async def both_failed() -> bool:
            rows = [await command_row(engine, c) for c in (first, second)]
            return all(r["state"] == "failed" for r in rows)

        await eventually(both_failed)
    finally:
        publisher.close()
    row = await command_row(engine, first)
    assert (row["detail"], row["detail_text"]) == ("could not speak", None)
    row = await command_row(engine, second)
    assert (row["detail"], row["detail_text"]) == (None, None)
    assert await dead_letters(engine, robot_serial) == []
