"""Commanding safety-check robots: validated, audited, queued for the gateway, streamed live.

A command is a row (robot_commands) first; after the commit its id goes on the
robot-commands stream, which the gateway's relay publishes to the robot (resending
unacknowledged ones, expiring overdue ones; its sweep also sends what the stream lost).
Every lifecycle change comes back on the robot-events stream and reaches the dashboard.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.announce import after_commit
from sst_backend.audit import record
from sst_backend.care_access import home_to_read
from sst_backend.errors import APIError, not_found
from sst_backend.realtime.events import ROBOT_COMMAND_EVENT, Audience, Target
from sst_backend.realtime.feed import LiveFeed
from sst_backend.robots import repository
from sst_backend.robots.schemas import RobotCommandCreate, RobotCommandOut
from sst_core.const import ROBOT_COMMANDS_STREAM, STREAM_MAXLEN
from sst_core.db.models import Robot, RobotCommand, User
from sst_core.domain import RobotCommandName, RobotCommandState
from sst_core.messages import datetime_to_ms
from sst_core.robot_details import detail_text
from sst_core.robot_messages import command_payload, encode_command_entry

log = logging.getLogger("sst.backend.robots")

# A robot's capabilities name the commands it can do, in full or short.
_CAPABILITY = {
    RobotCommandName.MOVE_TO: {"move_to", "move"},
    RobotCommandName.CHECK_ON_RESIDENT: {"check_on_resident", "check"},
    RobotCommandName.SPEAK: {"speak"},
    RobotCommandName.RETURN_TO_DOCK: {"return_to_dock", "dock"},
}


def command_out(command: RobotCommand) -> RobotCommandOut:
    """The API shape of a command."""
    out = RobotCommandOut.model_validate(command, from_attributes=True)
    return out.model_copy(update={"detail_text": detail_text(command.detail, command.detail_text)})


def _detail_text(command: RobotCommand) -> dict[str, Any] | None:
    text = detail_text(command.detail, command.detail_text)
    return text.model_dump(mode="json") if text else None


async def robot_to_command(session: AsyncSession, *, user: User, robot_id: int) -> Robot:
    """The robot, if `user` may see its home (another facility's robot is "not found")."""
    robot = await session.get(Robot, robot_id)
    if robot is None:
        raise not_found("The robot")
    try:
        await home_to_read(session, user=user, home_id=robot.home_id)
    except APIError as exc:
        raise not_found("The robot") from exc
    return robot


async def _check(session: AsyncSession, robot: Robot, body: RobotCommandCreate) -> None:
    name = RobotCommandName(body.command)
    if name != RobotCommandName.STOP and not _CAPABILITY[name] & set(robot.capabilities or []):
        declared = ", ".join(robot.capabilities or []) or "none declared"
        raise APIError(
            422,
            "unsupported_command",
            f"Robot {robot.serial} cannot {name.value} (its capabilities: {declared}).",
        )
    room = body.args.get("room")
    if room is not None:
        rooms = await repository.room_names(session, home_id=robot.home_id)
        if room not in rooms:
            raise APIError(
                422,
                "unknown_room",
                f"The robot's home has no room called {room!r}; its rooms: "
                f"{', '.join(rooms) or 'none'}.",
            )
    target = body.args.get("command_id")
    if (
        target is not None
        and await repository.command_of(session, robot_id=robot.id, command_id=target) is None
    ):
        raise APIError(422, "unknown_command", f"Robot {robot.serial} has no command {target}.")


def live_payload(command: RobotCommand, robot: Robot, target: Target) -> dict[str, Any]:
    """The `robot_command` event of a command (the same shape the gateway's events take)."""
    return {
        "type": "command",
        "command_id": command.id,
        "robot_id": robot.id,
        "robot_serial": robot.serial,
        "command": command.command,
        "state": command.state,
        "attempts": command.attempts,
        "detail": command.detail,
        "detail_text": _detail_text(command),
        "at": datetime.now(UTC).isoformat(),
        "home_id": target.home_id,
        "resident_id": target.resident_id,
    }


async def create_command(
    session: AsyncSession,
    *,
    user: User,
    robot_id: int,
    body: RobotCommandCreate,
    redis: Redis,
    feed: LiveFeed | None,
) -> RobotCommandOut:
    """Queue a command for a robot `user` may command; it is sent after the commit."""
    robot = await robot_to_command(session, user=user, robot_id=robot_id)
    await _check(session, robot, body)
    args = body.args
    expires_at = datetime.now(UTC) + timedelta(seconds=body.expires_in_s)
    try:  # exactly what the gateway will publish must satisfy the MQTT contract
        command_payload(1, body.command, args, datetime_to_ms(expires_at))
    except ValidationError as exc:
        raise APIError(422, "invalid_command", f"Not a valid robot command: {exc}") from exc
    command = RobotCommand(
        robot_id=robot.id,
        command=body.command.value,
        args=args,
        state=RobotCommandState.QUEUED.value,
        attempts=0,
        created_by=user.id,
        expires_at=expires_at,
    )
    session.add(command)
    await session.flush()
    await session.refresh(command)
    record(
        session,
        actor=user,
        action="robot.command",
        target_type="robot",
        target_id=robot.id,
        details={"command_id": command.id, "command": command.command, "args": args},
    )
    facility_id, resident_id = await repository.home_of(session, robot=robot)
    target = Target(facility_id, resident_id, robot.home_id, Audience.STAFF)
    payload = live_payload(command, robot, target)
    command_id = command.id

    async def announce() -> None:
        try:
            await redis.xadd(
                ROBOT_COMMANDS_STREAM,
                encode_command_entry(command_id),
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
        except RedisError as exc:  # the row is queued: the gateway's sweep sends it anyway
            log.warning(
                "robot command %s not put on the stream (%r); the sweep sends it", command_id, exc
            )
        if feed is not None:
            await feed.publish(ROBOT_COMMAND_EVENT, payload, target)

    after_commit(session, announce)
    log.info(
        "user %s queued %s (%s) for robot %s", user.id, command.command, command_id, robot.serial
    )
    return command_out(command)


async def list_commands(
    session: AsyncSession, *, user: User, robot_id: int, limit: int
) -> list[RobotCommandOut]:
    """The robot's newest commands."""
    robot = await robot_to_command(session, user=user, robot_id=robot_id)
    rows = await repository.recent_commands(session, robot_id=robot.id, limit=limit)
    return [command_out(c) for c in rows]


async def get_command(
    session: AsyncSession, *, user: User, robot_id: int, command_id: int
) -> RobotCommandOut:
    """One command of a robot `user` may see."""
    robot = await robot_to_command(session, user=user, robot_id=robot_id)
    command = await repository.command_of(session, robot_id=robot.id, command_id=command_id)
    if command is None:
        raise not_found("The command")
    return command_out(command)
