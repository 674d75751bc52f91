"""Acknowledging, resolving and reopening alerts, with timeline, escalation, audit, announcement."""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.alerts import repository
from sst_backend.alerts.repository import AlertRow
from sst_backend.alerts.schemas import AlertOut
from sst_backend.announce import after_commit
from sst_backend.audit import record
from sst_backend.errors import APIError, not_found
from sst_backend.escalation import engine
from sst_backend.escalation.repository import load_context
from sst_core.const import ALERTS_STREAM, STREAM_MAXLEN
from sst_core.db.models import User
from sst_core.domain import AlertState, Role
from sst_core.texts import stored_alert_text


def to_out(row: AlertRow) -> AlertOut:
    """The API shape of an alert row."""
    alert, facility_id, room = row
    return AlertOut(
        id=alert.id,
        resident_id=alert.resident_id,
        facility_id=facility_id,
        kind=alert.kind,
        severity=alert.severity,
        state=alert.state,
        title=alert.title,
        explanation=alert.explanation,
        count=alert.count,
        opened_at=alert.opened_at,
        last_seen_at=alert.last_seen_at,
        sensor_id=alert.sensor_id,
        room=room,
        text=stored_alert_text(alert.text),
    )


async def _load_for_change(session: AsyncSession, *, user: User, alert_id: int) -> AlertRow:
    if user.role == Role.GUARDIAN:
        raise APIError(403, "forbidden", "Guardians can follow alerts; staff handle them.")
    row = await repository.get_visible(session, user=user, alert_id=alert_id, lock=True)
    if row is None:
        raise not_found("The alert")
    return row


def _announce(session: AsyncSession, redis: Redis, out: AlertOut) -> None:
    async def publish() -> None:
        await redis.xadd(ALERTS_STREAM, out.to_stream(), maxlen=STREAM_MAXLEN, approximate=True)

    after_commit(session, publish)


async def acknowledge(
    session: AsyncSession, redis: Redis, *, user: User, alert_id: int
) -> AlertOut:
    """Say that someone is on it; acknowledging twice keeps the first acknowledgement."""
    row = await _load_for_change(session, user=user, alert_id=alert_id)
    alert = row[0]
    if alert.state == AlertState.RESOLVED:
        raise APIError(409, "alert_resolved", "This alert is already resolved.")
    if alert.state == AlertState.OPEN:
        now = datetime.now(UTC)
        alert.state, alert.acknowledged_by, alert.acknowledged_at = (
            AlertState.ACKNOWLEDGED.value,
            user.id,
            now,
        )
        alert.updated_at = now
        repository.add_event(session, alert=alert, action="acknowledged", actor=user, note=None)
        await engine.on_acknowledged(session, alert_id=alert.id, acknowledged_at=now)
        record(
            session, actor=user, action="alert.acknowledge", target_type="alert", target_id=alert.id
        )
        _announce(session, redis, to_out(row))
    return to_out(row)


async def resolve(
    session: AsyncSession, redis: Redis, *, user: User, alert_id: int, note: str
) -> AlertOut:
    """Close an alert with what was found and done."""
    row = await _load_for_change(session, user=user, alert_id=alert_id)
    alert = row[0]
    if alert.state == AlertState.RESOLVED:
        raise APIError(409, "alert_resolved", "This alert is already resolved.")
    now = datetime.now(UTC)
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = user.id, now
    alert.state, alert.resolved_by, alert.resolved_at = AlertState.RESOLVED.value, user.id, now
    alert.resolution_note, alert.updated_at = note, now
    repository.add_event(session, alert=alert, action="resolved", actor=user, note=note)
    await engine.on_resolved(session, alert_id=alert.id, now=now)
    record(session, actor=user, action="alert.resolve", target_type="alert", target_id=alert.id)
    out = to_out(row)
    _announce(session, redis, out)
    return out


async def reopen(
    session: AsyncSession, redis: Redis, *, user: User, alert_id: int, note: str
) -> AlertOut:
    """Open a resolved alert again; its escalation starts over from the first step."""
    row = await _load_for_change(session, user=user, alert_id=alert_id)
    alert = row[0]
    if alert.state != AlertState.RESOLVED:
        raise APIError(409, "alert_not_resolved", "Only a resolved alert can be reopened.")
    newer = await repository.open_of_kind(session, resident_id=alert.resident_id, kind=alert.kind)
    if newer is not None:
        raise APIError(
            409,
            "alert_superseded",
            f"A newer alert of this kind is open (#{newer}); follow that one instead.",
            {"open_alert_id": newer},
        )
    now = datetime.now(UTC)
    alert.state, alert.updated_at = AlertState.OPEN.value, now
    alert.acknowledged_by = alert.acknowledged_at = None
    alert.resolved_by = alert.resolved_at = alert.resolution_note = None
    try:
        await session.flush()
    except IntegrityError as exc:  # inference opened one of this kind meanwhile
        raise APIError(
            409, "alert_superseded", "A newer alert of this kind is open; follow that one."
        ) from exc
    repository.add_event(session, alert=alert, action="reopened", actor=user, note=note)
    ctx = await load_context(session, alert_id=alert.id)
    if ctx is not None:
        await engine.restart(session, ctx=ctx, now=now)
    record(session, actor=user, action="alert.reopen", target_type="alert", target_id=alert.id)
    out = to_out(row)
    _announce(session, redis, out)
    return out
