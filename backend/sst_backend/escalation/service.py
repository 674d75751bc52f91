"""Editing escalation policies, emergency contacts and duty, with access checks and audit."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.access import may_see_resident, sees_whole_facility
from sst_backend.audit import record
from sst_backend.errors import APIError, not_found
from sst_backend.escalation import repository
from sst_backend.escalation.schemas import ContactIn, DutyOut, PolicyIn, PolicyOut
from sst_core.db.models import EmergencyContact, EscalationPolicy, Resident, StaffDuty, User
from sst_core.domain import Role, Severity


def require_staff(user: User) -> None:
    """Guardians follow their resident; policies and duty are staff matters."""
    if user.role == Role.GUARDIAN:
        raise APIError(403, "forbidden", "Only staff can see this.")


def require_editor(user: User) -> None:
    """Admins and charge nurses edit policies and contacts."""
    if not sees_whole_facility(user):
        raise APIError(403, "forbidden", "Only an admin or a charge nurse can change this.")


async def require_resident(session: AsyncSession, *, user: User, resident_id: int) -> Resident:
    """The resident, if `user` may see them (else 404, revealing nothing)."""
    resident = await session.get(Resident, resident_id)
    if resident is None or not await may_see_resident(session, user=user, resident_id=resident_id):
        raise not_found("The resident")
    return resident


async def effective_policies(
    session: AsyncSession, *, facility_id: int, resident_id: int | None
) -> list[PolicyOut]:
    """The policy in force for each severity."""
    out = []
    for severity in Severity:
        policy, source = await repository.find_policy(
            session, facility_id=facility_id, resident_id=resident_id, severity=severity.value
        )
        out.append(
            PolicyOut(
                severity=severity,
                source=source,
                resident_id=resident_id if source == "resident" else None,
                **policy.model_dump(),
            )
        )
    return out


async def save_policy(
    session: AsyncSession,
    *,
    user: User,
    resident_id: int | None,
    severity: Severity,
    body: PolicyIn,
) -> PolicyOut:
    """Create or replace the facility's (or a resident's) policy for one severity."""
    require_editor(user)
    if resident_id is not None:
        await require_resident(session, user=user, resident_id=resident_id)
    values = {
        "facility_id": user.facility_id,
        "resident_id": resident_id,
        "severity": severity.value,
        "steps": [s.model_dump(mode="json") for s in body.steps],
        "reminder_interval_s": body.reminder_interval_s,
        "updated_by": user.id,
        "updated_at": datetime.now(UTC),
    }
    statement = insert(EscalationPolicy).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["facility_id", "resident_id", "severity"],
        set_={
            k: statement.excluded[k]
            for k in ("steps", "reminder_interval_s", "updated_by", "updated_at")
        },
    )
    await session.execute(statement)
    record(
        session,
        actor=user,
        action="escalation_policy.save",
        target_type="resident" if resident_id else "facility",
        target_id=resident_id or user.facility_id,
        details={"severity": severity.value, **body.model_dump(mode="json")},
    )
    return PolicyOut(
        severity=severity,
        source="resident" if resident_id else "facility",
        resident_id=resident_id,
        **body.model_dump(),
    )


async def delete_policy(
    session: AsyncSession, *, user: User, resident_id: int | None, severity: Severity
) -> None:
    """Remove a stored policy: the facility's (or the default) applies again."""
    require_editor(user)
    if resident_id is not None:
        await require_resident(session, user=user, resident_id=resident_id)
    row = await repository.get_policy_row(
        session, facility_id=user.facility_id, resident_id=resident_id, severity=severity.value
    )
    if row is None:
        raise not_found("That policy")
    await session.delete(row)
    record(
        session,
        actor=user,
        action="escalation_policy.delete",
        target_type="resident" if resident_id else "facility",
        target_id=resident_id or user.facility_id,
        details={"severity": severity.value},
    )


async def list_contacts(
    session: AsyncSession, *, user: User, resident_id: int
) -> list[EmergencyContact]:
    """Emergency contacts of a resident, first to call first."""
    await require_resident(session, user=user, resident_id=resident_id)
    query = (
        select(EmergencyContact)
        .where(EmergencyContact.resident_id == resident_id)
        .order_by(EmergencyContact.priority, EmergencyContact.id)
    )
    return list((await session.scalars(query)).all())


async def add_contact(
    session: AsyncSession, *, user: User, resident_id: int, body: ContactIn
) -> EmergencyContact:
    """Add an emergency contact to a resident."""
    require_editor(user)
    await require_resident(session, user=user, resident_id=resident_id)
    contact = EmergencyContact(resident_id=resident_id, **body.model_dump())
    session.add(contact)
    await session.flush()
    record(
        session,
        actor=user,
        action="emergency_contact.add",
        target_type="resident",
        target_id=resident_id,
        details={"contact_id": contact.id},
    )
    return contact


async def delete_contact(
    session: AsyncSession, *, user: User, resident_id: int, contact_id: int
) -> None:
    """Remove an emergency contact."""
    require_editor(user)
    await require_resident(session, user=user, resident_id=resident_id)
    contact = await session.get(EmergencyContact, contact_id)
    if contact is None or contact.resident_id != resident_id:
        raise not_found("The contact")
    await session.delete(contact)
    record(
        session,
        actor=user,
        action="emergency_contact.delete",
        target_type="resident",
        target_id=resident_id,
        details={"contact_id": contact_id},
    )


async def set_duty(session: AsyncSession, *, user: User, staff_id: int, on_duty: bool) -> DutyOut:
    """Put a member of staff on or off duty: themselves, or anyone of the facility for editors."""
    require_staff(user)
    staff = await session.get(User, staff_id)
    if (
        staff is None
        # Plain staff set only their own duty; anyone else is "not found" to them.
        or (staff_id != user.id and not sees_whole_facility(user))
        or staff.facility_id != user.facility_id
        or staff.role == Role.GUARDIAN
        or not staff.is_active
    ):
        raise not_found("The member of staff")
    now = datetime.now(UTC)
    statement = insert(StaffDuty).values(user_id=staff_id, on_duty=on_duty, changed_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=["user_id"], set_={"on_duty": on_duty, "changed_at": now}
    )
    await session.execute(statement)
    record(
        session,
        actor=user,
        action="staff.duty",
        target_type="user",
        target_id=staff_id,
        details={"on_duty": on_duty},
    )
    return DutyOut(user_id=staff_id, full_name=staff.full_name, on_duty=on_duty, changed_at=now)


async def on_duty(session: AsyncSession, *, user: User) -> list[DutyOut]:
    """Staff of the facility who are on duty now."""
    require_staff(user)
    query = (
        select(User, StaffDuty.changed_at)
        .join(StaffDuty, StaffDuty.user_id == User.id)
        .where(
            User.facility_id == user.facility_id,
            StaffDuty.on_duty.is_(True),
            User.is_active.is_(True),
        )
        .order_by(User.full_name)
    )
    return [
        DutyOut(user_id=u.id, full_name=u.full_name, on_duty=True, changed_at=at)
        for u, at in (await session.execute(query)).all()
    ]
