"""Device alerts: a hub gone silent (`hub_offline`) and sensors' low batteries (`low_battery`).

Entries of the device-events stream say what the gateway saw change; PostgreSQL says
what is true now, and is checked first, so a replayed or reordered entry does nothing
wrong: an offline hub that is back already raises nothing, a battery replaced since
raises nothing. When the cause is over (the hub is back, every battery named by the alert
is above the clear threshold) the alert resolves itself, with an "auto-resolved" step on
its timeline: it needs nobody any more, and an alert that stays open about something
fine teaches staff to ignore alerts. A new outage later opens a new alert. A resolution
whose announcement was lost (the process died after the commit) is announced by the
resident's next windowed evaluation (detector.py), not by a replay of the event: by then
the alert is no longer open.

One open alert per resident and kind, as for every alert: a second sensor running low
while the first is still low repeats the alert (count + 1); the same sensor hovering
around the threshold repeats nothing (the gateway reports crossings only, and a sensor
already on the open alert's timeline is not counted twice).
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_ai_inference.alerts import (
    alert_message,
    announce_resolution,
    raise_alert,
    resolve_automatically,
)
from sst_ai_inference.directory import Directory, ResidentInfo
from sst_ai_inference.rules import AlertDraft, draft_alert
from sst_core.device_messages import DeviceEvent, DeviceEventKind, OfflineCause
from sst_core.domain import AlertKind, Severity
from sst_core.texts import AlertText, Text, english, phrase

log = logging.getLogger("sst.inference.devices")

_HUB = """
SELECT h.online, h.last_seen_at, h.home_id,
       (SELECT min(p.id) FROM residents p WHERE p.home_id = h.home_id) AS resident_id,
       NOT EXISTS (SELECT 1 FROM hubs o WHERE o.home_id = h.home_id AND NOT o.online
                   AND o.last_seen_at IS NOT NULL) AS all_online
FROM hubs h WHERE h.id = :hub_id
"""
_SENSOR = """
SELECT s.battery_pct, s.kind, r.name AS room, r.kind AS room_kind,
       (SELECT min(p.id) FROM residents p JOIN hubs h ON h.home_id = p.home_id
        WHERE h.id = s.hub_id) AS resident_id
FROM sensors s LEFT JOIN rooms r ON r.id = s.room_id WHERE s.id = :sensor_id
"""
_OPEN = """
SELECT id FROM alerts WHERE resident_id = :resident_id AND kind = :kind AND state <> 'resolved'
"""
# Sensors an open low-battery alert was raised or repeated for, and their level now.
_NAMED_SENSORS = """
SELECT s.id, s.battery_pct FROM sensors s
WHERE s.id IN (SELECT (e.details->>'sensor_id')::int FROM alert_events e
               WHERE e.alert_id = :alert_id AND jsonb_typeof(e.details->'sensor_id') = 'number')
"""


def clock(at: datetime, zone: ZoneInfo, *, today: datetime) -> Text:
    """A home-local time, with the day when it is not the same day as `today`."""
    local, now = at.astimezone(zone), today.astimezone(zone)
    if local.date() == now.date():
        return phrase("clock.today", time=local.strftime("%H:%M"))
    return phrase("clock.day", date=local.date().isoformat(), time=local.strftime("%H:%M"))


def hub_offline_draft(event: DeviceEvent, resident_id: int, resident: ResidentInfo) -> AlertDraft:
    """The words of a hub_offline alert."""
    name, zone = resident.full_name, resident.timezone
    if event.cause == OfflineCause.LAST_WILL:
        what = phrase("alert.hub_offline.lost", when=clock(event.at, zone, today=event.at))
    elif event.last_seen_at is not None:
        since = clock(event.last_seen_at, zone, today=event.at)
        what = phrase("alert.hub_offline.silent", when=since)
    else:
        what = phrase("alert.hub_offline.never")
    return draft_alert(
        resident_id=resident_id,
        kind=AlertKind.HUB_OFFLINE,
        severity=Severity.HIGH,
        words=AlertText(
            title=phrase("alert.hub_offline.title", name=name),
            explanation=phrase("alert.hub_offline.explanation", name=name, what=what),
        ),
        sensor_id=None,
        room=None,
        at=event.at,
    )


def low_battery_draft(
    event: DeviceEvent,
    resident_id: int,
    resident: ResidentInfo,
    *,
    sensor_kind: str,
    room: str | None,
    pct: float,
    room_kind: str | None = None,
) -> AlertDraft:
    """The words of a low_battery alert."""
    where = {"sensor_kind": sensor_kind, "room": room, "room_kind": room_kind}
    return draft_alert(
        resident_id=resident_id,
        kind=AlertKind.LOW_BATTERY,
        severity=Severity.MEDIUM,
        words=AlertText(
            title=phrase("alert.low_battery.title", **where),
            explanation=phrase(
                "alert.low_battery.explanation", pct=round(pct), name=resident.full_name, **where
            ),
        ),
        sensor_id=event.sensor_id,
        room=room,
        at=event.at,
    )


class DeviceAlerts:
    """Turns device events into raised, repeated and auto-resolved alerts."""

    def __init__(self, *, engine: AsyncEngine, redis: Redis, directory: Directory) -> None:
        self.engine = engine
        self.redis = redis
        self.directory = directory

    async def process(self, event: DeviceEvent) -> None:
        """Act on one device event, after checking what is true now."""
        if event.kind in (DeviceEventKind.HUB_OFFLINE, DeviceEventKind.HUB_ONLINE):
            await self._hub(event)
        else:
            await self._battery(event)

    async def _hub(self, event: DeviceEvent) -> None:
        async with self.engine.connect() as conn:
            hub = (await conn.execute(text(_HUB), {"hub_id": event.hub_id})).first()
        if hub is None or hub.resident_id is None:
            log.info("hub %s has no resident; no device alert", event.hub_serial)
            return
        resident = await self.directory.resident(hub.resident_id)
        if resident is None:
            return
        if event.kind == DeviceEventKind.HUB_OFFLINE:
            if hub.online:
                return  # back already: a late or replayed entry
            draft = hub_offline_draft(event, hub.resident_id, resident)
            message = await raise_alert(
                engine=self.engine, redis=self.redis, draft=draft, facility_id=resident.facility_id
            )
            if message is not None:
                log.warning("hub %s offline: alert %s", event.hub_serial, message.id)
        elif hub.all_online:
            await self._resolve(
                hub.resident_id,
                resident,
                AlertKind.HUB_OFFLINE,
                phrase("resolved.hub_back"),
                {"hub": event.hub_serial, "at": event.at.isoformat()},
            )

    async def _battery(self, event: DeviceEvent) -> None:
        async with self.engine.connect() as conn:
            sensor = (await conn.execute(text(_SENSOR), {"sensor_id": event.sensor_id})).first()
        if sensor is None or sensor.resident_id is None or event.clear_pct is None:
            return
        resident = await self.directory.resident(sensor.resident_id)
        if resident is None:
            return
        if event.kind == DeviceEventKind.BATTERY_LOW:
            pct = sensor.battery_pct
            if pct is None or pct > event.clear_pct:
                return  # replaced since
            if await self._already_named(sensor.resident_id, event.sensor_id):
                return  # hovering around the threshold: still the same low battery
            draft = low_battery_draft(
                event,
                sensor.resident_id,
                resident,
                sensor_kind=sensor.kind,
                room=sensor.room,
                room_kind=sensor.room_kind,
                pct=event.battery_pct if event.battery_pct is not None else pct,
            )
            await raise_alert(
                engine=self.engine, redis=self.redis, draft=draft, facility_id=resident.facility_id
            )
            return
        async with self.engine.connect() as conn:
            alert_id = await conn.scalar(
                text(_OPEN),
                {"resident_id": sensor.resident_id, "kind": AlertKind.LOW_BATTERY.value},
            )
            if alert_id is None:
                return
            named = (await conn.execute(text(_NAMED_SENSORS), {"alert_id": alert_id})).all()
        if all(row.battery_pct is not None and row.battery_pct > event.clear_pct for row in named):
            await self._resolve(
                sensor.resident_id,
                resident,
                AlertKind.LOW_BATTERY,
                phrase("resolved.batteries_replaced"),
                {"sensor_id": event.sensor_id, "battery_pct": event.battery_pct},
            )

    async def _already_named(self, resident_id: int, sensor_id: int | None) -> bool:
        async with self.engine.connect() as conn:
            alert_id = await conn.scalar(
                text(_OPEN), {"resident_id": resident_id, "kind": AlertKind.LOW_BATTERY.value}
            )
            if alert_id is None:
                return False
            named = (await conn.execute(text(_NAMED_SENSORS), {"alert_id": alert_id})).all()
        return any(row.id == sensor_id for row in named)

    async def _resolve(
        self,
        resident_id: int,
        resident: ResidentInfo,
        kind: AlertKind,
        reason: Text,
        details: dict[str, object],
    ) -> None:
        async with self.engine.begin() as conn:
            alert_id = await conn.scalar(
                text(_OPEN), {"resident_id": resident_id, "kind": kind.value}
            )
            if alert_id is None:
                return
            row = await resolve_automatically(
                conn, alert_id=alert_id, reason=reason, details=details
            )
        if row is not None:
            # Lost if this process dies here: the resident's next windowed evaluation sees
            # the resolution's marker missing and announces it (detector.py).
            message = alert_message(row, resident.facility_id)
            await announce_resolution(self.redis, message, row["resolved_at"])
            log.info("alert %s %s auto-resolved: %s", row["id"], kind.value, english(reason))
