"""Who a socket is and which rooms it follows: checked at connect and on every join."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import socketio
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.access import may_see_resident, sees_whole_facility, visible_resident_ids
from sst_backend.auth.verify import TokenRefused, verify_access_token
from sst_backend.metrics import SOCKET_CONNECTIONS, SOCKET_REFUSALS
from sst_backend.realtime.connections import track, untrack
from sst_backend.realtime.log import Following
from sst_backend.realtime.rooms import resident_staff_room, user_room
from sst_backend.settings import BackendSettings
from sst_core.const import facility_room, resident_room
from sst_core.db.models import User
from sst_core.domain import Role

log = logging.getLogger("sst.backend.realtime")

_TOKEN_MESSAGES = {
    "invalid": "Your session is not valid (expired?); send a fresh access token.",
    "revoked": "Your session was ended; log in again.",
    "inactive": "Your account is not active.",
}
_MAX_ID = 2**31 - 1


class FeedRefusal(Exception):
    """A refused connect or action: a code for programs, a message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _int_field(data: dict[str, Any], name: str, *, low: int = 1, high: int = _MAX_ID) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise FeedRefusal("bad_request", f"{name} must be an integer from {low} to {high}.")
    return value


def _rooms_for(resident_id: int, *, staff: bool) -> list[str]:
    rooms = [resident_room(resident_id)]
    if staff:
        rooms.append(resident_staff_room(resident_id))
    return rooms


def following_of(saved: dict[str, Any]) -> Following:
    """What a socket follows, from its saved session."""
    return Following(
        staff=bool(saved.get("staff")),
        facility_id=saved["facility_id"] if saved.get("whole_facility") else None,
        resident_ids=frozenset(saved.get("residents", ())),
    )


class Follower:
    """Connects sockets and moves them between rooms, checking the token every time."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        settings: BackendSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis,
    ) -> None:
        self.sio, self.settings, self.sessionmaker, self.redis = sio, settings, sessionmaker, redis

    async def _verify(self, session: AsyncSession, token: Any) -> tuple[User, str | None]:
        if not isinstance(token, str) or not token:
            raise FeedRefusal("unauthorized", "log in first")
        try:
            user, claims = await verify_access_token(
                settings=self.settings, redis=self.redis, session=session, token=token
            )
        except TokenRefused as exc:
            raise FeedRefusal("unauthorized", _TOKEN_MESSAGES[exc.reason]) from exc
        except RedisError as exc:  # without the revocation list a revoked token could pass
            raise FeedRefusal("unavailable", "Sign-in checks are unavailable; retry.") from exc
        return user, claims.session_id

    async def connect(
        self, sid: str, auth: Any, *, before_rooms: Callable[[str], None] | None = None
    ) -> int | None:
        """Check the token, join the default rooms; the event id to resume after, if any.

        `before_rooms(sid)` runs before the first room is joined when the client resumes
        (the replay guard must hold live events from then on, or one could come first).
        """
        auth = auth if isinstance(auth, dict) else {}
        try:
            resume_after = _int_field(auth, "last_event_id", low=0, high=2**63 - 1)
            join_all = auth.get("join", True)
            if not isinstance(join_all, bool):
                raise FeedRefusal("bad_request", "join must be true or false.")
            async with self.sessionmaker() as session:
                user, session_id = await self._verify(session, auth.get("token"))
                staff = user.role != Role.GUARDIAN
                whole = sees_whole_facility(user) and join_all
                residents = (
                    await visible_resident_ids(session, user=user) if join_all and not whole else []
                )
        except FeedRefusal as refusal:
            SOCKET_REFUSALS.labels(reason=refusal.code).inc()
            raise
        rooms = [user_room(user.id)]
        if whole:
            rooms.append(facility_room(user.facility_id))
        for resident_id in residents:
            rooms.extend(_rooms_for(resident_id, staff=staff))
        saved = {
            "user_id": user.id,
            "role": user.role,
            "facility_id": user.facility_id,
            "staff": staff,
            "token": auth["token"],
            "whole_facility": whole,
            "residents": residents,
        }
        await self.sio.save_session(sid, saved)
        if resume_after is not None and before_rooms is not None:
            before_rooms(sid)
        for room in rooms:
            await self.sio.enter_room(sid, room)
        await track(self.redis, user_id=user.id, sid=sid, session_id=session_id)
        SOCKET_CONNECTIONS.inc()
        log.info("socket %s connected for user %s (%d rooms)", sid, user.id, len(rooms))
        return resume_after

    async def disconnect(self, sid: str) -> None:
        """Forget a socket that went away."""
        saved = await self.sio.get_session(sid)
        if "user_id" in saved:
            SOCKET_CONNECTIONS.dec()
            await untrack(self.redis, user_id=int(saved["user_id"]), sid=sid)

    async def user_of(self, sid: str, token: Any = None) -> tuple[User, AsyncSession]:
        """The socket's user, its token checked again now (with a fresh one if given).

        The caller closes the returned session.
        """
        saved = await self.sio.get_session(sid)
        if "user_id" not in saved:
            raise FeedRefusal("unauthorized", "log in first")
        if token is not None and (not isinstance(token, str) or not token):
            raise FeedRefusal("bad_request", "token must be a non-empty string.")
        session = self.sessionmaker()
        try:
            user, _ = await self._verify(session, token or saved["token"])
            if user.id != saved["user_id"]:
                raise FeedRefusal("forbidden", "That token is another person's.")
        except BaseException:
            await session.close()
            raise
        if token:
            saved["token"] = token
            await self.sio.save_session(sid, saved)
        return user, session

    @staticmethod
    def _target(data: Any) -> tuple[str, int]:
        if not isinstance(data, dict):
            raise FeedRefusal("bad_request", "Send {resident_id: N} or {facility_id: N}.")
        unknown = set(data) - {"resident_id", "facility_id", "token"}
        if unknown:
            raise FeedRefusal("bad_request", f"Unknown fields: {', '.join(sorted(unknown))}.")
        resident_id = _int_field(data, "resident_id")
        facility_id = _int_field(data, "facility_id")
        if (resident_id is None) == (facility_id is None):
            raise FeedRefusal("bad_request", "Send exactly one of resident_id and facility_id.")
        return ("resident", resident_id) if resident_id is not None else ("facility", facility_id)  # type: ignore[return-value]

    async def join(self, sid: str, data: Any) -> dict[str, Any]:
        """Follow a resident or the whole facility, if the token (checked now) allows it."""
        kind, target_id = self._target(data)
        user, session = await self.user_of(sid, data.get("token"))
        async with session:
            if kind == "resident":
                if not await may_see_resident(session, user=user, resident_id=target_id):
                    raise FeedRefusal("forbidden", f"You may not follow resident {target_id}.")
                rooms = _rooms_for(target_id, staff=user.role != Role.GUARDIAN)
            else:
                if not sees_whole_facility(user) or user.facility_id != target_id:
                    raise FeedRefusal("forbidden", f"You may not follow facility {target_id}.")
                rooms = [facility_room(target_id)]
        saved = await self.sio.get_session(sid)
        if kind == "resident":
            saved["residents"] = sorted({*saved.get("residents", ()), target_id})
        else:
            saved["whole_facility"] = True
        await self.sio.save_session(sid, saved)
        for room in rooms:
            await self.sio.enter_room(sid, room)
        log.info("socket %s (user %s) joined %s %s", sid, user.id, kind, target_id)
        return {"ok": True, "following": self.describe(saved)}

    async def leave(self, sid: str, data: Any) -> dict[str, Any]:
        """Stop following a resident or the facility."""
        kind, target_id = self._target(data)
        saved = await self.sio.get_session(sid)
        if "user_id" not in saved:
            raise FeedRefusal("unauthorized", "log in first")
        if kind == "resident":
            saved["residents"] = [r for r in saved.get("residents", ()) if r != target_id]
            rooms = _rooms_for(target_id, staff=True)
        else:
            if saved.get("facility_id") == target_id:
                saved["whole_facility"] = False
            rooms = [facility_room(target_id)]
        await self.sio.save_session(sid, saved)
        for room in rooms:
            await self.sio.leave_room(sid, room)
        return {"ok": True, "following": self.describe(saved)}

    @staticmethod
    def describe(saved: dict[str, Any]) -> dict[str, Any]:
        """What a socket follows, as the client sees it."""
        return {
            "facility_id": saved["facility_id"] if saved.get("whole_facility") else None,
            "resident_ids": list(saved.get("residents", ())),
        }
