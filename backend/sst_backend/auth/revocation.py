"""Access tokens revoked before they expire: a Redis key per token or session, with a TTL.

A key lives exactly as long as the longest token it can refuse, so the list never grows.
PostgreSQL holds the lasting part (revoked refresh tokens, each user's token cut-off).
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from sst_backend.auth.tokens import TokenClaims

_TOKEN_KEY = "sst:auth:revoked:jti:"
_SESSION_KEY = "sst:auth:revoked:sid:"


async def revoke_access_token(redis: Redis, *, token_id: str, expires_at: int) -> None:
    """Refuse this one access token until it expires anyway."""
    ttl = max(1, expires_at - int(time.time()) + 1)
    await redis.set(_TOKEN_KEY + token_id, 1, ex=ttl)


async def revoke_session(redis: Redis, *, session_id: str, access_ttl_s: int) -> None:
    """Refuse every access token of one login session (any it issued is younger than the TTL)."""
    await redis.set(_SESSION_KEY + session_id, 1, ex=access_ttl_s + 1)


async def is_revoked(redis: Redis, claims: TokenClaims) -> bool:
    """Whether the token itself or its whole session was revoked."""
    keys = [_TOKEN_KEY + claims.token_id]
    if claims.session_id:
        keys.append(_SESSION_KEY + claims.session_id)
    return bool(await redis.exists(*keys))
