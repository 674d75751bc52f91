"""Who may read and change care data (homes, rooms, devices), built on access.py's rule.

Reading follows the resident: whoever may see a resident may see their home and its
devices; admins see every home of their facility, with or without a resident. Changing
is for admins, and only inside their own facility; anything else is "not found".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.access import visible_residents_query
from sst_backend.errors import ERROR_RESPONSES, APIError, ErrorResponse, not_found
from sst_core.db.models import Home, Resident, User
from sst_core.domain import Role


def require_admin(user: User, *, doing: str) -> None:
    """Refuse (403) anyone but an admin."""
    if user.role != Role.ADMIN:
        raise APIError(403, "forbidden", f"Only a facility admin can {doing}.")


def visible_homes_query(user: User) -> Select[Any]:
    """Ids of the homes `user` may see."""
    if user.role == Role.ADMIN:
        return select(Home.id).where(Home.facility_id == user.facility_id)
    return select(Resident.home_id).where(
        Resident.id.in_(visible_residents_query(user)), Resident.home_id.is_not(None)
    )


async def home_to_read(session: AsyncSession, *, user: User, home_id: int) -> Home:
    """The home, if `user` may see it; else 404."""
    home = await session.scalar(
        select(Home).where(Home.id == home_id, Home.id.in_(visible_homes_query(user)))
    )
    if home is None:
        raise not_found("The home")
    return home


async def home_to_change(
    session: AsyncSession, *, user: User, home_id: int, doing: str, lock: bool = False
) -> Home:
    """The home, if `user` is an admin of its facility; else 403 or 404."""
    require_admin(user, doing=doing)
    query = select(Home).where(Home.id == home_id, Home.facility_id == user.facility_id)
    home = await session.scalar(query.with_for_update() if lock else query)
    if home is None:
        raise not_found("The home")
    return home


READ_ERRORS = ERROR_RESPONSES
CHANGE_ERRORS: dict[int | str, dict[str, object]] = {
    **ERROR_RESPONSES,
    403: {"model": ErrorResponse, "description": "Only a facility admin may do this."},
    409: {"model": ErrorResponse, "description": "It conflicts with what is stored."},
}
