"""Request and response bodies of the auth endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sst_core.domain import Language, Role


class LoginRequest(BaseModel):
    """E-mail and password of a staff member or guardian."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"email": "nurse@example.org", "password": "••••••••"}]}
    )

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    """The person logged in."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    role: Role
    facility_id: int
    is_charge_nurse: bool = Field(
        default=False, description="A staff member who may change thresholds and policies."
    )
    language: Language = Field(
        default=Language.EN, description="The language of your e-mails, pushes and webhooks."
    )


class LanguageIn(BaseModel):
    """The language notifications to you are written in."""

    model_config = ConfigDict(extra="forbid")

    language: Language = Field(examples=["ko"])


class TokenOut(BaseModel):
    """A short-lived access token, the refresh token that renews it, and who they are for."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_token: str = Field(description="Opaque; POST it to /auth/refresh, once.")
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid.")
    user: UserOut


class RefreshRequest(BaseModel):
    """A refresh token from the last login or refresh; it is replaced by a new one."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"refresh_token": "q4y0dVZ7Gv6b1m1yzQ3p0o2c8bBz3D9xvR6m"}]}
    )

    refresh_token: str = Field(min_length=1, max_length=256)


class PasswordChangeRequest(BaseModel):
    """Your current password, and the new one (12 characters or more, not a common one)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"current_password": "••••••••", "new_password": "plum tram quietly ninety"}
            ]
        }
    )

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class SessionsEnded(BaseModel):
    """How many login sessions a revocation ended."""

    sessions_ended: int
