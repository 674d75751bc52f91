"""Hub presence and robot status/command progress, from the gateway's streams to the feed."""

from __future__ import annotations

import asyncio
import logging

from pydantic import ValidationError
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
from sst_backend.realtime.streams import follow_stream
from sst_core.const import BACKEND_GROUP, DEVICE_EVENTS_STREAM, ROBOT_EVENTS_STREAM
from sst_core.device_messages import DeviceEvent, DeviceEventKind
from sst_core.robot_details import detail_text
from sst_core.robot_messages import RobotCommandEvent, decode_robot_event
from sst_core.streams import Entry

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


def _entry_text(entry_id: bytes | str) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


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

    async def handle(entries: list[Entry]) -> None:
        items = []
        for entry_id, fields in entries:
            try:
                event = DeviceEvent.from_stream(fields)
            except (KeyError, ValueError) as exc:
                log.error("skipping malformed device-events entry %r: %s", entry_id, exc)
                continue
            online = _PRESENCE.get(event.kind)
            if online is None:
                continue  # battery crossings become alerts (inference), not presence
            target = await device_target(sessionmaker, robot=False, device_id=event.hub_id)
            if target is None:
                log.warning("device event for unknown hub %s dropped", event.hub_id)
                continue
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
            source = f"device_events:{_entry_text(entry_id)}"
            items.append(NewEvent(HUB_PRESENCE_EVENT, payload, target, source=source))
        await feed.publish_many(items)

    await follow_stream(
        redis, stream=DEVICE_EVENTS_STREAM, group=BACKEND_GROUP, handler=handle, stop=stop
    )


async def relay_robots(
    feed: LiveFeed,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    stop: asyncio.Event,
) -> None:
    """Robot status (position, battery) and command progress reach staff live."""

    async def handle(entries: list[Entry]) -> None:
        items = []
        for entry_id, fields in entries:
            try:
                event = decode_robot_event(fields)
            except (KeyError, ValueError, ValidationError) as exc:
                log.error("skipping malformed robot-events entry %r: %s", entry_id, exc)
                continue
            target = await device_target(sessionmaker, robot=True, device_id=event.robot_id)
            if target is None:
                log.warning("robot event for unknown robot %s dropped", event.robot_id)
                continue
            name = (
                ROBOT_COMMAND_EVENT if isinstance(event, RobotCommandEvent) else ROBOT_STATUS_EVENT
            )
            payload = {**event.model_dump(mode="json"), "home_id": target.home_id}
            if isinstance(event, RobotCommandEvent):
                # SST's own details also as key + params, for the page's language.
                text = detail_text(event.detail, event.detail_text)
                payload["detail_text"] = text.model_dump(mode="json") if text else None
            payload["resident_id"] = target.resident_id
            source = f"robot_events:{_entry_text(entry_id)}"
            items.append(NewEvent(name, payload, target, source=source))
        await feed.publish_many(items)

    await follow_stream(
        redis, stream=ROBOT_EVENTS_STREAM, group=BACKEND_GROUP, handler=handle, stop=stop
    )
