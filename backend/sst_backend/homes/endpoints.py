"""Homes and their rooms: admins set them up, carers and guardians read them."""

from __future__ import annotations

from fastapi import APIRouter, Response

from sst_backend.auth.dependencies import AdminUser, CurrentUser
from sst_backend.care_access import CHANGE_ERRORS, READ_ERRORS
from sst_backend.db import Session
from sst_backend.homes import repository, service
from sst_backend.homes.schemas import (
    HomeCreate,
    HomeOut,
    HomeUpdate,
    RoomCreate,
    RoomOut,
    RoomUpdate,
)
from sst_backend.path_ids import HomeId, RoomId

router = APIRouter(tags=["homes"])


@router.get("/homes", response_model=list[HomeOut], responses=READ_ERRORS)
async def list_homes(user: CurrentUser, session: Session) -> list[HomeOut]:
    """Homes you may see (admins: every home of the facility)."""
    rows = await repository.list_visible(session, user=user)
    return [service.home_out(home, resident_id) for home, resident_id in rows]


@router.post("/homes", response_model=HomeOut, status_code=201, responses=CHANGE_ERRORS)
async def create_home(body: HomeCreate, user: AdminUser, session: Session) -> HomeOut:
    """Add a home to your facility (admins)."""
    return await service.create_home(session, user=user, body=body)


@router.get("/homes/{home_id}", response_model=HomeOut, responses=READ_ERRORS)
async def get_home(home_id: HomeId, user: CurrentUser, session: Session) -> HomeOut:
    """One home you may see."""
    return await service.get_home(session, user=user, home_id=home_id)


@router.patch("/homes/{home_id}", response_model=HomeOut, responses=CHANGE_ERRORS)
async def update_home(
    home_id: HomeId, body: HomeUpdate, user: AdminUser, session: Session
) -> HomeOut:
    """Relabel a home or change its time zone (admins)."""
    return await service.update_home(session, user=user, home_id=home_id, body=body)


@router.delete("/homes/{home_id}", status_code=204, responses=CHANGE_ERRORS)
async def delete_home(home_id: HomeId, user: AdminUser, session: Session) -> Response:
    """Remove a home nobody lives in, with its rooms and devices (admins)."""
    await service.delete_home(session, user=user, home_id=home_id)
    return Response(status_code=204)


@router.get("/homes/{home_id}/rooms", response_model=list[RoomOut], responses=READ_ERRORS)
async def list_rooms(home_id: HomeId, user: CurrentUser, session: Session) -> list[RoomOut]:
    """Rooms of a home you may see."""
    return await service.list_rooms(session, user=user, home_id=home_id)


@router.post(
    "/homes/{home_id}/rooms", response_model=RoomOut, status_code=201, responses=CHANGE_ERRORS
)
async def create_room(
    home_id: HomeId, body: RoomCreate, user: AdminUser, session: Session
) -> RoomOut:
    """Add a room to a home (admins)."""
    return await service.create_room(session, user=user, home_id=home_id, body=body)


@router.patch("/rooms/{room_id}", response_model=RoomOut, responses=CHANGE_ERRORS)
async def update_room(
    room_id: RoomId, body: RoomUpdate, user: AdminUser, session: Session
) -> RoomOut:
    """Rename a room or change its kind (admins)."""
    return await service.update_room(session, user=user, room_id=room_id, body=body)


@router.delete("/rooms/{room_id}", status_code=204, responses=CHANGE_ERRORS)
async def delete_room(room_id: RoomId, user: AdminUser, session: Session) -> Response:
    """Remove a room; its sensors stay, without a room (admins)."""
    await service.delete_room(session, user=user, room_id=room_id)
    return Response(status_code=204)
