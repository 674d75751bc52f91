"""Opening, repeating and resolving alerts: a row in PostgreSQL first, then an entry on the
alerts stream.

One open alert per (resident, kind): the partial unique index turns a second fall into
`count + 1` on the open alert. The hub's time of the reading decides what is new: a
reading no later than the alert's `last_seen_at` (a redelivery, a replay after a restart)
changes nothing, so the stream consumer can be at-least-once without double counting.

Every announcement sets a marker in the same Redis transaction (announcing.py): an open
state `sst:alerts:announced:{alert}:{count}`, an automatic resolution
`sst:alerts:resolved:{alert}` naming the resolution's `resolved_at`. A state whose marker
is missing (the process died between the commit and the XADD) is announced by whoever reads
the row next: a replayed reading (`raise_alert`), the resident's next windowed evaluation
(detector.py, for its own alerts and for every automatic resolution of the resident in the
last `RESOLUTION_REPAIR_WINDOW`). A resolution made by a person is the backend's to announce.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import orjson
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sst_ai_inference.announcing import Marked, announce_marked, markers
from sst_ai_inference.rules import AlertDraft
from sst_core.const import ALERTS_STREAM
from sst_core.domain import AlertState
from sst_core.messages import AlertMessage
from sst_core.texts import Text, english, phrase, stored_alert_text

log = logging.getLogger("sst.inference.alerts")

_COLUMNS = """id, resident_id, kind, severity, state, title, explanation, text, count, sensor_id,
    opened_at, last_seen_at, resolved_at,
    (SELECT r.name FROM sensors s JOIN rooms r ON r.id = s.room_id
     WHERE s.id = alerts.sensor_id) AS room"""
# Whether the alert's current resolution is inference's own: `resolve_automatically` writes
# `resolved_at` and its "auto-resolved" step with the same now() of one transaction; a
# person's resolution (the backend's clock), or an alert reopened since, has no such step.
_AUTO_RESOLVED = """(alerts.state = 'resolved' AND alerts.resolved_by IS NULL AND EXISTS (
    SELECT 1 FROM alert_events e WHERE e.alert_id = alerts.id AND e.action = 'auto-resolved'
      AND e.at = alerts.resolved_at))"""
# The columns of an alert row as `alert_message` and `unannounced` read them (table `alerts`).
ALERT_COLUMNS = f"{_COLUMNS}, {_AUTO_RESOLVED} AS auto_resolved"
# How far back a resident's evaluation looks for automatic resolutions never announced. Well
# under the markers' time to live (7 days), so a repair is never repeated; a day covers any
# crash, and an outage of every inference process up to a day.
RESOLUTION_REPAIR_WINDOW = timedelta(hours=24)

# A reading inside a resolved alert's span was already counted by it: replaying it must
# not open a new alert (NOT EXISTS); a later reading does (the index ignores resolved rows).
_UPSERT = f"""
INSERT INTO alerts (resident_id, kind, severity, state, title, explanation, text, count,
                    sensor_id, opened_at, last_seen_at, updated_at)
SELECT CAST(:resident_id AS integer), CAST(:kind AS varchar), CAST(:severity AS varchar),
       'open', CAST(:title AS varchar), CAST(:explanation AS text), CAST(:text AS jsonb), 1,
       CAST(:sensor_id AS integer), CAST(:at AS timestamptz), CAST(:at AS timestamptz), now()
WHERE NOT EXISTS (
    SELECT 1 FROM alerts done
    WHERE done.resident_id = CAST(:resident_id AS integer) AND done.kind = CAST(:kind AS varchar)
      AND done.state = 'resolved'
      AND CAST(:at AS timestamptz) BETWEEN done.opened_at AND done.last_seen_at
)
ON CONFLICT (resident_id, kind) WHERE state <> 'resolved'
DO UPDATE SET count = alerts.count + 1, last_seen_at = EXCLUDED.last_seen_at, updated_at = now()
WHERE alerts.last_seen_at < EXCLUDED.last_seen_at
RETURNING {_COLUMNS}
"""

_TIMELINE = """
INSERT INTO alert_events (alert_id, at, action, details)
VALUES (:alert_id, now(), :action, CAST(:details AS jsonb))
"""

_OPEN_AT = f"""
SELECT {_COLUMNS} FROM alerts
WHERE resident_id = :resident_id AND kind = :kind AND state <> 'resolved'
  AND last_seen_at = :at
"""


def announced_key(alert_id: int, count: int) -> str:
    """Redis key marking that this state (alert, count) of an alert is on the alerts stream."""
    return f"sst:alerts:announced:{alert_id}:{count}"


def resolution_key(alert_id: int) -> str:
    """Redis key naming the automatic resolution of an alert last put on the alerts stream."""
    return f"sst:alerts:resolved:{alert_id}"


def resolution_marker(resolved_at: datetime) -> bytes:
    """The value of `resolution_key`: which resolution (an alert reopened and resolved again
    has a new one)."""
    return resolved_at.astimezone(UTC).isoformat().encode()


def _message(row: RowMapping, facility_id: int) -> AlertMessage:
    return AlertMessage(
        id=row["id"],
        resident_id=row["resident_id"],
        facility_id=facility_id,
        kind=row["kind"],
        severity=row["severity"],
        state=row["state"],
        title=row["title"],
        explanation=row["explanation"],
        count=row["count"],
        opened_at=row["opened_at"],
        last_seen_at=row["last_seen_at"],
        sensor_id=row["sensor_id"],
        room=row["room"],
        text=stored_alert_text(row["text"]),
    )


async def _record(
    conn: AsyncConnection, draft: AlertDraft, judged_at: datetime | None = None
) -> RowMapping | None:
    params = {
        "resident_id": draft.resident_id,
        "kind": draft.kind.value,
        "severity": draft.severity.value,
        "title": draft.title,
        "explanation": draft.explanation,
        "text": draft.text.model_dump_json() if draft.text is not None else None,
        "sensor_id": draft.sensor_id,
        "at": draft.at,
    }
    row = (await conn.execute(text(_UPSERT), params)).mappings().first()
    if row is None:
        return None
    details = {
        "sensor_id": draft.sensor_id,
        "reading_at": draft.at.isoformat(),
        "count": row["count"],
    }
    if judged_at is not None:  # a windowed rule: the instant it decided, on its clock
        details["judged_at"] = judged_at.isoformat()
    await conn.execute(
        text(_TIMELINE),
        {
            "alert_id": row["id"],
            "action": "raised" if row["count"] == 1 else "repeated",
            "details": orjson.dumps(details).decode(),
        },
    )
    return row


async def record_alert(
    conn: AsyncConnection, draft: AlertDraft, *, judged_at: datetime | None = None
) -> RowMapping | None:
    """Open or repeat a drafted alert inside the caller's transaction; None if nothing changed.

    `judged_at`: the instant a windowed rule decided (its episode began at `draft.at`).
    """
    return await _record(conn, draft, judged_at)


async def announced(redis: Redis, alert_id: int, count: int) -> bool:
    """Whether this state (alert, count) of an alert is on the alerts stream already."""
    [marker] = await markers(redis, [announced_key(alert_id, count)])
    return marker is not None


async def announce(redis: Redis, message: AlertMessage) -> None:
    """Put one alert state on the alerts stream and mark it announced, atomically."""
    marked = Marked(message.to_stream(), announced_key(message.id, message.count))
    await announce_marked(redis, ALERTS_STREAM, [marked])


async def announce_resolution(redis: Redis, message: AlertMessage, resolved_at: datetime) -> None:
    """Put an automatic resolution on the alerts stream and mark it announced, atomically."""
    marked = Marked(message.to_stream(), resolution_key(message.id), resolution_marker(resolved_at))
    await announce_marked(redis, ALERTS_STREAM, [marked])


def _marker_of(row: RowMapping) -> tuple[str, bytes] | None:
    """The marker that says the row's state was announced by inference (key, value); None
    for a state the backend announces (a person resolved it)."""
    if row["state"] != AlertState.RESOLVED:
        return announced_key(row["id"], row["count"]), b"1"
    if row["auto_resolved"] and row["resolved_at"] is not None:
        return resolution_key(row["id"]), resolution_marker(row["resolved_at"])
    return None


async def unannounced(redis: Redis, rows: Sequence[RowMapping]) -> list[RowMapping]:
    """The rows (selected with `ALERT_COLUMNS`) whose state inference has to announce and has
    not: an open state without its marker, an automatic resolution its marker does not name.
    One Redis round trip."""
    wanted = [(row, marker) for row in rows if (marker := _marker_of(row)) is not None]
    said = await markers(redis, [key for _, (key, _) in wanted])
    return [
        row
        for (row, (_, value)), stored in zip(wanted, said, strict=True)
        if stored is None or _as_bytes(stored) != value
    ]


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


async def raise_alert(
    *, engine: AsyncEngine, redis: Redis, draft: AlertDraft, facility_id: int
) -> AlertMessage | None:
    """Open or repeat the alert a rule drafted; announce it; None when nothing changed."""
    async with engine.begin() as conn:
        row = await _record(conn, draft)
    if row is not None:
        message = _message(row, facility_id)
        await announce(redis, message)
        return message
    # Nothing changed: a replay. If the process died after the commit above but before the
    # announcement, the redelivered reading is exactly the alert's last_seen_at and the
    # announced marker of that (alert, count) is missing: announce now. The marker is
    # written in the same Redis transaction as the XADD, so a replay of a reading that was
    # announced never announces it twice. (A column on alerts would need a core migration;
    # and if Redis lost the marker it lost the stream too, so a repeat is then harmless.)
    return await _announce_if_lost(engine=engine, redis=redis, draft=draft, facility_id=facility_id)


async def _announce_if_lost(
    *, engine: AsyncEngine, redis: Redis, draft: AlertDraft, facility_id: int
) -> AlertMessage | None:
    async with engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    text(_OPEN_AT),
                    {"resident_id": draft.resident_id, "kind": draft.kind.value, "at": draft.at},
                )
            )
            .mappings()
            .first()
        )
    if row is None or await announced(redis, row["id"], row["count"]):
        return None
    message = _message(row, facility_id)
    log.warning(
        "alert %s (count %s) was stored but never announced; announcing", row["id"], row["count"]
    )
    await announce(redis, message)
    return message


_RESOLVE = f"""
UPDATE alerts SET state = 'resolved', resolved_at = now(), resolution_note = :note,
                  updated_at = now()
WHERE id = :alert_id AND state <> 'resolved'
RETURNING {_COLUMNS}
"""


async def resolve_automatically(
    conn: AsyncConnection, *, alert_id: int, reason: Text, details: dict[str, object]
) -> RowMapping | None:
    """Resolve an alert whose cause is over (no person did it); None if already resolved.

    The note and the timeline keep the English words for API clients; the timeline also has
    the reason as a message key and raw values, which the dashboard shows in its language.
    """
    note = english(phrase("resolved.note", reason=reason))
    row = (
        (await conn.execute(text(_RESOLVE), {"alert_id": alert_id, "note": note}))
        .mappings()
        .first()
    )
    if row is not None:
        await conn.execute(
            text(_TIMELINE),
            {
                "alert_id": alert_id,
                "action": "auto-resolved",
                "details": orjson.dumps(
                    {
                        "reason": english(reason),
                        "reason_text": reason.model_dump(mode="json"),
                        **details,
                    }
                ).decode(),
            },
        )
    return row


def alert_message(row: RowMapping, facility_id: int) -> AlertMessage:
    """The alerts-stream message of an alert row (selected with the usual columns)."""
    return _message(row, facility_id)
