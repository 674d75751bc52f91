"""User administration for a facility's admins: accounts, staff assignments, guardian links."""

from __future__ import annotations

import asyncio
from typing import Literal

import socketio
from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.audit import record
from sst_backend.auth.password_policy import require_strong_password
from sst_backend.auth.passwords import hash_password
from sst_backend.auth.service import close_sockets_after_commit, end_all_sessions
from sst_backend.errors import APIError, not_found
from sst_backend.users import repository
from sst_backend.users.schemas import UserAdminOut, UserCreate, UserUpdate
from sst_core.db.models import User
from sst_core.domain import Role


def _email_taken() -> APIError:
    return APIError(409, "email_taken", "This e-mail is already used by another account.")


async def to_out(session: AsyncSession, users: list[User]) -> list[UserAdminOut]:
    """The admin view of accounts, with their residents."""
    residents = await repository.resident_ids_of(session, users=users)
    return [
        UserAdminOut(
            id=u.id,
            email=u.email,
            full_name=u.full_name,
            role=Role(u.role),
            facility_id=u.facility_id,
            is_charge_nurse=u.is_charge_nurse,
            is_active=u.is_active,
            created_at=u.created_at,
            resident_ids=residents.get(u.id, []),
        )
        for u in users
    ]


async def get_account(
    session: AsyncSession, *, admin: User, user_id: int, lock: bool = False
) -> User:
    """An account of the admin's facility, or 404 (never another facility's)."""
    user = await repository.get_in_facility(
        session, facility_id=admin.facility_id, user_id=user_id, lock=lock
    )
    if user is None:
        raise not_found("The user")
    return user


async def create_account(session: AsyncSession, *, admin: User, body: UserCreate) -> User:
    """Open an account in the admin's facility."""
    email = body.email.strip().lower()
    if body.is_charge_nurse and body.role != Role.STAFF:
        raise APIError(422, "invalid_request", "Only staff can be charge nurses.")
    require_strong_password(body.password, email=email)
    if await repository.email_taken(session, email=email):
        raise _email_taken()
    user = User(
        facility_id=admin.facility_id,
        email=email,
        full_name=body.full_name,
        role=body.role.value,
        is_charge_nurse=body.is_charge_nurse,
        password_hash=await asyncio.to_thread(hash_password, body.password),
        is_active=True,
    )
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError as exc:  # the same e-mail created concurrently
        raise _email_taken() from exc
    await session.refresh(user)
    record(
        session,
        actor=admin,
        action="user.create",
        target_type="user",
        target_id=user.id,
        details={"role": user.role, "is_charge_nurse": user.is_charge_nurse},
    )
    return user


async def update_account(
    session: AsyncSession,
    redis: Redis,
    sio: socketio.AsyncServer | None,
    *,
    admin: User,
    user_id: int,
    body: UserUpdate,
) -> User:
    """Change an account; deactivating it ends its sessions at once."""
    user = await get_account(session, admin=admin, user_id=user_id, lock=True)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "email" in changes:
        changes["email"] = changes["email"].strip().lower()
        if await repository.email_taken(session, email=changes["email"], except_id=user.id):
            raise _email_taken()
    if changes.get("is_charge_nurse") and user.role != Role.STAFF:
        raise APIError(422, "invalid_request", "Only staff can be charge nurses.")
    if changes.get("is_active") is False and user.id == admin.id:
        raise APIError(409, "cannot_deactivate_self", "Ask another admin to deactivate you.")
    was_active = user.is_active
    for field, value in changes.items():
        setattr(user, field, value)
    if was_active and not user.is_active:
        await end_all_sessions(session, redis, sio, user=user)
    elif "is_charge_nurse" in changes:
        # Live sockets joined rooms under the old rule; they reconnect under the new one.
        close_sockets_after_commit(session, sio, redis, user_id=user.id, session_id=None)
    record(
        session,
        actor=admin,
        action="user.update",
        target_type="user",
        target_id=user.id,
        details={k: v for k, v in changes.items() if k != "email"} | {"email": "email" in changes},
    )
    return user


async def revoke_sessions(
    session: AsyncSession,
    redis: Redis,
    sio: socketio.AsyncServer | None,
    *,
    admin: User,
    user_id: int,
) -> int:
    """End every session of an account of the facility at once."""
    user = await get_account(session, admin=admin, user_id=user_id, lock=True)
    ended = await end_all_sessions(session, redis, sio, user=user)
    record(
        session,
        actor=admin,
        action="user.revoke_sessions",
        target_type="user",
        target_id=user.id,
        details={"sessions_ended": ended},
    )
    return ended


async def _account_and_resident(
    session: AsyncSession, *, admin: User, user_id: int, resident_id: int, role: Role
) -> User:
    user = await get_account(session, admin=admin, user_id=user_id)
    resident = await repository.resident_in_facility(
        session, facility_id=admin.facility_id, resident_id=resident_id
    )
    if resident is None:
        raise not_found("The resident")
    if user.role != role:
        raise APIError(409, "wrong_role", f"This account is not a {role.value} account.")
    return user


# How a change of an account's link to a resident is audited, by the account's role.
_LINK_ACTIONS = {
    (Role.STAFF, True): "staff.assign",
    (Role.STAFF, False): "staff.unassign",
    (Role.GUARDIAN, True): "guardian.link",
    (Role.GUARDIAN, False): "guardian.unlink",
}


async def set_resident_link(
    session: AsyncSession,
    redis: Redis,
    sio: socketio.AsyncServer | None,
    *,
    admin: User,
    user_id: int,
    resident_id: int,
    role: Literal[Role.STAFF, Role.GUARDIAN],
    linked: bool,
    relation: str | None = None,
) -> User:
    """Assign a resident to a staff member or link them to a guardian (`relation`), or undo it."""
    user = await _account_and_resident(
        session, admin=admin, user_id=user_id, resident_id=resident_id, role=role
    )
    if role == Role.STAFF and linked:
        changed = await repository.assign(session, staff_id=user.id, resident_id=resident_id)
    elif role == Role.STAFF:
        changed = await repository.unassign(session, staff_id=user.id, resident_id=resident_id)
    elif linked:
        assert relation is not None, "a guardian is linked with how they are related"
        changed = await repository.link(
            session, guardian_id=user.id, resident_id=resident_id, relation=relation
        )
    else:
        changed = await repository.unlink(session, guardian_id=user.id, resident_id=resident_id)
    if changed:
        record(
            session,
            actor=admin,
            action=_LINK_ACTIONS[(role, linked)],
            target_type="resident",
            target_id=resident_id,
            details={f"{role.value}_id": user.id},  # staff_id or guardian_id
        )
        # The account's live sockets follow the old set of residents: renew them.
        close_sockets_after_commit(session, sio, redis, user_id=user.id, session_id=None)
    return user
