"""Queries of the live-event log: append in id order, read what a client missed, prune."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, delete, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.realtime.events import Audience, Target
from sst_core.db.models import LiveEvent

# One writer at a time: ids are then committed in order, so "everything after id N" read
# at any moment is complete up to the newest committed row (no later commit of a lower id).
_WRITE_LOCK = 0x5_57_1_1FE  # an arbitrary advisory-lock key owned by the live feed


@dataclass(frozen=True)
class NewEvent:
    """An event to append to the log."""

    event: str
    payload: dict[str, Any]
    target: Target
    coalesce_key: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Following:
    """What one socket follows (its rooms, as ids) and whether it may receive staff events."""

    staff: bool
    facility_id: int | None = None  # the whole facility (admins, charge nurses)
    resident_ids: frozenset[int] = field(default_factory=frozenset)


_COLUMNS = (
    "event",
    "audience",
    "facility_id",
    "resident_id",
    "home_id",
    "coalesce_key",
    "source",
    "payload",
)
_APPEND = text(
    """
    INSERT INTO live_events
        (event, audience, facility_id, resident_id, home_id, coalesce_key, source, payload)
    SELECT e, a, f, r, h, k, s, CAST(p AS jsonb)
    FROM unnest(CAST(:event AS text[]), CAST(:audience AS text[]), CAST(:facility_id AS int[]),
                CAST(:resident_id AS int[]), CAST(:home_id AS int[]),
                CAST(:coalesce_key AS text[]), CAST(:source AS text[]), CAST(:payload AS text[]))
         WITH ORDINALITY AS t(e, a, f, r, h, k, s, p, n)
    ORDER BY n
    ON CONFLICT (source) DO UPDATE SET source = EXCLUDED.source
    RETURNING id
    """
)


def _row(event: NewEvent) -> dict[str, Any]:
    return {
        "event": event.event,
        "audience": event.target.audience.value,
        "facility_id": event.target.facility_id,
        "resident_id": event.target.resident_id,
        "home_id": event.target.home_id,
        "coalesce_key": event.coalesce_key,
        "source": event.source,
        "payload": event.payload,
    }


async def append(session: AsyncSession, events: Sequence[NewEvent]) -> list[int]:
    """Store events (in the caller's transaction) and return their ids, in order.

    An event whose `source` is already stored gets the stored row's id back (a redelivered
    stream entry is the same event, not a new one).
    """
    if not events:
        return []
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK})
    # One statement for the batch, its text fixed (prepared once, no per-batch SQL
    # compiling): ids follow the arrays' order. A redelivered stream entry (same source)
    # gets its stored row back instead of a new one.
    columns: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
    for event in events:
        for name, value in _row(event).items():
            columns[name].append(value)
    columns["payload"] = [orjson.dumps(p).decode() for p in columns["payload"]]
    result = await session.execute(_APPEND, columns)
    return [int(i) for i in result.scalars()]


def _visible(following: Following) -> Any:
    conditions = []
    if following.facility_id is not None:
        conditions.append(LiveEvent.facility_id == following.facility_id)
    if following.resident_ids:
        by_resident: Any = LiveEvent.resident_id.in_(following.resident_ids)
        if not following.staff:
            by_resident = by_resident & (LiveEvent.audience == Audience.ALL.value)
        conditions.append(by_resident)
    return or_(*conditions) if conditions else None


def missed_query(following: Following, *, after: int, limit: int) -> Select[Any] | None:
    """Events after `after` the socket may see, oldest first (None: it follows nothing)."""
    visible = _visible(following)
    if visible is None:
        return None
    if not following.staff:
        visible = visible & (LiveEvent.audience == Audience.ALL.value)
    return (
        select(LiveEvent.id, LiveEvent.event, LiveEvent.coalesce_key, LiveEvent.payload)
        .where(LiveEvent.id > after, visible)
        .order_by(LiveEvent.id)
        .limit(limit)
    )


async def missed(
    session: AsyncSession, following: Following, *, after: int, limit: int
) -> tuple[list[tuple[int, str, dict[str, Any]]], bool]:
    """(events to replay, oldest first, superseded states left out; whether that is all)."""
    query = missed_query(following, after=after, limit=limit + 1)
    if query is None:
        return [], True
    rows = (await session.execute(query)).all()
    complete = len(rows) <= limit
    rows = rows[:limit]
    latest: dict[str, int] = {}
    for row in rows:
        if row.coalesce_key is not None:
            latest[row.coalesce_key] = row.id
    replay = [
        (int(row.id), str(row.event), dict(row.payload))
        for row in rows
        if row.coalesce_key is None or latest[row.coalesce_key] == row.id
    ]
    return replay, complete


async def newest_id(session: AsyncSession) -> int:
    """The newest event id (0 when the log is empty)."""
    return int(await session.scalar(select(func.coalesce(func.max(LiveEvent.id), 0))) or 0)


async def newest_before(session: AsyncSession, at: datetime) -> int:
    """The newest event id logged before `at` (0 when none was)."""
    query = select(LiveEvent.id).where(LiveEvent.at < at).order_by(LiveEvent.id.desc()).limit(1)
    return int(await session.scalar(query) or 0)


async def prune(session: AsyncSession, *, before: datetime, batch: int = 10_000) -> tuple[int, int]:
    """Delete a batch of events older than `before`: (how many, the highest id deleted or 0)."""
    doomed = select(LiveEvent.id).where(LiveEvent.at < before).order_by(LiveEvent.id).limit(batch)
    ids = list(
        (
            await session.execute(
                delete(LiveEvent).where(LiveEvent.id.in_(doomed)).returning(LiveEvent.id)
            )
        ).scalars()
    )
    return len(ids), max(ids, default=0)


_SUPERSEDED = text(
    """
    DELETE FROM live_events e
    WHERE e.id IN (
        SELECT old.id FROM live_events old
        WHERE old.coalesce_key IS NOT NULL AND old.at < :before
          AND EXISTS (
              SELECT 1 FROM live_events newer
              WHERE newer.coalesce_key = old.coalesce_key AND newer.id > old.id
          )
        LIMIT :batch
    )
    """
)


async def prune_superseded(session: AsyncSession, *, before: datetime, batch: int = 10_000) -> int:
    """Delete a batch of states a newer one with the same key replaced (catch-up skips them)."""
    result = await session.execute(_SUPERSEDED, {"before": before, "batch": batch})
    return int(getattr(result, "rowcount", 0) or 0)
