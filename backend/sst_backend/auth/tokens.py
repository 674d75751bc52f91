"""Short-lived JWT access tokens (HS256) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from sst_backend.settings import BackendSettings


@dataclass(frozen=True)
class TokenClaims:
    """Who a valid token speaks for, and which login session it belongs to."""

    user_id: int
    role: str
    facility_id: int
    token_id: str
    session_id: str | None
    issued_at: float
    expires_at: int


class InvalidToken(Exception):
    """The token is missing, expired, forged or malformed."""


def issue_token(
    settings: BackendSettings,
    *,
    user_id: int,
    role: str,
    facility_id: int,
    session_id: str | None = None,
) -> str:
    """A signed access token valid for `settings.jwt_ttl_s` seconds."""
    now = time.time()
    claims = {
        "sub": str(user_id),
        "role": role,
        "fac": facility_id,
        "sid": session_id,
        "iss": settings.jwt_issuer,
        # Fractional on purpose (RFC 7519 allows it): a revocation and the next login often
        # fall within one second, and the per-user cut-off must tell them apart.
        "iat": now,
        "exp": int(now) + settings.jwt_ttl_s,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def read_token(settings: BackendSettings, token: str) -> TokenClaims:
    """Check a token's signature, expiry and issuer, and return its claims."""
    try:
        claims = _decode(settings, token)
        session_id = claims.get("sid")
        return TokenClaims(
            user_id=int(claims["sub"]),
            role=str(claims["role"]),
            facility_id=int(claims["fac"]),
            token_id=str(claims["jti"]),
            session_id=str(session_id) if session_id else None,
            issued_at=float(claims["iat"]),
            expires_at=int(claims["exp"]),
        )
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc


def _decode(settings: BackendSettings, token: str) -> dict[str, Any]:
    """Verify with the current key, then with each key being rotated out."""
    keys = [settings.jwt_secret, *settings.jwt_previous_secrets]
    for i, key in enumerate(keys):
        try:
            return jwt.decode(
                token,
                key.get_secret_value(),
                algorithms=["HS256"],
                issuer=settings.jwt_issuer,
                options={"require": ["sub", "exp", "iat", "iss", "jti"]},
            )
        except jwt.InvalidSignatureError:
            if i == len(keys) - 1:
                raise
    raise AssertionError("unreachable")


def new_refresh_token() -> tuple[str, str]:
    """A fresh opaque refresh token and the hash it is stored under."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    """The stored form of a refresh token (256 random bits need no slow hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_id() -> str:
    """Id of a new login session (the family of its refresh tokens)."""
    return uuid.uuid4().hex
