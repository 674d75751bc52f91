"""The newest sensor state of what a socket begins to follow, sent to that socket at once.

Updates go to rooms only when a resident has news (sensor_state.py): without this, a
dashboard that opens a resident, or a charge nurse who opens the whole facility, would see
what the page loaded until the next reading, hours for a quiet room. No instance learns of a
second follower of a room already followed, and the one that folded a resident's readings
may be another instance, or one that has since restarted; but the state itself is in Redis.
So the instance of the joining socket reads it there and sends it to that socket only: not
through Redis to every instance, and not logged (it is no news; the log has the last update,
and a client that resumes with an event id is caught up from there instead).

A facility's residents go out as one event, `sensor_states` (a list of what `sensor_state`
carries), in chunks of `CHUNK` residents: a charge nurse joining a home of 400 residents gets
a few frames, not 400 (bench/resend.py measures both).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

import socketio
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.realtime.events import SENSOR_STATE_EVENT, SENSOR_STATES_EVENT
from sst_backend.realtime.sensor_state import STATE_KEY, state_payload
from sst_core.db.models import Resident

log = logging.getLogger("sst.backend.sensor_state")

CHUNK: Final = 100  # residents per `sensor_states` event


async def newest_states(
    redis: Redis,
    session: AsyncSession,
    *,
    resident_ids: Sequence[int] = (),
    facility_id: int | None = None,
) -> list[dict[str, Any]]:
    """The newest whole state of these residents (or a facility's), those that have one."""
    query = select(Resident.id, Resident.home_id).order_by(Resident.id)
    if facility_id is not None:
        query = query.where(Resident.facility_id == facility_id)
    else:
        query = query.where(Resident.id.in_(list(resident_ids)))
    residents = (await session.execute(query)).all()
    if not residents:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for resident_id, _ in residents:
            pipe.hgetall(STATE_KEY.format(resident_id=resident_id))
        states = await pipe.execute()
    return [
        state_payload(resident_id, home_id, state, set())
        for (resident_id, home_id), state in zip(residents, states, strict=True)
        if state
    ]


async def send_newest_state(
    sio: socketio.AsyncServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    sid: str,
    *,
    resident_ids: Sequence[int] = (),
    facility_id: int | None = None,
) -> int:
    """Send socket `sid` (of this instance) the newest states of what it joined; how many.

    The caller has checked that the socket's user is staff and may see them all.
    """
    if not resident_ids and facility_id is None:
        return 0
    try:
        async with sessionmaker() as session:
            payloads = await newest_states(
                redis, session, resident_ids=resident_ids, facility_id=facility_id
            )
    except (SQLAlchemyError, RedisError, OSError) as exc:
        # The next update of each resident with news still comes; quiet ones wait for it.
        log.warning("newest sensor state not sent to %s: %r", sid, exc)
        return 0
    if len(payloads) == 1:
        # event_id None: not logged, like an event sent while the log was away.
        data = {"event_id": None, **payloads[0]}
        await sio.emit(SENSOR_STATE_EVENT, data, to=sid, ignore_queue=True)
        return 1
    for start in range(0, len(payloads), CHUNK):
        data = {"event_id": None, "states": payloads[start : start + CHUNK]}
        await sio.emit(SENSOR_STATES_EVENT, data, to=sid, ignore_queue=True)
    return len(payloads)
