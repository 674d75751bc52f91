"""Builders of realistic care data for tests: every call makes new, unique rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.seed import STANDARD_LAYOUT, add_standard_rooms
from sst_core.db.models import (
    Facility,
    GuardianLink,
    Home,
    Hub,
    Resident,
    StaffAssignment,
    User,
    VideoRecording,
    VideoSession,
)
from sst_core.objects import recording_key

PASSWORD = "correct horse battery staple"
_HASH = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)


def zone_at_midday(now: datetime | None = None) -> str:
    """A fixed-offset zone (Etc/GMT...) whose wall clock reads 11:30-12:30 at `now`.

    For tests that must act on the real clock's "today" in a home: made there, the home is
    hours from a local midnight whenever the suite runs (a home in a named zone is not).
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    offset = round(12 - now.hour - now.minute / 60)  # -12 (Etc/GMT+12) ... +12 (Etc/GMT-12)
    # POSIX signs: Etc/GMT-9 is nine hours ahead of UTC.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


@dataclass
class HomeFixture:
    """Ids and keys of one built home, for tests to publish and assert with."""

    facility_id: int
    resident_id: int
    home_id: int
    hub_id: int
    hub_serial: str
    timezone: str
    staff_email: str
    guardian_email: str
    admin_email: str
    sensors: dict[str, int] = field(default_factory=dict)  # key -> sensor id
    password: str = PASSWORD


async def make_home(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    timezone: str = "Asia/Seoul",
    facility_id: int | None = None,
) -> HomeFixture:
    """Create (in one transaction) a resident at home with a hub and standard sensors."""
    tag = uuid.uuid4().hex[:10]
    async with sessionmaker() as session, session.begin():
        if facility_id is None:
            facility = Facility(name=f"Facility {tag}", timezone=timezone)
            session.add(facility)
            await session.flush()
            facility_id = facility.id
        home = Home(facility_id=facility_id, label=f"Flat {tag}", timezone=timezone)
        session.add(home)
        await session.flush()
        resident = Resident(facility_id=facility_id, home_id=home.id, full_name=f"Resident {tag}")
        hub = Hub(home_id=home.id, serial=f"hub-{tag}")
        users = {
            role: User(
                facility_id=facility_id,
                email=f"{role}-{tag}@example.test",
                full_name=f"{role.title()} {tag}",
                role=role,
                password_hash=_HASH,
            )
            for role in ("admin", "staff", "guardian")
        }
        session.add_all([resident, hub, *users.values()])
        await session.flush()
        session.add(StaffAssignment(staff_id=users["staff"].id, resident_id=resident.id))
        session.add(GuardianLink(guardian_id=users["guardian"].id, resident_id=resident.id))
        sensors = await add_standard_rooms(session, home_id=home.id, hub_id=hub.id)
        return HomeFixture(
            facility_id=facility_id,
            resident_id=resident.id,
            home_id=home.id,
            hub_id=hub.id,
            hub_serial=hub.serial,
            timezone=timezone,
            staff_email=users["staff"].email,
            guardian_email=users["guardian"].email,
            admin_email=users["admin"].email,
            sensors=sensors,
        )


@dataclass(frozen=True)
class StoredRecording:
    """A finished, recorded video session's recording row; its file is the caller's to put."""

    recording_id: int
    session_id: str
    key: str


async def make_stored_recording(
    sessionmaker: async_sessionmaker[AsyncSession],
    home: HomeFixture,
    *,
    size_bytes: int,
    delete_after: datetime | None = None,
) -> StoredRecording:
    """A video session that ended five minutes after it was asked for, with a stored
    recording (row only: the test puts the file of `size_bytes` under `key` in its store)."""
    session_id = uuid.uuid4().hex
    key = recording_key(home.resident_id, session_id)
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        session.add(
            VideoSession(
                id=session_id,
                resident_id=home.resident_id,
                hub_id=home.hub_id,
                hub_serial=home.hub_serial,
                basis="alert",
                state="ended",
                requested_at=now - timedelta(minutes=5),
                connect_by=now,
                expires_at=now,
                ended_at=now,
                end_reason="hangup",
                recorded=True,
            )
        )
        await session.flush()
        row = VideoRecording(
            session_id=session_id,
            resident_id=home.resident_id,
            state="stored",
            object_key=key,
            content_type="video/mp4",
            size_bytes=size_bytes,
            duration_s=1.0,
            frames=30,
            stored_at=now,
            delete_after=delete_after or now + timedelta(days=30),
        )
        session.add(row)
        await session.flush()
        return StoredRecording(int(row.id), session_id, key)


__all__ = [
    "PASSWORD",
    "STANDARD_LAYOUT",
    "HomeFixture",
    "StoredRecording",
    "make_home",
    "make_stored_recording",
]
