"""User administration, for the admins of a facility (never reaching another facility)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from sst_backend.auth.dependencies import AdminUser
from sst_backend.auth.schemas import SessionsEnded
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES, FORBIDDEN_RESPONSE, ErrorResponse
from sst_backend.users import repository, service
from sst_backend.users.schemas import GuardianLinkRequest, UserAdminOut, UserCreate, UserUpdate
from sst_core.domain import Role

router = APIRouter(prefix="/admin/users", tags=["admin: users"])

UserId = Annotated[int, Path(ge=1, le=2**31 - 1, description="User id.")]
ResidentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Resident id.")]
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


@router.put(
    "/{user_id}/assignments/{resident_id}", response_model=UserAdminOut, responses=_CONFLICT
)
async def assign_resident(
    user_id: UserId, resident_id: ResidentId, admin: AdminUser, session: Session, request: Request
) -> UserAdminOut:
    """Make a staff member responsible for a resident (doing it twice changes nothing)."""
    user = await service.set_assignment(
        session,
        request.app.state.redis,
        _sio(request),
        admin=admin,
        user_id=user_id,
        resident_id=resident_id,
        assigned=True,
    )
    return await _one(session, user)


@router.delete(
    "/{user_id}/assignments/{resident_id}", response_model=UserAdminOut, responses=_CONFLICT
)
async def unassign_resident(
    user_id: UserId, resident_id: ResidentId, admin: AdminUser, session: Session, request: Request
) -> UserAdminOut:
    """Take a resident off a staff member's list."""
    user = await service.set_assignment(
        session,
        request.app.state.redis,
        _sio(request),
        admin=admin,
        user_id=user_id,
        resident_id=resident_id,
        assigned=False,
    )
    return await _one(session, user)


@router.put(
    "/{user_id}/guardian-links/{resident_id}", response_model=UserAdminOut, responses=_CONFLICT
)
async def link_guardian(
    user_id: UserId,
    resident_id: ResidentId,
    body: GuardianLinkRequest,
    admin: AdminUser,
    session: Session,
    request: Request,
) -> UserAdminOut:
    """Let a guardian follow a resident (or change how they are related)."""
    user = await service.set_guardian_link(
        session,
        request.app.state.redis,
        _sio(request),
        admin=admin,
        user_id=user_id,
        resident_id=resident_id,
        relation=body.relation,
    )
    return await _one(session, user)


@router.delete(
    "/{user_id}/guardian-links/{resident_id}", response_model=UserAdminOut, responses=_CONFLICT
)
async def unlink_guardian(
    user_id: UserId, resident_id: ResidentId, admin: AdminUser, session: Session, request: Request
) -> UserAdminOut:
    """Stop a guardian from following a resident."""
    user = await service.set_guardian_link(
        session,
        request.app.state.redis,
        _sio(request),
        admin=admin,
        user_id=user_id,
        resident_id=resident_id,
        relation=None,
    )
    return await _one(session, user)
