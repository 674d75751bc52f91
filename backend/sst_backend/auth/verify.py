"""Checking an access token completely: signature, expiry, revocation, account state."""

from __future__ import annotations

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.auth import repository, revocation
from sst_backend.auth.tokens import InvalidToken, TokenClaims, read_token
from sst_backend.settings import BackendSettings
from sst_core.db.models import User


class TokenRefused(Exception):
    """The token must not be honoured; `reason` says why, for logs and messages."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def verify_access_token(
    *, settings: BackendSettings, redis: Redis, session: AsyncSession, token: str
) -> tuple[User, TokenClaims]:
    """The active user a token speaks for, or TokenRefused (HTTP and Socket.IO share this)."""
    try:
        claims = read_token(settings, token)
    except InvalidToken as exc:
        raise TokenRefused("invalid") from exc
    if await revocation.is_revoked(redis, claims):
        raise TokenRefused("revoked")
    user = await repository.get_active(session, user_id=claims.user_id)
    if user is None:
        raise TokenRefused("inactive")
    cutoff = user.tokens_valid_after
    if cutoff is not None and claims.issued_at < cutoff.timestamp():
        raise TokenRefused("revoked")
    return user, claims
