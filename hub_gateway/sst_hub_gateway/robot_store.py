"""Queries of the robot relay: a command's lifecycle and a robot's status, in PostgreSQL.

A command's state only moves forward (queued < sent < acknowledged < running < a final
state: succeeded, failed, expired), so a duplicate or late report changes nothing.
Every function runs in the caller's transaction and returns the change it made, for the
caller to announce after the commit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from sst_core.domain import RobotCommandState as S
from sst_core.robot_details import EXPIRED_UNFINISHED, EXPIRED_WAITING, detail_text
from sst_core.robot_messages import OFFLINE, RobotCommandEvent, RobotStatusEvent
from sst_core.texts import Text, english
from sst_hub_gateway.parsing import Rejection

FINAL = frozenset({S.SUCCEEDED, S.FAILED, S.EXPIRED})
_RANK = {S.QUEUED: 0, S.SENT: 1, S.ACKNOWLEDGED: 2, S.RUNNING: 3}
_OPEN_STATES = ["queued", "sent", "acknowledged", "running"]

_COMMAND = """
SELECT c.id, c.robot_id, r.serial, r.state AS robot_state, c.command, c.args, c.state,
       c.attempts, c.expires_at, c.detail
FROM robot_commands c JOIN robots r ON r.id = c.robot_id
WHERE c.id = $1
"""
# New words replace the text with the one that came with them (none: SST's or bare words).
_SET_STATE = """
UPDATE robot_commands
SET state = $2, detail = COALESCE($3, detail), updated_at = now(),
    detail_text = CASE WHEN $3::text IS NULL THEN detail_text ELSE $4::jsonb END
WHERE id = $1
RETURNING id, robot_id, command, state, attempts, detail, detail_text
"""
_MARK_SENT = """
UPDATE robot_commands
SET attempts = attempts + 1, updated_at = now(),
    state = CASE WHEN state = 'queued' THEN 'sent' ELSE state END
WHERE id = $1
RETURNING id, robot_id, command, state, attempts, detail, detail_text
"""
_EXPIRE = """
UPDATE robot_commands c
SET state = 'expired', updated_at = now(),
    detail = CASE WHEN c.state = 'queued' THEN $2 ELSE $3 END, detail_text = NULL
FROM robots r
WHERE r.id = c.robot_id AND c.state = ANY($1::text[]) AND c.expires_at <= now()
RETURNING c.id, c.robot_id, r.serial, c.command, c.state, c.attempts, c.detail, c.detail_text
"""
# What to publish: queued commands, and sent ones the robot has not acknowledged in time,
# of robots that are online; `$4` (a robot id) narrows it to one robot that just came back
# and then resends its unacknowledged commands at once.
_DUE = """
SELECT c.id, c.robot_id, r.serial, c.command, c.args, c.expires_at, c.state, c.attempts
FROM robot_commands c JOIN robots r ON r.id = c.robot_id
WHERE c.expires_at > now() AND c.attempts < $1
  AND r.state IS NOT NULL AND r.state <> 'offline'
  AND (c.state = 'queued'
       OR (c.state = 'sent' AND ($4::int IS NOT NULL
                                 OR c.updated_at < now() - make_interval(secs => $2))))
  AND ($4::int IS NULL OR c.robot_id = $4)
ORDER BY c.id
LIMIT $3
"""
_STATUS = """
WITH before AS (
    SELECT id, state, position, battery_pct FROM robots WHERE serial = $1 FOR UPDATE
)
UPDATE robots r
SET state = $2, position = COALESCE($3, r.position), battery_pct = COALESCE($4, r.battery_pct),
    last_seen_at = GREATEST(r.last_seen_at, $5)
FROM before
WHERE r.id = before.id
RETURNING r.id, r.state, r.position, r.battery_pct, before.state AS was_state,
          before.position AS was_position, before.battery_pct AS was_battery
"""
_SILENT = """
UPDATE robots SET state = 'offline'
WHERE state IS NOT NULL AND state <> 'offline'
  AND (last_seen_at IS NULL OR last_seen_at < now() - make_interval(secs => $1))
RETURNING id, serial, position, battery_pct
"""


def advances(current: str, new: S) -> bool:
    """Whether moving a command from `current` to `new` is forward (never backwards)."""
    if current in FINAL:
        return False
    return new in FINAL or _RANK[new] > _RANK[S(current)]


def _command_event(row: Any, serial: str) -> RobotCommandEvent:
    return RobotCommandEvent(
        command_id=row["id"],
        robot_id=row["robot_id"],
        robot_serial=serial,
        command=row["command"],
        state=S(row["state"]),
        attempts=row["attempts"],
        detail=row["detail"],
        detail_text=detail_text(None, orjson.loads(row["detail_text"]))
        if row["detail_text"]
        else None,  # jsonb comes as text
        at=datetime.now(UTC),
    )


async def load_command(conn: asyncpg.Connection, command_id: int) -> asyncpg.Record | None:
    """A command with its robot's serial and state, or None."""
    return await conn.fetchrow(_COMMAND, command_id)


async def report(
    conn: asyncpg.Connection,
    *,
    robot_serial: str,
    command_id: int,
    state: S,
    detail: str | None,
    text: Text | None = None,
) -> RobotCommandEvent | Rejection | None:
    """Apply an ack or progress report; the change, a rejection, or None (nothing new).

    `text` is `detail` as key + params (a robot's progress text that SST can render)."""
    row = await conn.fetchrow(_COMMAND + " FOR UPDATE OF c", command_id)
    if row is None:
        return Rejection(
            "unknown_command", f"no command {command_id} (from robot {robot_serial!r})"
        )
    if row["serial"] != robot_serial:
        return Rejection(
            "foreign_command",
            f"command {command_id} is not robot {robot_serial!r}'s (it is {row['serial']!r}'s)",
        )
    if not advances(row["state"], state):
        return None  # a duplicate, or late: the lifecycle never goes backwards
    stored = orjson.dumps(text.model_dump(mode="json")).decode() if text else None
    updated = await conn.fetchrow(_SET_STATE, command_id, state.value, detail, stored)
    return _command_event(updated, robot_serial)


async def mark_sent(
    conn: asyncpg.Connection, command_id: int, robot_serial: str
) -> RobotCommandEvent | None:
    """Count a publish the broker acknowledged; the event if it moved queued -> sent."""
    row = await conn.fetchrow(_MARK_SENT, command_id)
    # attempts counts acknowledged publishes only: the first one is the queued -> sent step.
    if row is None or row["state"] != S.SENT or row["attempts"] != 1:
        return None
    return _command_event(row, robot_serial)


async def mark_failed(
    conn: asyncpg.Connection, command_id: int, robot_serial: str, detail: str
) -> RobotCommandEvent:
    """Fail a command SST cannot send (it breaks the contract)."""
    row = await conn.fetchrow(_SET_STATE, command_id, S.FAILED.value, detail, None)
    return _command_event(row, robot_serial)


async def expire_due(conn: asyncpg.Connection) -> list[RobotCommandEvent]:
    """Expire every unfinished command past its expiry."""
    rows = await conn.fetch(
        _EXPIRE, _OPEN_STATES, english(EXPIRED_WAITING), english(EXPIRED_UNFINISHED)
    )
    return [_command_event(row, row["serial"]) for row in rows]


async def due_commands(
    conn: asyncpg.Connection,
    *,
    max_attempts: int,
    ack_timeout_s: float,
    robot_id: int | None = None,
    limit: int = 200,
) -> list[asyncpg.Record]:
    """Commands to publish now (see _DUE)."""
    return await conn.fetch(_DUE, max_attempts, ack_timeout_s, limit, robot_id)


async def update_status(
    conn: asyncpg.Connection,
    *,
    serial: str,
    state: str,
    position: str | None,
    battery: float | None,
    seen_at: datetime,
) -> tuple[RobotStatusEvent | None, bool, int] | None:
    """Store a robot's status: (the change or None, came online?, robot id); None: unknown."""
    row = await conn.fetchrow(_STATUS, serial, state, position, battery, seen_at)
    if row is None:
        return None
    came_online = row["was_state"] in (None, OFFLINE) and row["state"] != OFFLINE
    unchanged = (row["state"], row["position"], row["battery_pct"]) == (
        row["was_state"],
        row["was_position"],
        row["was_battery"],
    )
    if unchanged:
        return None, came_online, row["id"]
    event = RobotStatusEvent(
        robot_id=row["id"],
        robot_serial=serial,
        state=row["state"],
        position=row["position"],
        battery_pct=row["battery_pct"],
        at=datetime.now(UTC),
    )
    return event, came_online, row["id"]


async def silent_robots(conn: asyncpg.Connection, timeout_s: float) -> list[RobotStatusEvent]:
    """Mark robots not heard from for `timeout_s` offline; their status events."""
    rows = await conn.fetch(_SILENT, timeout_s)
    now = datetime.now(UTC)
    return [
        RobotStatusEvent(
            robot_id=row["id"],
            robot_serial=row["serial"],
            state=OFFLINE,
            position=row["position"],
            battery_pct=row["battery_pct"],
            at=now,
        )
        for row in rows
    ]
