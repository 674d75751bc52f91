"""Creating, changing and removing homes and rooms (admins of the facility)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.audit import record
from sst_backend.care_access import home_to_change, home_to_read, require_admin
from sst_backend.errors import APIError, not_found
from sst_backend.homes import repository
from sst_backend.homes.schemas import (
    HomeCreate,
    HomeOut,
    HomeUpdate,
    RoomCreate,
    RoomOut,
    RoomUpdate,
)
from sst_core.db.models import Home, Room, User


def home_out(home: Home, resident_id: int | None) -> HomeOut:
    """The API shape of a home."""
    return HomeOut(
        id=home.id,
        facility_id=home.facility_id,
        label=home.label,
        timezone=home.timezone,
        resident_id=resident_id,
    )


def room_out(room: Room) -> RoomOut:
    """The API shape of a room."""
    return RoomOut(id=room.id, home_id=room.home_id, name=room.name, kind=room.kind)


async def get_home(session: AsyncSession, *, user: User, home_id: int) -> HomeOut:
    """A home `user` may see."""
    home = await home_to_read(session, user=user, home_id=home_id)
    return home_out(home, await repository.resident_of(session, home_id=home.id))


async def create_home(session: AsyncSession, *, user: User, body: HomeCreate) -> HomeOut:
    """A new home in the admin's facility."""
    require_admin(user, doing="add a home")
    home = Home(facility_id=user.facility_id, label=body.label, timezone=body.timezone)
    session.add(home)
    await session.flush()
    record(session, actor=user, action="home.create", target_type="home", target_id=home.id)
    return home_out(home, None)


async def update_home(
    session: AsyncSession, *, user: User, home_id: int, body: HomeUpdate
) -> HomeOut:
    """Relabel a home or change its time zone."""
    home = await home_to_change(session, user=user, home_id=home_id, doing="change a home")
    changes = body.changes()
    for name, value in changes.items():
        setattr(home, name, value)
    record(
        session,
        actor=user,
        action="home.update",
        target_type="home",
        target_id=home.id,
        details={"fields": sorted(changes)},
    )
    await session.flush()
    return home_out(home, await repository.resident_of(session, home_id=home.id))


async def delete_home(session: AsyncSession, *, user: User, home_id: int) -> None:
    """Remove an empty home with its rooms and devices."""
    home = await home_to_change(
        session, user=user, home_id=home_id, doing="remove a home", lock=True
    )
    if await repository.resident_of(session, home_id=home.id) is not None:
        raise APIError(
            409,
            "home_occupied",
            "A resident lives in this home: move them out, or erase the resident, first.",
        )
    await session.delete(home)
    record(session, actor=user, action="home.delete", target_type="home", target_id=home_id)


async def list_rooms(session: AsyncSession, *, user: User, home_id: int) -> list[RoomOut]:
    """Rooms of a home `user` may see."""
    home = await home_to_read(session, user=user, home_id=home_id)
    return [room_out(r) for r in await repository.rooms_of(session, home_id=home.id)]


async def create_room(
    session: AsyncSession, *, user: User, home_id: int, body: RoomCreate
) -> RoomOut:
    """A new room in a home."""
    home = await home_to_change(session, user=user, home_id=home_id, doing="add a room", lock=True)
    if await repository.room_name_taken(session, home_id=home.id, name=body.name):
        raise APIError(409, "room_exists", f"This home already has a room named {body.name!r}.")
    room = Room(home_id=home.id, name=body.name, kind=body.kind.value)
    session.add(room)
    await session.flush()
    record(session, actor=user, action="room.create", target_type="room", target_id=room.id)
    return room_out(room)


async def _room_to_change(session: AsyncSession, *, user: User, room_id: int, doing: str) -> Room:
    require_admin(user, doing=doing)
    room = await repository.get_room(session, room_id=room_id)
    if room is None:
        raise not_found("The room")
    try:
        await home_to_change(session, user=user, home_id=room.home_id, doing=doing, lock=True)
    except APIError as exc:
        raise not_found("The room") from exc
    return room


async def update_room(
    session: AsyncSession, *, user: User, room_id: int, body: RoomUpdate
) -> RoomOut:
    """Rename a room or change its kind."""
    room = await _room_to_change(session, user=user, room_id=room_id, doing="change a room")
    changes = body.changes()
    name = changes.get("name")
    if name is not None and await repository.room_name_taken(
        session, home_id=room.home_id, name=name, except_id=room.id
    ):
        raise APIError(409, "room_exists", f"This home already has a room named {name!r}.")
    if "kind" in changes:
        changes["kind"] = changes["kind"].value
    for field, value in changes.items():
        setattr(room, field, value)
    record(session, actor=user, action="room.update", target_type="room", target_id=room.id)
    await session.flush()
    return room_out(room)


async def delete_room(session: AsyncSession, *, user: User, room_id: int) -> None:
    """Remove a room; its sensors stay on the hub without a room."""
    room = await _room_to_change(session, user=user, room_id=room_id, doing="remove a room")
    await session.delete(room)
    record(session, actor=user, action="room.delete", target_type="room", target_id=room_id)
