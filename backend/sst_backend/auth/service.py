"""Login sessions: log in, rotate refresh tokens, log out, change a password, end all sessions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import socketio
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.announce import after_commit
from sst_backend.audit import record
from sst_backend.auth import ratelimit, repository, revocation
from sst_backend.auth.password_policy import require_strong_password
from sst_backend.auth.passwords import hash_password, verify_password
from sst_backend.auth.schemas import TokenOut, UserOut
from sst_backend.auth.tokens import (
    TokenClaims,
    hash_refresh_token,
    issue_token,
    new_refresh_token,
    new_session_id,
)
from sst_backend.errors import APIError
from sst_backend.metrics import LOGIN_FAILURES, REFRESH_REUSE
from sst_backend.realtime.connections import disconnect_user
from sst_backend.settings import BackendSettings
from sst_core.db.models import RefreshToken, User


def _invalid_refresh() -> APIError:
    return APIError(401, "invalid_refresh_token", "This sign-in has ended; log in again.")


async def _issue_pair(
    session: AsyncSession, *, settings: BackendSettings, user: User, family_id: str
) -> TokenOut:
    token, token_hash = new_refresh_token()
    now = datetime.now(UTC)
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=token_hash,
            issued_at=now,
            expires_at=now + timedelta(seconds=settings.refresh_ttl_s),
        )
    )
    access = issue_token(
        settings,
        user_id=user.id,
        role=user.role,
        facility_id=user.facility_id,
        session_id=family_id,
    )
    return TokenOut(
        access_token=access,
        expires_in=settings.jwt_ttl_s,
        refresh_token=token,
        refresh_expires_in=settings.refresh_ttl_s,
        user=UserOut.model_validate(user),
    )


def close_sockets_after_commit(
    session: AsyncSession,
    sio: socketio.AsyncServer | None,
    redis: Redis,
    *,
    user_id: int,
    session_id: str | None,
) -> None:
    """Once committed, close the user's sockets (of one session, or all); clients reconnect
    and the connect check applies the new state (revoked, or other rooms)."""
    if sio is None:
        return

    async def close() -> None:
        await disconnect_user(sio, redis, user_id=user_id, session_id=session_id)

    after_commit(session, close)


async def login(
    session: AsyncSession,
    redis: Redis,
    *,
    settings: BackendSettings,
    email: str,
    password: str,
    address: str,
) -> TokenOut:
    """Open a login session for the right e-mail and password, within the attempt limits."""
    attempt = await ratelimit.start_attempt(redis, settings, email=email, address=address)
    user = await repository.get_by_email(session, email=email)
    # argon2 takes tens of milliseconds of CPU: off the event loop (it releases the GIL).
    ok = await asyncio.to_thread(verify_password, password, user.password_hash if user else None)
    if user is None or not ok or not user.is_active:
        LOGIN_FAILURES.inc()
        raise APIError(401, "invalid_credentials", "The e-mail or password is not right.")
    await ratelimit.attempt_succeeded(redis, attempt)
    record(session, actor=user, action="auth.login", target_type="user", target_id=user.id)
    return await _issue_pair(session, settings=settings, user=user, family_id=new_session_id())


async def refresh(
    session: AsyncSession,
    redis: Redis,
    sio: socketio.AsyncServer | None,
    *,
    settings: BackendSettings,
    refresh_token: str,
) -> TokenOut | APIError:
    """Exchange a refresh token for a new pair; reuse of a rotated one ends its whole session.

    The refusal after a reuse is returned, not raised, so that the revocation commits.
    """
    stored = await repository.get_refresh_token(
        session, token_hash=hash_refresh_token(refresh_token)
    )
    now = datetime.now(UTC)
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise _invalid_refresh()
    if stored.rotated_at is not None:
        # Someone holds a copy of a token that was already exchanged: the legitimate client
        # and a thief now share the session, and we cannot tell which is which. End it.
        REFRESH_REUSE.inc()
        await repository.revoke_family(session, family_id=stored.family_id, at=now)
        await revocation.revoke_session(
            redis, session_id=stored.family_id, access_ttl_s=settings.jwt_ttl_s
        )
        record(
            session,
            actor=None,
            action="auth.refresh_reuse",
            target_type="user",
            target_id=stored.user_id,
            details={"session": stored.family_id},
        )
        close_sockets_after_commit(
            session, sio, redis, user_id=stored.user_id, session_id=stored.family_id
        )
        return _invalid_refresh()
    user = await repository.get_active(session, user_id=stored.user_id)
    cutoff = user.tokens_valid_after if user else None
    if user is None or (cutoff is not None and stored.issued_at < cutoff):
        raise _invalid_refresh()
    stored.rotated_at = now
    return await _issue_pair(session, settings=settings, user=user, family_id=stored.family_id)


async def logout(
    session: AsyncSession,
    redis: Redis,
    sio: socketio.AsyncServer | None,
    *,
    settings: BackendSettings,
    user: User,
    claims: TokenClaims,
) -> None:
    """End this login session: its refresh tokens, this access token and its sockets."""
    now = datetime.now(UTC)
    # Redis first: refusing a token a moment early is harmless, a moment late is not.
    await revocation.revoke_access_token(
        redis, token_id=claims.token_id, expires_at=claims.expires_at
    )
    if claims.session_id:
        await revocation.revoke_session(
            redis, session_id=claims.session_id, access_ttl_s=settings.jwt_ttl_s
        )
        await repository.revoke_family(session, family_id=claims.session_id, at=now)
    record(session, actor=user, action="auth.logout", target_type="user", target_id=user.id)
    close_sockets_after_commit(
        session, sio, redis, user_id=user.id, session_id=claims.session_id or ""
    )


async def end_all_sessions(
    session: AsyncSession, redis: Redis, sio: socketio.AsyncServer | None, *, user: User
) -> int:
    """Refuse every token the user holds from now on; the number of sessions ended."""
    now = datetime.now(UTC)
    user.tokens_valid_after = now
    families = await repository.revoke_all_of_user(session, user_id=user.id, at=now)
    close_sockets_after_commit(session, sio, redis, user_id=user.id, session_id=None)
    return len(families)


async def change_password(
    session: AsyncSession,
    redis: Redis,
    sio: socketio.AsyncServer | None,
    *,
    settings: BackendSettings,
    user: User,
    current_password: str,
    new_password: str,
    address: str,
) -> TokenOut:
    """Set a new password; every other session ends, this one gets a fresh pair."""
    attempt = await ratelimit.start_attempt(redis, settings, email=user.email, address=address)
    if not await asyncio.to_thread(verify_password, current_password, user.password_hash):
        LOGIN_FAILURES.inc()
        raise APIError(400, "wrong_password", "The current password is not right.")
    await ratelimit.attempt_succeeded(redis, attempt)
    require_strong_password(new_password, email=user.email)
    user.password_hash = await asyncio.to_thread(hash_password, new_password)
    await end_all_sessions(session, redis, sio, user=user)
    record(
        session, actor=user, action="auth.password_change", target_type="user", target_id=user.id
    )
    return await _issue_pair(session, settings=settings, user=user, family_id=new_session_id())
