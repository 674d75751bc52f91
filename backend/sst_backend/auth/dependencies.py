"""The `CurrentUser` dependency: a valid, unrevoked bearer token of an active account, or 401."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.exceptions import RedisError

from sst_backend.auth.tokens import TokenClaims
from sst_backend.auth.verify import TokenRefused, verify_access_token
from sst_backend.db import Session
from sst_backend.errors import APIError
from sst_core.db.models import User
from sst_core.domain import Role

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/v1/auth/login.")

_MESSAGES = {
    "invalid": "Your session is not valid; log in again.",
    "revoked": "Your session was ended; log in again.",
    "inactive": "Your account is not active; log in again.",
}


async def current_claims(
    request: Request,
    session: Session,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> tuple[User, TokenClaims]:
    """The user the request's token speaks for, with the token's claims."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise APIError(401, "unauthorized", "Log in first: this needs a bearer access token.")
    try:
        return await verify_access_token(
            settings=request.app.state.settings,
            redis=request.app.state.redis,
            session=session,
            token=credentials.credentials,
        )
    except TokenRefused as exc:
        raise APIError(401, "invalid_token", _MESSAGES[exc.reason]) from exc
    except RedisError as exc:
        # Without the revocation list a logged-out token could pass: refuse, do not guess.
        raise APIError(503, "unavailable", "Sign-in checks are unavailable; retry soon.") from exc


async def current_user(
    found: Annotated[tuple[User, TokenClaims], Depends(current_claims)],
) -> User:
    """The user the request's token speaks for."""
    return found[0]


CurrentClaims = Annotated[tuple[User, TokenClaims], Depends(current_claims)]


class Callers:
    """Who may call a route: a dependency that refuses other roles, read by the role matrix test.

    A route declares its callers by depending on one of these (or on `Public`); a test walks
    every route of the app and fails on a route that declares nothing.
    """

    def __init__(self, *roles: Role, charge_nurses: bool = False) -> None:
        self.roles = frozenset(roles)
        # Charge nurses are staff who also hold the facility-wide duties (policy editing).
        self.charge_nurses = charge_nurses

    async def __call__(self, user: Annotated[User, Depends(current_user)]) -> User:
        """The current user, if their role (or charge nurse duty) is one of the callers."""
        charge = self.charge_nurses and user.role == Role.STAFF and user.is_charge_nurse
        if user.role not in self.roles and not charge:
            raise APIError(403, "forbidden", "Your role does not allow this.")
        return user

    def __repr__(self) -> str:
        charge = ", charge nurses" if self.charge_nurses else ""
        return f"Callers({', '.join(sorted(self.roles))}{charge})"


class Public:
    """Declares a route anyone may call without a token (login, health, metrics)."""

    async def __call__(self) -> None:
        """Nothing to check."""

    def __repr__(self) -> str:
        return "Public()"


ANY_ROLE = Callers(Role.ADMIN, Role.STAFF, Role.GUARDIAN)
CARE_STAFF = Callers(Role.ADMIN, Role.STAFF)
ADMINS = Callers(Role.ADMIN)
EDITORS = Callers(Role.ADMIN, charge_nurses=True)
PUBLIC = Depends(Public())

CurrentUser = Annotated[User, Depends(ANY_ROLE)]
StaffUser = Annotated[User, Depends(CARE_STAFF)]
AdminUser = Annotated[User, Depends(ADMINS)]
# Admins and charge nurses: escalation policies, emergency contacts, other people's duty.
EditorUser = Annotated[User, Depends(EDITORS)]
