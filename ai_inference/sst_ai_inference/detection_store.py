"""What the windowed rules read and keep in PostgreSQL: a resident's recent readings as a
`HomeView`, their thresholds, and the hysteresis state and latest check of each rule."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sst_ai_inference.hysteresis import RuleState
from sst_ai_inference.timeline import Event, HomeView, SensorInfo
from sst_core.rule_checks import RuleCheck, check_details, stored_check
from sst_core.thresholds import RuleName, effective_params

log = logging.getLogger("sst.inference.windowed")

_READINGS = """
SELECT r.time, r.sensor_id, r.value, s.kind, rm.kind AS room_kind, rm.name AS room_name
FROM readings r JOIN sensors s ON s.id = r.sensor_id LEFT JOIN rooms rm ON rm.id = s.room_id
WHERE r.resident_id = :resident_id AND r.time > :start AND r.time <= :end
"""
_SENSORS = """
SELECT s.id, s.kind, rm.kind AS room_kind, rm.name AS room_name,
       CASE WHEN s.kind IN ('temperature', 'bed') THEN
         (SELECT r.time FROM readings r WHERE r.sensor_id = s.id AND r.time <= :start
          ORDER BY r.time DESC LIMIT 1)
       END AS last_before
FROM residents p JOIN hubs h ON h.home_id = p.home_id JOIN sensors s ON s.hub_id = h.id
LEFT JOIN rooms rm ON rm.id = s.room_id
WHERE p.id = :resident_id
"""
_HUBS = """
SELECT h.online, h.last_seen_at FROM residents p JOIN hubs h ON h.home_id = p.home_id
WHERE p.id = :resident_id
"""
# The hub's offline spells that touch the view: its hub_offline alerts.
_OFFLINE = """
SELECT opened_at, resolved_at FROM alerts
WHERE resident_id = :resident_id AND kind = 'hub_offline'
  AND opened_at <= :end AND (resolved_at IS NULL OR resolved_at >= :start)
"""
_THRESHOLDS = """
SELECT rule, params FROM resident_rule_thresholds WHERE resident_id = :resident_id
"""
_STATES = """
SELECT kind, active, raised_at, clear_since, alert_id, details FROM detection_state
WHERE resident_id = :resident_id
"""
# Every changed rule of a resident in one statement (one round trip per evaluation).
_SAVE_STATES = """
INSERT INTO detection_state (resident_id, kind, active, raised_at, clear_since, alert_id,
                             details, updated_at)
SELECT :resident_id, s.kind, s.active, s.raised_at, s.clear_since, s.alert_id, s.details, now()
FROM jsonb_to_recordset(CAST(:states AS jsonb)) AS s(
    kind text, active boolean, raised_at timestamptz, clear_since timestamptz,
    alert_id bigint, details jsonb)
ON CONFLICT (resident_id, kind) DO UPDATE SET
    active = EXCLUDED.active, raised_at = EXCLUDED.raised_at,
    clear_since = EXCLUDED.clear_since, alert_id = EXCLUDED.alert_id,
    details = EXCLUDED.details, updated_at = now()
"""


@dataclass
class StoredRule:
    """A rule's state for one resident as loaded, and whether it changed."""

    state: RuleState
    alert_id: int | None
    changed: bool = False
    last_verdict: str = ""
    check: RuleCheck | None = None  # the latest verdict as the dashboard shows it


def thresholds_of(resident_id: int, rows: list[Any]) -> dict[RuleName, dict[str, Any]]:
    """Effective parameters of every rule for a resident, from its stored overrides."""
    stored: dict[str, Any] = {}
    for row in rows:
        try:
            stored[RuleName(row.rule).value] = row.params
        except ValueError:
            log.warning("resident %s: unknown rule %r in thresholds ignored", resident_id, row.rule)
    return {
        rule: effective_params(rule, stored.get(rule.value), resident_id=resident_id)
        for rule in RuleName
    }


async def load_thresholds(
    conn: AsyncConnection, resident_id: int
) -> dict[RuleName, dict[str, Any]]:
    """A resident's effective parameters of every rule (defaults, then valid overrides)."""
    rows = (await conn.execute(text(_THRESHOLDS), {"resident_id": resident_id})).all()
    return thresholds_of(resident_id, list(rows))


async def load_states(conn: AsyncConnection, resident_id: int) -> dict[str, StoredRule]:
    """Every stored rule state of a resident, by alert kind."""
    rows = (await conn.execute(text(_STATES), {"resident_id": resident_id})).all()
    return {
        row.kind: StoredRule(
            RuleState(row.active, row.raised_at, row.clear_since),
            row.alert_id,
            last_verdict=str((row.details or {}).get("last_verdict", "")),
            check=stored_check(row.details),
        )
        for row in rows
    }


async def save_states(
    conn: AsyncConnection, resident_id: int, slots: dict[str, StoredRule]
) -> None:
    """Write the given rule states (and latest checks) of a resident, all in one statement."""
    if not slots:
        return
    states = [
        {
            "kind": kind,
            "active": slot.state.active,
            "raised_at": slot.state.raised_at,
            "clear_since": slot.state.clear_since,
            "alert_id": slot.alert_id,
            "details": {"last_verdict": slot.last_verdict} | check_details(slot.check),
        }
        for kind, slot in slots.items()
    ]
    await conn.execute(
        text(_SAVE_STATES),
        {"resident_id": resident_id, "states": orjson.dumps(states).decode()},
    )


async def load_view(
    conn: AsyncConnection,
    *,
    resident_id: int,
    resident_name: str,
    timezone: Any,
    start: datetime,
    end: datetime,
) -> HomeView:
    """A resident's readings in (start, end] with their sensors' rooms, from PostgreSQL."""
    readings = (
        await conn.execute(
            text(_READINGS), {"resident_id": resident_id, "start": start, "end": end}
        )
    ).all()
    sensors = (
        await conn.execute(text(_SENSORS), {"resident_id": resident_id, "start": start})
    ).all()
    hubs = (await conn.execute(text(_HUBS), {"resident_id": resident_id})).all()
    offline = (
        await conn.execute(text(_OFFLINE), {"resident_id": resident_id, "start": start, "end": end})
    ).all()
    seen = [h for h in hubs if h.last_seen_at is not None]
    hub_online = None if not seen else all(h.online for h in seen)
    return HomeView(
        resident_id=resident_id,
        resident_name=resident_name,
        timezone=timezone,
        events=[
            Event(r.time, r.sensor_id, r.kind, r.room_kind, r.room_name, r.value) for r in readings
        ],
        sensors=[SensorInfo(s.id, s.kind, s.room_kind, s.room_name) for s in sensors],
        hub_online=hub_online,
        last_report_before={s.id: s.last_before for s in sensors if s.last_before is not None},
        offline=[(o.opened_at, o.resolved_at) for o in offline],
    )
