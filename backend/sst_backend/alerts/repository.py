"""Queries about alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.access import visible_residents_query
from sst_core.db.models import (
    Alert,
    AlertEvent,
    NotificationDelivery,
    Resident,
    Room,
    Sensor,
    User,
)

AlertRow = tuple[Alert, int, str | None]


def _with_context() -> Select[Alert, int, str]:
    return (
        select(Alert, Resident.facility_id, Room.name)
        .join(Resident, Resident.id == Alert.resident_id)
        .outerjoin(Sensor, Sensor.id == Alert.sensor_id)
        .outerjoin(Room, Room.id == Sensor.room_id)
    )


@dataclass(frozen=True)
class AlertFilter:
    """What the alert list is narrowed to; empty lists mean "any"."""

    states: list[str]
    severities: list[str] = field(default_factory=list)
    resident_ids: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    after: tuple[datetime, int] | None = None  # cursor: (last_seen_at, id) of the last row


async def list_visible(
    session: AsyncSession, *, user: User, where: AlertFilter, limit: int
) -> Sequence[AlertRow]:
    """Alerts of residents `user` may see, matching the filter, newest activity first."""
    query = _with_context().where(
        Alert.resident_id.in_(visible_residents_query(user)), Alert.state.in_(where.states)
    )
    if where.severities:
        query = query.where(Alert.severity.in_(where.severities))
    if where.resident_ids:
        query = query.where(Alert.resident_id.in_(where.resident_ids))
    if where.kinds:
        query = query.where(Alert.kind.in_(where.kinds))
    # An alert belongs to a time range when it was active in it (opened before its end,
    # last seen after its start).
    if where.since is not None:
        query = query.where(Alert.last_seen_at >= where.since)
    if where.until is not None:
        query = query.where(Alert.opened_at < where.until)
    if where.after is not None:
        query = query.where(tuple_(Alert.last_seen_at, Alert.id) < tuple_(*where.after))
    query = query.order_by(Alert.last_seen_at.desc(), Alert.id.desc()).limit(limit)
    return [(row[0], row[1], row[2]) for row in (await session.execute(query)).all()]


async def timeline(session: AsyncSession, *, alert_id: int) -> list[tuple[AlertEvent, str | None]]:
    """The alert's events, oldest first, with the name of who acted."""
    query = (
        select(AlertEvent, User.full_name)
        .outerjoin(User, User.id == AlertEvent.actor_id)
        .where(AlertEvent.alert_id == alert_id)
        .order_by(AlertEvent.at, AlertEvent.id)
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def deliveries(
    session: AsyncSession, *, alert_id: int, recipient_user_id: int | None = None
) -> list[NotificationDelivery]:
    """The alert's notifications, oldest first; only one user's when `recipient_user_id`."""
    query = select(NotificationDelivery).where(NotificationDelivery.alert_id == alert_id)
    if recipient_user_id is not None:
        query = query.where(NotificationDelivery.recipient_user_id == recipient_user_id)
    query = query.order_by(NotificationDelivery.created_at, NotificationDelivery.id)
    return list((await session.scalars(query)).all())


async def open_of_kind(session: AsyncSession, *, resident_id: int, kind: str) -> int | None:
    """The id of the resident's unresolved alert of this kind, if any."""
    query = select(Alert.id).where(
        Alert.resident_id == resident_id, Alert.kind == kind, Alert.state != "resolved"
    )
    return await session.scalar(query)


async def get_visible(
    session: AsyncSession, *, user: User, alert_id: int, lock: bool = False
) -> AlertRow | None:
    """One alert if `user` may see its resident."""
    query = _with_context().where(
        Alert.id == alert_id, Alert.resident_id.in_(visible_residents_query(user))
    )
    if lock:
        query = query.with_for_update(of=Alert)
    row = (await session.execute(query)).first()
    return (row[0], row[1], row[2]) if row else None


def add_event(
    session: AsyncSession, *, alert: Alert, action: str, actor: User, note: str | None
) -> None:
    """Append a step to the alert's timeline."""
    details = {"note": note} if note else {}
    session.add(AlertEvent(alert_id=alert.id, action=action, actor_id=actor.id, details=details))
