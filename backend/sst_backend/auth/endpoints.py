"""Log in, renew and end sessions, change one's password, and say who is logged in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from sst_backend.audit import record
from sst_backend.auth import service
from sst_backend.auth.dependencies import PUBLIC, CurrentClaims, CurrentUser
from sst_backend.auth.schemas import (
    LanguageIn,
    LoginRequest,
    PasswordChangeRequest,
    RefreshRequest,
    TokenOut,
    UserOut,
)
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES, APIError, ErrorResponse, error_response

router = APIRouter(tags=["auth"])

_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorResponse,
        "description": "Too many failed attempts for this account or address; see Retry-After.",
    }
}


def client_address(request: Request) -> str:
    """The caller's address (uvicorn applies X-Forwarded-For from trusted proxies only)."""
    return request.client.host if request.client else "unknown"


@router.post(
    "/auth/login",
    response_model=TokenOut,
    responses={**ERROR_RESPONSES, **_LIMITED},
    dependencies=[PUBLIC],
)
async def login(body: LoginRequest, request: Request, session: Session) -> TokenOut:
    """Exchange an e-mail and password for an access token and a refresh token."""
    return await service.login(
        session,
        request.app.state.redis,
        settings=request.app.state.settings,
        email=body.email,
        password=body.password,
        address=client_address(request),
    )


@router.post(
    "/auth/refresh", response_model=TokenOut, responses=ERROR_RESPONSES, dependencies=[PUBLIC]
)
async def refresh(body: RefreshRequest, request: Request, session: Session) -> Any:
    """Exchange a refresh token for a new pair; the old refresh token stops working.

    Presenting an already exchanged refresh token again ends the whole login session.
    """
    outcome = await service.refresh(
        session,
        request.app.state.redis,
        getattr(request.app.state, "sio", None),
        settings=request.app.state.settings,
        refresh_token=body.refresh_token,
    )
    return error_response(outcome) if isinstance(outcome, APIError) else outcome


@router.post("/auth/logout", status_code=204, responses=ERROR_RESPONSES)
async def logout(
    found: CurrentClaims, user: CurrentUser, request: Request, session: Session
) -> Response:
    """End this login session at once: its access token, refresh tokens and live sockets."""
    await service.logout(
        session,
        request.app.state.redis,
        getattr(request.app.state, "sio", None),
        settings=request.app.state.settings,
        user=user,
        claims=found[1],
    )
    return Response(status_code=204)


@router.post(
    "/auth/password",
    response_model=TokenOut,
    responses={
        **ERROR_RESPONSES,
        **_LIMITED,
        400: {"model": ErrorResponse, "description": "The current password is not right."},
    },
)
async def change_password(
    body: PasswordChangeRequest, user: CurrentUser, request: Request, session: Session
) -> TokenOut:
    """Change your password; your other sessions end, and this one gets new tokens."""
    return await service.change_password(
        session,
        request.app.state.redis,
        getattr(request.app.state, "sio", None),
        settings=request.app.state.settings,
        user=user,
        current_password=body.current_password,
        new_password=body.new_password,
        address=client_address(request),
    )


@router.get("/me", response_model=UserOut, responses=ERROR_RESPONSES)
async def me(user: CurrentUser) -> UserOut:
    """The logged-in user."""
    return UserOut.model_validate(user)


@router.put("/me/language", response_model=UserOut, responses=ERROR_RESPONSES)
async def set_language(body: LanguageIn, user: CurrentUser, session: Session) -> UserOut:
    """Choose the language of your notifications (the dashboard keeps its own per browser)."""
    before = user.language
    user.language = body.language.value
    record(
        session,
        actor=user,
        action="user.language",
        target_type="user",
        target_id=user.id,
        details={"from": before, "to": user.language},
    )
    return UserOut.model_validate(user)
