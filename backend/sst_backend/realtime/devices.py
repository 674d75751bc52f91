"""Hub presence and robot status/command progress, from the gateway's streams to the feed."""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.realtime.events import (
    HUB_PRESENCE_EVENT,
    ROBOT_COMMAND_EVENT,
    ROBOT_STATUS_EVENT,
    Audience,
    Target,
)
from sst_backend.realtime.feed import LiveFeed
from sst_backend.realtime.log import NewEvent
from sst_backend.realtime.relay import relay_stream
from sst_core.const import DEVICE_EVENTS_STREAM, ROBOT_EVENTS_STREAM
from sst_core.device_messages import DeviceEvent, DeviceEventKind
from sst_core.robot_details import detail_text
from sst_core.robot_messages import RobotCommandEvent, RobotStatusEvent, decode_robot_event

log = logging.getLogger("sst.backend.devices_feed")

_HOME_OF = """
SELECT hm.id AS home_id, hm.facility_id, r.id AS resident_id
FROM {table} d JOIN homes hm ON hm.id = d.home_id
LEFT JOIN residents r ON r.home_id = hm.id
WHERE d.id = :device_id
LIMIT 1
"""
_HUB_HOME = text(_HOME_OF.format(table="hubs"))
_ROBOT_HOME = text(_HOME_OF.format(table="robots"))
_PRESENCE = {DeviceEventKind.HUB_ONLINE: True, DeviceEventKind.HUB_OFFLINE: False}


async def device_target(
    sessionmaker: async_sessionmaker[AsyncSession], *, robot: bool, device_id: int
) -> Target | None:
    """Staff following the device's resident, and the facility; None for an unknown device."""
    async with sessionmaker() as session:
        row = (
            await session.execute(_ROBOT_HOME if robot else _HUB_HOME, {"device_id": device_id})
        ).first()
    if row is None:
        return None
    return Target(row.facility_id, row.resident_id, row.home_id, Audience.STAFF)


async def relay_presence(
    feed: LiveFeed,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    stop: asyncio.Event,
) -> None:
    """A hub going offline or coming back reaches the staff following its home."""

    async def to_event(event: DeviceEvent, entry_id: str) -> NewEvent | None:
        online = _PRESENCE.get(event.kind)
        if online is None:
            return None  # battery crossings become alerts (inference), not presence
        target = await device_target(sessionmaker, robot=False, device_id=event.hub_id)
        if target is None:
            log.warning("device event for unknown hub %s dropped", event.hub_id)
            return None
        payload = {
            "hub_id": event.hub_id,
            "hub_serial": event.hub_serial,
            "home_id": target.home_id,
            "resident_id": target.resident_id,
            "online": online,
            "at": event.at.isoformat(),
            "last_seen_at": event.last_seen_at.isoformat() if event.last_seen_at else None,
            "cause": event.cause,
        }
        return NewEvent(HUB_PRESENCE_EVENT, payload, target, source=f"device_events:{entry_id}")

    await relay_stream(
        feed,
        redis,
        stop,
        stream=DEVICE_EVENTS_STREAM,
        label="device_events",
        decode=DeviceEvent.from_stream,
        to_event=to_event,
    )


async def relay_robots(
    feed: LiveFeed,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    stop: asyncio.Event,
) -> None:
    """Robot status (position, battery) and command progress reach staff live."""

    async def to_event(
        event: RobotCommandEvent | RobotStatusEvent, entry_id: str
    ) -> NewEvent | None:
        target = await device_target(sessionmaker, robot=True, device_id=event.robot_id)
        if target is None:
            log.warning("robot event for unknown robot %s dropped", event.robot_id)
            return None
        name = ROBOT_COMMAND_EVENT if isinstance(event, RobotCommandEvent) else ROBOT_STATUS_EVENT
        payload = {**event.model_dump(mode="json"), "home_id": target.home_id}
        if isinstance(event, RobotCommandEvent):
            # SST's own details also as key + params, for the page's language.
            text = detail_text(event.detail, event.detail_text)
            payload["detail_text"] = text.model_dump(mode="json") if text else None
        payload["resident_id"] = target.resident_id
        return NewEvent(name, payload, target, source=f"robot_events:{entry_id}")

    await relay_stream(
        feed,
        redis,
        stop,
        stream=ROBOT_EVENTS_STREAM,
        label="robot_events",
        decode=decode_robot_event,
        to_event=to_event,
    )
