"""Bodies of the alert endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from sst_backend.escalation.policies import PolicyStep, Target
from sst_core.messages import AlertMessage


class AlertOut(AlertMessage):
    """An alert with why it was raised, in words a carer understands."""


class ResolveRequest(BaseModel):
    """What was found and done."""

    note: str = Field(min_length=1, max_length=2000, examples=["Found on the floor, unhurt."])


class ReopenRequest(BaseModel):
    """Why the alert needs attention again."""

    note: str = Field(
        min_length=1, max_length=2000, examples=["She called again: still dizzy after the fall."]
    )


class TimelineEvent(BaseModel):
    """One step of an alert's life: raised, repeated, paged, notified, escalated, ..."""

    at: datetime
    action: str = Field(
        description="raised, repeated, paged, escalated, notified, notification_failed, "
        "acknowledged, reminded, resolved or reopened."
    )
    actor_id: int | None = None
    actor_name: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


DeliveryOutcome = Literal["waiting", "retrying", "sent", "failed", "cancelled"]


class DeliveryOut(BaseModel):
    """One notification about the alert: to whom, on which channel, and how it went."""

    id: int
    purpose: str = Field(description="alert (an escalation step) or reminder.")
    channel: str = Field(description="in_app, email, webhook or push.")
    recipient: str = Field(examples=["Kim Minji"])
    recipient_user_id: int | None = Field(
        default=None, description="Null for an emergency contact."
    )
    outcome: DeliveryOutcome = Field(
        description="waiting (not tried yet), retrying (an attempt failed, another is due at "
        "next_retry_at), sent, failed (given up: error says why) or cancelled (the alert was "
        "acknowledged or resolved first)."
    )
    attempts: int
    error: str | None = Field(
        default=None, description="The last attempt's error; shown to staff only."
    )
    queued_at: datetime
    sent_at: datetime | None = None
    next_retry_at: datetime | None = None


class NextStep(BaseModel):
    """The escalation step that comes next if nobody acknowledges."""

    index: int
    target: Target
    who: str = Field(examples=["the guardians"])


class EscalationOut(BaseModel):
    """Where the alert is in its escalation: who is told next, and when."""

    policy_source: str = Field(description="resident, facility or default.")
    round: int = Field(description="1, plus one for each reopening.")
    steps: list[PolicyStep]
    next_step: NextStep | None
    next_escalation_at: datetime | None = Field(
        description="When the next step is told, unless someone acknowledges first."
    )
    remind_at: datetime | None = Field(description="Next reminder to whoever acknowledged.")
    reminders_sent: int


class AlertDetailOut(AlertOut):
    """An alert with who handled it, its escalation and its timeline."""

    acknowledged_by: int | None = None
    acknowledged_at: datetime | None = None
    resolved_by: int | None = None
    resolved_at: datetime | None = None
    resolution_note: str | None = None
    escalation: EscalationOut | None = Field(
        default=None, description="Null until the scheduler has picked the alert up (a second)."
    )
    timeline: list[TimelineEvent]
    deliveries: list[DeliveryOut] = Field(
        default_factory=list,
        description="Every notification about the alert with its outcome, oldest first; a "
        "guardian sees only those sent to them.",
    )
