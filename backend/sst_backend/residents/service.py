"""Creating and changing residents (admins); reading one (whoever may see them)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.audit import record
from sst_backend.care_access import require_admin
from sst_backend.errors import APIError, not_found
from sst_backend.residents import repository
from sst_backend.residents.schemas import ResidentCreate, ResidentDetail, ResidentUpdate
from sst_core.db.models import Home, Resident, User


def detail(resident: Resident, home: Home | None) -> ResidentDetail:
    """The API shape of a resident's profile."""
    return ResidentDetail(
        id=resident.id,
        facility_id=resident.facility_id,
        full_name=resident.full_name,
        date_of_birth=resident.date_of_birth,
        video_consent=resident.video_consent,
        video_recording_consent=resident.video_recording_consent,
        home_id=resident.home_id,
        home_label=home.label if home else None,
        timezone=home.timezone if home else None,
        created_at=resident.created_at,
    )


async def _free_home(
    session: AsyncSession, *, user: User, home_id: int, resident_id: int | None = None
) -> Home:
    home = await repository.home_in_facility(session, facility_id=user.facility_id, home_id=home_id)
    if home is None:
        raise not_found("The home")
    if await repository.home_taken(session, home_id=home.id, except_id=resident_id):
        raise APIError(409, "home_occupied", "Another resident already lives in this home.")
    return home


async def get_resident(session: AsyncSession, *, user: User, resident_id: int) -> ResidentDetail:
    """A resident `user` may see; the view is audited."""
    row = await repository.get_visible(session, user=user, resident_id=resident_id)
    if row is None:
        raise not_found("The resident")
    record(
        session, actor=user, action="resident.view", target_type="resident", target_id=resident_id
    )
    return detail(*row)


async def create_resident(
    session: AsyncSession, *, user: User, body: ResidentCreate
) -> ResidentDetail:
    """A new resident of the admin's facility, in an existing or a new home."""
    require_admin(user, doing="add a resident")
    home: Home | None = None
    if body.home_id is not None:
        home = await _free_home(session, user=user, home_id=body.home_id)
    elif body.home is not None:
        home = Home(
            facility_id=user.facility_id, label=body.home.label, timezone=body.home.timezone
        )
        session.add(home)
        await session.flush()
    resident = Resident(
        facility_id=user.facility_id,
        home_id=home.id if home else None,
        full_name=body.full_name,
        date_of_birth=body.date_of_birth,
        video_consent=body.video_consent,
        video_recording_consent=body.video_recording_consent,
    )
    session.add(resident)
    await session.flush()
    await session.refresh(resident)
    record(
        session, actor=user, action="resident.create", target_type="resident", target_id=resident.id
    )
    return detail(resident, home)


async def update_resident(
    session: AsyncSession, *, user: User, resident_id: int, body: ResidentUpdate
) -> ResidentDetail:
    """Change a resident's profile, home or consent."""
    require_admin(user, doing="change a resident")
    resident = await repository.get_in_facility(
        session, facility_id=user.facility_id, resident_id=resident_id, lock=True
    )
    if resident is None:
        raise not_found("The resident")
    changes = body.changes()
    if changes.get("home_id") is not None:
        await _free_home(session, user=user, home_id=changes["home_id"], resident_id=resident.id)
    for field, value in changes.items():
        setattr(resident, field, value)
    details: dict[str, object] = {"fields": sorted(changes)}
    for consent in ("video_consent", "video_recording_consent"):
        if consent in changes:
            details[consent] = changes[consent]  # consent changes are evidence
    record(
        session,
        actor=user,
        action="resident.update",
        target_type="resident",
        target_id=resident.id,
        details=details,
    )
    await session.flush()
    row = await repository.get_visible(session, user=user, resident_id=resident.id)
    assert row is not None  # an admin sees every resident of their facility
    return detail(*row)
