"""Bodies of the escalation-policy, emergency-contact and duty endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sst_backend.escalation.policies import Policy, PolicyStep
from sst_core.domain import Language, Severity


class PolicyOut(Policy):
    """The policy that applies to one severity, and where it comes from."""

    model_config = ConfigDict(extra="ignore")

    severity: Severity
    source: str = Field(description="resident (override), facility, or default (built in).")
    resident_id: int | None = None


class PolicyIn(Policy):
    """Steps and reminders for one severity."""

    reminder_interval_s: Annotated[int, Field(ge=60, le=7 * 86_400)] | None = Field(
        default=None, description="Remind the acknowledger this often until resolved; null: never."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "steps": [
                        {"target": "assigned_staff", "delay_s": 0},
                        {"target": "staff_on_duty", "delay_s": 120},
                        {"target": "guardians", "delay_s": 300},
                    ],
                    "reminder_interval_s": 600,
                }
            ]
        },
    )


class ContactIn(BaseModel):
    """An emergency contact of a resident; a phone number or an e-mail address is needed."""

    model_config = ConfigDict(extra="forbid")

    full_name: str = Field(min_length=1, max_length=200, examples=["Lee Min-jun"])
    relation: str = Field(default="", max_length=64, examples=["neighbour"])
    phone: str | None = Field(
        default=None, pattern=r"^\+?[0-9 ()-]{5,32}$", examples=["+82 10 1234 5678"]
    )
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    priority: int = Field(default=1, ge=1, le=9, description="1 is called first.")
    language: Language = Field(
        default=Language.EN, description="The language the messages to this contact are in."
    )

    @model_validator(mode="after")
    def _reachable(self) -> ContactIn:
        if not self.phone and not self.email:
            raise ValueError("give a phone number or an e-mail address")
        return self


class ContactOut(ContactIn):
    """A stored emergency contact."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    resident_id: int


class DutyIn(BaseModel):
    """Going on or off duty."""

    model_config = ConfigDict(extra="forbid")

    on_duty: bool = Field(examples=[True])


class DutyOut(BaseModel):
    """Whether a member of staff is on duty, since when."""

    user_id: int
    full_name: str
    on_duty: bool = Field(examples=[True])
    changed_at: datetime | None


__all__ = ["ContactIn", "ContactOut", "DutyIn", "DutyOut", "PolicyIn", "PolicyOut", "PolicyStep"]
