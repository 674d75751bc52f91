"""The demo facility `make run` starts with: staff, a guardian, three residents at home."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.auth.passwords import hash_password
from sst_backend.settings import BackendSettings
from sst_core.db.models import (
    Facility,
    GuardianLink,
    Home,
    Hub,
    Resident,
    Room,
    Sensor,
    StaffAssignment,
    User,
)
from sst_core.db.session import make_engine, make_sessionmaker

log = logging.getLogger("sst.backend.seed")

DEMO_FACILITY = "Sunrise Home Care (demo)"
DEMO_PASSWORD = "sst-demo-2026"

# (room name, room kind, [(sensor key, sensor kind), ...]): a typical one-bedroom flat.
STANDARD_LAYOUT: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("Bedroom", "bedroom", [("bedroom-motion", "motion"), ("bed-pressure", "bed")]),
    (
        "Bathroom",
        "bathroom",
        [("bathroom-motion", "motion"), ("toilet-flush", "toilet"), ("fall-1", "fall_detector")],
    ),
    ("Kitchen", "kitchen", [("kitchen-motion", "motion"), ("kettle-plug", "power")]),
    (
        "Living room",
        "living",
        [("living-motion", "motion"), ("living-temp", "temperature"), ("smoke-1", "smoke")],
    ),
    ("Entrance", "entrance", [("front-door", "door"), ("button-1", "emergency_button")]),
]

DEMO_RESIDENTS = [
    ("Kim Young-ja", "Asia/Seoul", "demo-hub-1"),
    ("Margaret Jones", "Europe/London", "demo-hub-2"),
    ("Park Chul-soo", "Asia/Seoul", "demo-hub-3"),
]

DEMO_USERS = [
    ("admin@sst.demo", "Alex Admin", "admin", False),
    ("nurse@sst.demo", "Noor Nurse", "staff", False),
    ("daughter@sst.demo", "Kim Ji-woo", "guardian", False),
]


async def seed_demo(settings: BackendSettings, *, password: str | None = None) -> None:
    """Create the demo facility unless it exists; print nothing secret but the demo logins."""
    engine = make_engine(settings.database_url, pool_size=2)
    sessionmaker = make_sessionmaker(engine)
    try:
        async with sessionmaker() as session, session.begin():
            if await session.scalar(select(Facility.id).where(Facility.name == DEMO_FACILITY)):
                log.info("demo facility already there")
                return
            facility = Facility(name=DEMO_FACILITY, timezone="Asia/Seoul")
            session.add(facility)
            await session.flush()
            pw_hash = hash_password(password or DEMO_PASSWORD)
            users = {
                role: User(
                    facility_id=facility.id,
                    email=email,
                    full_name=name,
                    role=role,
                    is_charge_nurse=charge,
                    password_hash=pw_hash,
                )
                for email, name, role, charge in DEMO_USERS
            }
            session.add_all(users.values())
            for index, (name, tz, serial) in enumerate(DEMO_RESIDENTS):
                home = Home(facility_id=facility.id, label=f"{name}'s home", timezone=tz)
                session.add(home)
                await session.flush()
                resident = Resident(facility_id=facility.id, home_id=home.id, full_name=name)
                hub = Hub(home_id=home.id, serial=serial)
                session.add_all([resident, hub])
                await session.flush()
                session.add(StaffAssignment(staff_id=users["staff"].id, resident_id=resident.id))
                if index == 0:
                    session.add(
                        GuardianLink(
                            guardian_id=users["guardian"].id,
                            resident_id=resident.id,
                            relation="daughter",
                        )
                    )
                await add_standard_rooms(session, home_id=home.id, hub_id=hub.id)
            log.info("demo facility created")
    finally:
        await engine.dispose()


async def add_standard_rooms(session: AsyncSession, *, home_id: int, hub_id: int) -> dict[str, int]:
    """Add the standard rooms and sensors to a home; return sensor ids by key."""
    sensors: dict[str, int] = {}
    for room_name, room_kind, room_sensors in STANDARD_LAYOUT:
        room = Room(home_id=home_id, name=room_name, kind=room_kind)
        session.add(room)
        await session.flush()
        for key, kind in room_sensors:
            sensor = Sensor(hub_id=hub_id, room_id=room.id, key=key, kind=kind)
            session.add(sensor)
            await session.flush()
            sensors[key] = sensor.id
    return sensors
