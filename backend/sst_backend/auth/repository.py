"""Queries about users and their refresh tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sst_core.db.models import RefreshToken, User


async def get_by_email(session: AsyncSession, *, email: str) -> User | None:
    """The user with this e-mail (case-insensitive), if any."""
    return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


async def get_active(session: AsyncSession, *, user_id: int) -> User | None:
    """The user with this id if the account is active."""
    user = await session.get(User, user_id)
    return user if user is not None and user.is_active else None


async def get_refresh_token(session: AsyncSession, *, token_hash: str) -> RefreshToken | None:
    """The stored refresh token with this hash, locked against a concurrent rotation."""
    query = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    return await session.scalar(query)


async def revoke_family(session: AsyncSession, *, family_id: str, at: datetime) -> None:
    """Revoke every refresh token of one login session."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )


async def revoke_all_of_user(session: AsyncSession, *, user_id: int, at: datetime) -> list[str]:
    """Revoke every live refresh token of a user; the families that were live."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
        .returning(RefreshToken.family_id)
    )
    return sorted({str(row[0]) for row in result.all()})
