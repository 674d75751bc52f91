"""Escalation steps: the built-in defaults per severity and which policy applies to an alert."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from sst_core.domain import Severity


class Target(StrEnum):
    """Who one escalation step tells."""

    ASSIGNED_STAFF = "assigned_staff"
    STAFF_ON_DUTY = "staff_on_duty"
    GUARDIANS = "guardians"
    EMERGENCY_CONTACT = "emergency_contact"


TARGET_WORDS = {
    Target.ASSIGNED_STAFF: "the assigned staff",
    Target.STAFF_ON_DUTY: "all staff on duty",
    Target.GUARDIANS: "the guardians",
    Target.EMERGENCY_CONTACT: "the emergency contact",
}

Seconds = Annotated[int, Field(ge=0, le=7 * 86_400)]


class PolicyStep(BaseModel):
    """Tell `target` once the previous step went unacknowledged for `delay_s` seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: Target
    delay_s: Seconds = Field(
        description="Seconds after the previous step (after the alert opened, for the first)."
    )


class Policy(BaseModel):
    """The steps for one severity, and how often to remind whoever acknowledged."""

    model_config = ConfigDict(extra="forbid")

    steps: list[PolicyStep] = Field(min_length=1, max_length=8)
    # Stored policies are read with a 1 s floor; the API asks for at least a minute.
    reminder_interval_s: Annotated[int, Field(ge=1, le=7 * 86_400)] | None = Field(
        default=None, description="Remind the acknowledger this often until resolved; null: never."
    )


def _steps(*pairs: tuple[Target, int]) -> list[PolicyStep]:
    return [PolicyStep(target=t, delay_s=d) for t, d in pairs]


# Critical escalates within minutes; low never pages guardians (alert fatigue is a failure).
DEFAULT_POLICIES: dict[Severity, Policy] = {
    Severity.CRITICAL: Policy(
        steps=_steps(
            (Target.ASSIGNED_STAFF, 0),
            (Target.STAFF_ON_DUTY, 60),
            (Target.GUARDIANS, 120),
            (Target.EMERGENCY_CONTACT, 300),
        ),
        reminder_interval_s=300,
    ),
    Severity.HIGH: Policy(
        steps=_steps(
            (Target.ASSIGNED_STAFF, 0),
            (Target.STAFF_ON_DUTY, 300),
            (Target.GUARDIANS, 900),
            (Target.EMERGENCY_CONTACT, 1800),
        ),
        reminder_interval_s=900,
    ),
    Severity.MEDIUM: Policy(
        steps=_steps(
            (Target.ASSIGNED_STAFF, 0), (Target.STAFF_ON_DUTY, 900), (Target.GUARDIANS, 3600)
        ),
        reminder_interval_s=3600,
    ),
    Severity.LOW: Policy(steps=_steps((Target.ASSIGNED_STAFF, 0), (Target.STAFF_ON_DUTY, 3600))),
}
