"""Bodies of the user administration endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from sst_core.domain import Role

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class UserAdminOut(BaseModel):
    """A staff member, guardian or admin of your facility, as an admin sees them."""

    id: int
    email: str
    full_name: str
    role: Role
    facility_id: int
    is_charge_nurse: bool
    is_active: bool
    created_at: datetime
    resident_ids: list[int] = Field(
        description="Residents assigned to this staff member, or followed by this guardian."
    )


class UserCreate(BaseModel):
    """A new account in your facility; tell the person their first password yourself."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "new.nurse@example.org",
                    "full_name": "Mina Park",
                    "role": "staff",
                    "is_charge_nurse": False,
                    "password": "plum tram quietly ninety",
                }
            ]
        },
    )

    email: str = Field(min_length=3, max_length=320, pattern=_EMAIL)
    full_name: str = Field(min_length=1, max_length=200)
    role: Role
    is_charge_nurse: bool = Field(default=False, description="Only for staff.")
    password: str = Field(min_length=1, max_length=1024)


class UserUpdate(BaseModel):
    """Fields to change; those left out stay as they are. is_active=false ends every session."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"full_name": "Mina Park-Lee", "is_charge_nurse": True}]},
    )

    email: str | None = Field(default=None, min_length=3, max_length=320, pattern=_EMAIL)
    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    is_charge_nurse: bool | None = None
    is_active: bool | None = None


class GuardianLinkRequest(BaseModel):
    """How the guardian is related to the resident."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"relation": "daughter"}]}
    )

    relation: str = Field(default="family", min_length=1, max_length=64)
