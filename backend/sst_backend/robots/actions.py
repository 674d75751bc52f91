"""The Socket.IO `robot_command` action: the same command as the API, over the live socket."""

from __future__ import annotations

import logging
from typing import Any

import socketio
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy.exc import DBAPIError

from sst_backend.announce import discard_after_commit, run_after_commit
from sst_backend.errors import APIError
from sst_backend.realtime.events import ROBOT_COMMAND_ACTION
from sst_backend.realtime.feed import LiveFeed
from sst_backend.realtime.following import FeedRefusal, Follower
from sst_backend.realtime.server import refuse_action
from sst_backend.robots import service
from sst_backend.robots.schemas import RobotCommandAction, RobotCommandCreate
from sst_core.domain import Role

log = logging.getLogger("sst.backend.robots")


def _first_error(exc: ValidationError) -> str:
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


def register_robot_actions(
    sio: socketio.AsyncServer, follower: Follower, feed: LiveFeed, redis: Redis
) -> None:
    """`robot_command` {robot_id, body: {command, args, expires_in_s}, token?} -> ack."""

    @sio.on(ROBOT_COMMAND_ACTION)
    async def robot_command(sid: str, data: Any = None) -> dict[str, Any]:
        try:
            if not isinstance(data, dict):
                raise FeedRefusal("bad_request", "Send {robot_id, body: {command, args}}.")
            token = data.pop("token", None)
            try:
                action = RobotCommandAction.model_validate(data)
                body = RobotCommandCreate.model_validate(action.body)
            except ValidationError as exc:
                raise FeedRefusal("bad_request", _first_error(exc)) from exc
            user, session = await follower.user_of(sid, token)
            async with session:
                if user.role == Role.GUARDIAN:
                    raise FeedRefusal("forbidden", "Guardians cannot command robots.")
                try:
                    out = await service.create_command(
                        session,
                        user=user,
                        robot_id=action.robot_id,
                        body=body,
                        redis=redis,
                        feed=feed,
                    )
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    discard_after_commit(session)
                    raise
                await run_after_commit(session)
        except DBAPIError as exc:  # e.g. a NUL character PostgreSQL cannot store
            log.warning("robot_command from socket %s not stored: %r", sid, exc.orig)
            refusal = FeedRefusal(
                "invalid_request", "That command cannot be stored; check its text."
            )
            return await refuse_action(sio, sid, action=ROBOT_COMMAND_ACTION, refusal=refusal)
        except APIError as exc:
            refusal = FeedRefusal(exc.code, exc.message)
            return await refuse_action(sio, sid, action=ROBOT_COMMAND_ACTION, refusal=refusal)
        except FeedRefusal as refusal:
            return await refuse_action(sio, sid, action=ROBOT_COMMAND_ACTION, refusal=refusal)
        return {"ok": True, "command": out.model_dump(mode="json")}
