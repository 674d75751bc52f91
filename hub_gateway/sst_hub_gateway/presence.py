"""Hub presence and sensor batteries: what changed, committed with the batch, then streamed.

A hub is online from an online status (its connect message and its periodic heartbeat)
until its last will or its own offline status arrives, or until nothing was heard from it
for its heartbeat timeout (its own `hubs.heartbeat_timeout_s`, else
`hub_heartbeat_timeout_s`; a sweep; several gateways may sweep, the UPDATE decides who
reports). Only changes become device events: a hub going offline or coming back, a
battery crossing the low threshold downwards or the clear threshold upwards (the gap
between them is the hysteresis). The thresholds travel with the event, so inference
applies exactly what the gateway decided.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError

from sst_core.const import DEVICE_EVENTS_STREAM
from sst_core.device_messages import DeviceEvent, DeviceEventKind, OfflineCause
from sst_hub_gateway.db_errors import CONNECTION_ERRORS

log = logging.getLogger("sst.gateway.presence")

# A stale online status (a retained heartbeat replayed to a new subscription, a message
# the broker queued for hours) updates nothing about presence: only a fresh one revives.
_STATUSES = """
WITH seen AS (
    SELECT * FROM unnest($1::text[], $2::bool[], $3::text[], $4::timestamptz[])
        AS s(serial, online, firmware, at)
), before AS (
    SELECT h.id, h.online FROM hubs h JOIN seen ON seen.serial = h.serial FOR UPDATE OF h
)
UPDATE hubs h SET
    online = CASE WHEN seen.online
                       AND seen.at < now() - make_interval(
                           secs => COALESCE(h.heartbeat_timeout_s::float8, $5))
                  THEN h.online ELSE seen.online END,
    firmware = COALESCE(seen.firmware, h.firmware),
    last_seen_at = GREATEST(h.last_seen_at, seen.at)
FROM seen, before
WHERE h.serial = seen.serial AND before.id = h.id
RETURNING h.id, h.serial, before.online AS was_online, h.online, h.last_seen_at
"""
_BATTERIES = """
WITH level AS (
    SELECT * FROM unnest($1::int[], $2::float8[]) AS l(sensor_id, pct)
), before AS (
    SELECT s.id, s.battery_pct FROM sensors s JOIN level ON level.sensor_id = s.id
    FOR UPDATE OF s
)
UPDATE sensors s SET battery_pct = level.pct
FROM level, before
WHERE s.id = level.sensor_id AND before.id = s.id AND s.battery_pct IS DISTINCT FROM level.pct
RETURNING s.id, before.battery_pct AS before_pct, s.battery_pct AS pct
"""
# Each hub's own timeout (hubs.heartbeat_timeout_s, set by an admin), else the default $1.
_TIMED_OUT = """
UPDATE hubs SET online = false
WHERE online AND (
    last_seen_at IS NULL
    OR last_seen_at < now() - make_interval(secs => COALESCE(heartbeat_timeout_s::float8, $1))
)
RETURNING id, serial, last_seen_at
"""

StatusRow = tuple[str, bool, str | None, datetime]  # hub serial, online, firmware, seen at
BatteryRow = tuple[int, str, int, float]  # hub id, hub serial, sensor id, percent


@dataclass(frozen=True, slots=True)
class PresenceRules:
    """When a hub counts as gone and when a battery counts as low, or fine again."""

    heartbeat_timeout_s: float = 180.0
    battery_low_pct: float = 20.0
    battery_clear_pct: float = 25.0


def _last_per_key(rows: list[StatusRow]) -> list[StatusRow]:
    """One status per hub: the last received wins (firmware: the last one given)."""
    latest: dict[str, StatusRow] = {}
    for serial, online, firmware, at in rows:
        kept = latest.get(serial)
        if kept is not None:
            firmware = firmware or kept[2]
            at = max(at, kept[3])
        latest[serial] = (serial, online, firmware, at)
    return list(latest.values())


async def write_statuses(
    conn: asyncpg.Connection, rows: list[StatusRow], rules: PresenceRules
) -> list[DeviceEvent]:
    """Apply hub statuses (inside the batch's transaction); the presence changes."""
    if not rows:
        return []
    rows = _last_per_key(rows)
    changed = await conn.fetch(
        _STATUSES,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        rules.heartbeat_timeout_s,
    )
    now = datetime.now(UTC)
    events = []
    for row in changed:
        if row["online"] and not row["was_online"]:
            kind, cause = DeviceEventKind.HUB_ONLINE, None
        elif row["was_online"] and not row["online"]:
            kind, cause = DeviceEventKind.HUB_OFFLINE, OfflineCause.LAST_WILL
        else:
            continue
        events.append(
            DeviceEvent(
                kind=kind,
                hub_id=row["id"],
                hub_serial=row["serial"],
                at=now,
                last_seen_at=row["last_seen_at"],
                cause=cause,
            )
        )
    return events


async def write_batteries(
    conn: asyncpg.Connection, rows: list[BatteryRow], rules: PresenceRules
) -> list[DeviceEvent]:
    """Store sensors' battery levels (inside the batch's transaction); the crossings."""
    if not rows:
        return []
    latest = {sensor_id: (hub_id, serial, pct) for hub_id, serial, sensor_id, pct in rows}
    changed = await conn.fetch(_BATTERIES, list(latest), [pct for _, _, pct in latest.values()])
    now = datetime.now(UTC)
    events = []
    for row in changed:
        before, pct = row["before_pct"], row["pct"]
        if pct < rules.battery_low_pct and (before is None or before >= rules.battery_low_pct):
            kind = DeviceEventKind.BATTERY_LOW
        elif (
            pct > rules.battery_clear_pct
            and before is not None
            and (before <= rules.battery_clear_pct)
        ):
            kind = DeviceEventKind.BATTERY_OK
        else:
            continue
        hub_id, serial, _ = latest[row["id"]]
        events.append(
            DeviceEvent(
                kind=kind,
                hub_id=hub_id,
                hub_serial=serial,
                at=now,
                sensor_id=row["id"],
                battery_pct=pct,
                low_pct=rules.battery_low_pct,
                clear_pct=rules.battery_clear_pct,
            )
        )
    return events


async def stream_device_events(redis: Redis, events: list[DeviceEvent], maxlen: int) -> None:
    """Add device events to their stream, in order (raises on a Redis error)."""
    if not events:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for event in events:
            pipe.xadd(DEVICE_EVENTS_STREAM, event.to_stream(), maxlen=maxlen, approximate=True)
        await pipe.execute()


async def sweep_silent_hubs(
    pool: asyncpg.Pool,
    redis: Redis,
    *,
    rules: PresenceRules,
    interval_s: float,
    maxlen: int,
    stop: asyncio.Event,
    on_offline: Callable[[int], None] | None = None,
) -> None:
    """Mark hubs silent for longer than the heartbeat timeout offline, every `interval_s`."""
    pending: list[DeviceEvent] = []  # committed but not yet on the stream
    while not stop.is_set():
        try:
            if not pending:
                async with pool.acquire() as conn:
                    rows = await conn.fetch(_TIMED_OUT, rules.heartbeat_timeout_s)
                now = datetime.now(UTC)
                pending = [
                    DeviceEvent(
                        kind=DeviceEventKind.HUB_OFFLINE,
                        hub_id=row["id"],
                        hub_serial=row["serial"],
                        at=now,
                        last_seen_at=row["last_seen_at"],
                        cause=OfflineCause.HEARTBEAT_TIMEOUT,
                    )
                    for row in rows
                ]
            if pending:
                await stream_device_events(redis, pending, maxlen)
                log.warning(
                    "hubs silent past their heartbeat timeout (default %.0f s), now offline: %s",
                    rules.heartbeat_timeout_s,
                    ", ".join(e.hub_serial for e in pending),
                )
                if on_offline is not None:
                    on_offline(len(pending))
                pending = []
        except (asyncpg.PostgresError, *CONNECTION_ERRORS, RedisError) as exc:
            log.warning("presence sweep failed (%s: %s); next try in an interval", type(exc), exc)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
