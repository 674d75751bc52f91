"""Socket.IO rooms of the backend: per user, per resident (everyone or staff), per facility."""

from __future__ import annotations

from typing import Final

from sst_backend.realtime.events import Audience, Target
from sst_core.const import facility_room, resident_room

NOTIFICATION_EVENT: Final = "notification"


def user_room(user_id: int) -> str:
    """Socket.IO room of one user's own connections (in-app notifications)."""
    return f"user:{user_id}"


def resident_staff_room(resident_id: int) -> str:
    """Room of the care staff following a resident (events guardians must not receive)."""
    return f"resident:{resident_id}:staff"


def rooms_of(target: Target) -> list[str]:
    """The rooms an event for `target` is sent to."""
    rooms = [facility_room(target.facility_id)]
    if target.audience == Audience.ALL:
        if target.resident_id is not None:
            rooms.append(resident_room(target.resident_id))
        return rooms
    if target.resident_id is not None:
        rooms.append(resident_staff_room(target.resident_id))
    return rooms
