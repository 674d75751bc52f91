"""User administration, for the admins of a facility (never reaching another facility)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.auth.dependencies import AdminUser
from sst_backend.auth.schemas import SessionsEnded
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES, FORBIDDEN_RESPONSE, ErrorResponse
from sst_backend.path_ids import ResidentId, UserId
from sst_backend.users import repository, service
from sst_backend.users.schemas import GuardianLinkRequest, UserAdminOut, UserCreate, UserUpdate
from sst_core.db.models import User
from sst_core.domain import Role

router = APIRouter(prefix="/admin/users", tags=["admin: users"])

_ERRORS: dict[int | str, dict[str, Any]] = {**ERROR_RESPONSES, **FORBIDDEN_RESPONSE}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    409: {"model": ErrorResponse, "description": "In conflict with the account as it is."},
}


def _sio(request: Request) -> Any:
    return getattr(request.app.state, "sio", None)


async def _one(session: Session, user: Any) -> UserAdminOut:
    return (await service.to_out(session, [user]))[0]


@router.get("", response_model=list[UserAdminOut], responses=_ERRORS)
async def list_users(
    admin: AdminUser,
    session: Session,
    role: Annotated[Role | None, Query(description="Only this role.")] = None,
    active: Annotated[bool | None, Query(description="Only active or inactive.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[UserAdminOut]:
    """Accounts of your facility, by name."""
    users = await repository.list_in_facility(
        session,
        facility_id=admin.facility_id,
        role=role,
        active=active,
        limit=limit,
        offset=offset,
    )
    return await service.to_out(session, users)


@router.post("", status_code=201, response_model=UserAdminOut, responses=_CONFLICT)
async def create_user(body: UserCreate, admin: AdminUser, session: Session) -> UserAdminOut:
    """Open an account (staff, guardian or admin) in your facility."""
    user = await service.create_account(session, admin=admin, body=body)
    return await _one(session, user)


@router.get("/{user_id}", response_model=UserAdminOut, responses=_ERRORS)
async def get_user(user_id: UserId, admin: AdminUser, session: Session) -> UserAdminOut:
    """One account of your facility."""
    return await _one(session, await service.get_account(session, admin=admin, user_id=user_id))


@router.patch("/{user_id}", response_model=UserAdminOut, responses=_CONFLICT)
async def update_user(
    user_id: UserId, body: UserUpdate, admin: AdminUser, session: Session, request: Request
) -> UserAdminOut:
    """Change an account; is_active=false deactivates it and ends its sessions at once."""
    user = await service.update_account(
        session, request.app.state.redis, _sio(request), admin=admin, user_id=user_id, body=body
    )
    return await _one(session, user)


@router.post("/{user_id}/revoke-sessions", response_model=SessionsEnded, responses=_ERRORS)
async def revoke_sessions(
    user_id: UserId, admin: AdminUser, session: Session, request: Request
) -> SessionsEnded:
    """Log the account out everywhere at once (its tokens and live sockets stop working)."""
    ended = await service.revoke_sessions(
        session, request.app.state.redis, _sio(request), admin=admin, user_id=user_id
    )
    return SessionsEnded(sessions_ended=ended)


@dataclass(frozen=True)
class _ResidentLink:
    """An account and a resident named in the path, with the request about them."""

    request: Request
    session: AsyncSession
    admin: User
    user_id: int
    resident_id: int

    async def set(
        self,
        *,
        role: Literal[Role.STAFF, Role.GUARDIAN],
        linked: bool,
        relation: str | None = None,
    ) -> UserAdminOut:
        """Link the account to the resident, or unlink it; the account as it is then."""
        user = await service.set_resident_link(
            self.session,
            self.request.app.state.redis,
            _sio(self.request),
            admin=self.admin,
            user_id=self.user_id,
            resident_id=self.resident_id,
            role=role,
            linked=linked,
            relation=relation,
        )
        return await _one(self.session, user)


def _resident_link(
    user_id: UserId, resident_id: ResidentId, admin: AdminUser, session: Session, request: Request
) -> _ResidentLink:
    return _ResidentLink(request, session, admin, user_id, resident_id)


ResidentLink = Annotated[_ResidentLink, Depends(_resident_link)]


@router.put(
    "/{user_id}/assignments/{resident_id}", response_model=UserAdminOut, responses=_CONFLICT
)
async def assign_resident(link: ResidentLink) -> UserAdminOut:
    """Make a staff member responsible for a resident (doing it twice changes nothing)."""
    return await link.set(role=Role.STAFF, linked=True)


@router.delete(
    "/{user_id}/assignments/{resident_id}", response_model=UserAdminOut, responses=_CONFLICT
)
async def unassign_resident(link: ResidentLink) -> UserAdminOut:
    """Take a resident off a staff member's list."""
    return await link.set(role=Role.STAFF, linked=False)


@router.put(
    "/{user_id}/guardian-links/{resident_id}", response_model=UserAdminOut, responses=_CONFLICT
)
async def link_guardian(body: GuardianLinkRequest, link: ResidentLink) -> UserAdminOut:
    """Let a guardian follow a resident (or change how they are related)."""
    return await link.set(role=Role.GUARDIAN, linked=True, relation=body.relation)


@router.delete(
    "/{user_id}/guardian-links/{resident_id}", response_model=UserAdminOut, responses=_CONFLICT
)
async def unlink_guardian(link: ResidentLink) -> UserAdminOut:
    """Stop a guardian from following a resident."""
    return await link.set(role=Role.GUARDIAN, linked=False)
