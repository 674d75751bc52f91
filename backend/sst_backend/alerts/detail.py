"""One alert in full: who handled it, where its escalation is, and its timeline."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.alerts import repository
from sst_backend.alerts.schemas import (
    AlertDetailOut,
    DeliveryOut,
    DeliveryOutcome,
    EscalationOut,
    NextStep,
    TimelineEvent,
)
from sst_backend.alerts.service import to_out
from sst_backend.audit import record
from sst_backend.errors import not_found
from sst_backend.escalation.policies import TARGET_WORDS, PolicyStep
from sst_backend.escalation.repository import get_escalation
from sst_core.db.models import AlertEscalation, NotificationDelivery, User
from sst_core.domain import Role

# Guardians read the timeline too; channel errors are for staff and operators.
_STAFF_ONLY_DETAILS = ("error",)
# Timeline entries about one delivery: a guardian sees those of deliveries to them only.
_DELIVERY_ACTIONS = ("notified", "notification_failed")


_FINAL: dict[str, DeliveryOutcome] = {"sent": "sent", "failed": "failed", "cancelled": "cancelled"}


def _outcome(delivery: NotificationDelivery) -> DeliveryOutcome:
    """How a delivery went, in the words of the API (the table's check admits no other)."""
    if delivery.state == "pending":
        return "retrying" if delivery.error is not None else "waiting"
    return _FINAL[delivery.state]


def delivery_out(delivery: NotificationDelivery, *, with_error: bool) -> DeliveryOut:
    """The API shape of a delivery; its error only for staff (`with_error`)."""
    outcome = _outcome(delivery)
    return DeliveryOut(
        id=delivery.id,
        purpose=delivery.purpose,
        channel=delivery.channel,
        recipient=delivery.recipient,
        recipient_user_id=delivery.recipient_user_id,
        outcome=outcome,
        attempts=delivery.attempt,
        error=delivery.error if with_error else None,
        queued_at=delivery.created_at,
        sent_at=delivery.sent_at,
        next_retry_at=delivery.next_retry_at if outcome in ("waiting", "retrying") else None,
    )


def escalation_out(escalation: AlertEscalation) -> EscalationOut:
    """The API shape of an escalation row."""
    steps = [PolicyStep.model_validate(s) for s in escalation.steps]
    upcoming = None
    if escalation.next_step_at is not None and escalation.next_step < len(steps):
        target = steps[escalation.next_step].target
        upcoming = NextStep(index=escalation.next_step, target=target, who=TARGET_WORDS[target])
    return EscalationOut(
        policy_source=escalation.policy_source,
        round=escalation.round,
        steps=steps,
        next_step=upcoming,
        next_escalation_at=escalation.next_step_at if upcoming else None,
        remind_at=escalation.remind_at,
        reminders_sent=escalation.reminders_sent,
    )


async def alert_detail(session: AsyncSession, *, user: User, alert_id: int) -> AlertDetailOut:
    """The alert with its escalation and timeline, if `user` may see its resident."""
    row = await repository.get_visible(session, user=user, alert_id=alert_id)
    if row is None:
        raise not_found("The alert")
    alert = row[0]
    escalation = await get_escalation(session, alert_id=alert.id)
    guardian = user.role == Role.GUARDIAN
    events = []
    for event, actor_name in await repository.timeline(session, alert_id=alert.id):
        details = dict(event.details or {})
        if guardian:
            if event.action in _DELIVERY_ACTIONS and details.get("recipient_user_id") != user.id:
                continue  # how staff (or others) were reached is not the guardian's business
            for key in _STAFF_ONLY_DETAILS:
                details.pop(key, None)
        events.append(
            TimelineEvent(
                at=event.at,
                action=event.action,
                actor_id=event.actor_id,
                actor_name=actor_name,
                details=details,
            )
        )
    deliveries = await repository.deliveries(
        session, alert_id=alert.id, recipient_user_id=user.id if guardian else None
    )
    record(session, actor=user, action="alert.view", target_type="alert", target_id=alert.id)
    return AlertDetailOut(
        **to_out(row).model_dump(),
        acknowledged_by=alert.acknowledged_by,
        acknowledged_at=alert.acknowledged_at,
        resolved_by=alert.resolved_by,
        resolved_at=alert.resolved_at,
        resolution_note=alert.resolution_note,
        escalation=escalation_out(escalation) if escalation else None,
        timeline=events,
        deliveries=[delivery_out(d, with_error=not guardian) for d in deliveries],
    )
