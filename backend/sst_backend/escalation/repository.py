"""Queries of escalation: policies, recipients of a step, and due escalation rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.escalation.policies import DEFAULT_POLICIES, Policy, Target
from sst_core.db.models import (
    Alert,
    AlertEscalation,
    EmergencyContact,
    EscalationPolicy,
    GuardianLink,
    Home,
    NotificationPreference,
    Resident,
    Room,
    Sensor,
    StaffAssignment,
    StaffDuty,
    User,
)
from sst_core.domain import AlertState, Role, Severity
from sst_core.localized import DEFAULT_LANGUAGE, language_or_default


@dataclass(frozen=True)
class Recipient:
    """A person one step tells: a user (staff or guardian) or an emergency contact."""

    audience: str  # "staff", "guardian" or "contact"
    name: str
    user_id: int | None = None
    contact_id: int | None = None
    email: str | None = None
    phone: str | None = None
    preferences: NotificationPreference | None = None
    language: str = DEFAULT_LANGUAGE  # what their messages are written in

    @property
    def key(self) -> str:
        """Stable name of the recipient inside a delivery's dedupe key."""
        return f"user:{self.user_id}" if self.user_id is not None else f"contact:{self.contact_id}"


@dataclass(frozen=True)
class AlertContext:
    """An alert with what its messages need: the resident, their home's zone, the room."""

    alert: Alert
    facility_id: int
    resident_name: str
    timezone: str
    room: str | None


async def find_policy(
    session: AsyncSession, *, facility_id: int, resident_id: int | None, severity: str
) -> tuple[Policy, str]:
    """The policy that applies and where it comes from: resident, facility or default."""
    query = select(EscalationPolicy).where(
        EscalationPolicy.facility_id == facility_id,
        EscalationPolicy.severity == severity,
        (EscalationPolicy.resident_id == resident_id) | EscalationPolicy.resident_id.is_(None),
    )
    by_scope = {row.resident_id: row for row in (await session.scalars(query)).all()}
    for source, scope in (("resident", resident_id), ("facility", None)):
        row = by_scope.get(scope)
        if row is not None and (scope is not None or source == "facility"):
            return Policy(steps=row.steps, reminder_interval_s=row.reminder_interval_s), source
    return DEFAULT_POLICIES[Severity(severity)], "default"


async def get_policy_row(
    session: AsyncSession, *, facility_id: int, resident_id: int | None, severity: str
) -> EscalationPolicy | None:
    """The stored policy of exactly this scope (facility default when resident is None)."""
    resident = (
        EscalationPolicy.resident_id.is_(None)
        if resident_id is None
        else EscalationPolicy.resident_id == resident_id
    )
    query = select(EscalationPolicy).where(
        EscalationPolicy.facility_id == facility_id, EscalationPolicy.severity == severity, resident
    )
    return (await session.scalars(query)).first()


def _contexts() -> Select[Alert, int, str, str | None, str | None]:
    return (
        select(Alert, Resident.facility_id, Resident.full_name, Home.timezone, Room.name)
        .join(Resident, Resident.id == Alert.resident_id)
        .outerjoin(Home, Home.id == Resident.home_id)
        .outerjoin(Sensor, Sensor.id == Alert.sensor_id)
        .outerjoin(Room, Room.id == Sensor.room_id)
    )


def _context(row: Sequence[object]) -> AlertContext:
    alert, facility_id, name, tz, room = row
    assert isinstance(alert, Alert)
    return AlertContext(
        alert=alert,
        facility_id=int(str(facility_id)),
        resident_name=str(name),
        timezone=str(tz or "UTC"),
        room=None if room is None else str(room),
    )


async def alerts_without_escalation(session: AsyncSession, *, limit: int) -> list[AlertContext]:
    """Unresolved alerts the scheduler has not started escalating yet."""
    query = (
        _contexts()
        .outerjoin(AlertEscalation, AlertEscalation.alert_id == Alert.id)
        .where(Alert.state != AlertState.RESOLVED.value, AlertEscalation.alert_id.is_(None))
        .order_by(Alert.id)
        .limit(limit)
    )
    return [_context(row) for row in (await session.execute(query)).all()]


async def load_context(session: AsyncSession, *, alert_id: int) -> AlertContext | None:
    """One alert with its message context."""
    row = (await session.execute(_contexts().where(Alert.id == alert_id))).first()
    return _context(row) if row else None


async def due_escalations(
    session: AsyncSession, *, now: datetime, reminders: bool, limit: int
) -> list[tuple[AlertEscalation, AlertContext]]:
    """Escalation rows whose next step (or reminder) is due, locked; others' rows are skipped.

    SKIP LOCKED lets several schedulers share the work and never take the same row twice;
    locking the alert too means a concurrent acknowledgement is seen before acting.
    """
    due = AlertEscalation.remind_at if reminders else AlertEscalation.next_step_at
    query = (
        _contexts()
        .add_columns(AlertEscalation)
        .join(AlertEscalation, AlertEscalation.alert_id == Alert.id)
        .where(due <= now)
        .order_by(due)
        .limit(limit)
        .with_for_update(of=[AlertEscalation, Alert], skip_locked=True)
    )
    rows = (await session.execute(query)).all()
    return [(row[5], _context(row[:5])) for row in rows]


async def get_escalation(
    session: AsyncSession, *, alert_id: int, lock: bool = False
) -> AlertEscalation | None:
    """The escalation row of an alert."""
    query = select(AlertEscalation).where(AlertEscalation.alert_id == alert_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


def _user_recipient(user: User, prefs: NotificationPreference | None) -> Recipient:
    audience = "guardian" if user.role == Role.GUARDIAN else "staff"
    return Recipient(
        audience=audience,
        name=user.full_name,
        user_id=user.id,
        email=user.email,
        preferences=prefs,
        language=language_or_default(user.language),
    )


async def users_as_recipients(session: AsyncSession, *, user_ids: list[int]) -> list[Recipient]:
    """Active users with their notification preferences."""
    if not user_ids:
        return []
    query = (
        select(User, NotificationPreference)
        .outerjoin(NotificationPreference, NotificationPreference.user_id == User.id)
        .where(User.id.in_(user_ids), User.is_active.is_(True))
        .order_by(User.id)
    )
    return [_user_recipient(u, p) for u, p in (await session.execute(query)).all()]


async def recipients(
    session: AsyncSession, *, target: Target, resident_id: int, facility_id: int
) -> list[Recipient]:
    """Who one step of the escalation tells."""
    if target == Target.EMERGENCY_CONTACT:
        contacts = await session.scalars(
            select(EmergencyContact)
            .where(EmergencyContact.resident_id == resident_id)
            .order_by(EmergencyContact.priority, EmergencyContact.id)
        )
        return [
            Recipient(
                audience="contact",
                name=c.full_name,
                contact_id=c.id,
                email=c.email,
                phone=c.phone,
                language=language_or_default(c.language),
            )
            for c in contacts
        ]
    if target == Target.ASSIGNED_STAFF:
        ids = select(StaffAssignment.staff_id).where(StaffAssignment.resident_id == resident_id)
    elif target == Target.GUARDIANS:
        ids = select(GuardianLink.guardian_id).where(GuardianLink.resident_id == resident_id)
    else:
        ids = (
            select(User.id)
            .join(StaffDuty, and_(StaffDuty.user_id == User.id, StaffDuty.on_duty.is_(True)))
            .where(User.facility_id == facility_id, User.role.in_([Role.STAFF, Role.ADMIN]))
        )
    user_ids = [int(i) for i in (await session.scalars(ids)).all()]
    return await users_as_recipients(session, user_ids=user_ids)
