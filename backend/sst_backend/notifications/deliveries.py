"""Deliveries: queued once per (message, channel, recipient), claimed with SKIP LOCKED, retried."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.escalation.repository import Recipient
from sst_backend.notifications.settings import AlertingSettings
from sst_backend.notifications.texts import Words
from sst_backend.realtime.rooms import user_room
from sst_core.db.models import AlertEvent, NotificationDelivery

CHANNELS = ("in_app", "email", "webhook", "push")
DEFAULT_CHANNELS = ["in_app", "email"]


@dataclass(frozen=True)
class Message:
    """What to send, to whom it belongs, and the key that makes queueing it idempotent."""

    key: str
    purpose: str  # "alert", "reminder" or "daily_summary"
    resident_id: int
    text: Words  # in the language of every recipient it is queued for
    payload: dict[str, Any]
    alert_id: int | None = None


def _routes(
    recipient: Recipient, settings: AlertingSettings
) -> list[tuple[str, str, dict[str, Any]]]:
    """(channel, address, extra payload) for each channel this recipient is reached on."""
    routes: list[tuple[str, str, dict[str, Any]]] = []
    if recipient.user_id is None:
        if recipient.email:
            routes.append(("email", recipient.email, {}))
        if recipient.phone and settings.sms_webhook_url:
            routes.append(("webhook", settings.sms_webhook_url, {"to": recipient.phone}))
        return routes
    prefs = recipient.preferences
    channels = prefs.channels if prefs else DEFAULT_CHANNELS
    for channel in channels:
        if channel == "in_app":
            routes.append((channel, user_room(recipient.user_id), {}))
        elif channel == "email" and recipient.email:
            routes.append((channel, recipient.email, {}))
        elif channel == "webhook" and prefs and prefs.webhook_url:
            routes.append((channel, prefs.webhook_url, {}))
        elif channel == "push" and prefs and prefs.push_subscription:
            endpoint = str(prefs.push_subscription.get("endpoint", ""))
            routes.append((channel, endpoint, {"subscription": prefs.push_subscription}))
    return routes


async def enqueue(
    session: AsyncSession,
    *,
    message: Message,
    recipients: Sequence[Recipient],
    settings: AlertingSettings,
    now: datetime,
    only: tuple[str, ...] | None = None,
) -> int:
    """Queue the message on every channel of every recipient; already-queued ones are kept."""
    rows = []
    for recipient in recipients:
        for channel, address, extra in _routes(recipient, settings):
            if only is not None and channel not in only:
                continue
            rows.append(
                {
                    "dedupe_key": f"{message.key}:{channel}:{recipient.key}"[:200],
                    "alert_id": message.alert_id,
                    "resident_id": message.resident_id,
                    "purpose": message.purpose,
                    "channel": channel,
                    "recipient_user_id": recipient.user_id,
                    "recipient_contact_id": recipient.contact_id,
                    "recipient": recipient.name[:320],
                    "address": address,
                    "subject": message.text.subject[:300],
                    "body": message.text.body,
                    "payload": {**message.payload, **extra, "message": message.text.structured()},
                    "state": "pending",
                    "attempt": 0,
                    "next_retry_at": now,
                }
            )
    if not rows:
        return 0
    statement = (
        insert(NotificationDelivery)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(NotificationDelivery.id)
    )
    return len((await session.execute(statement)).all())


async def claim_due(
    session: AsyncSession, *, now: datetime, lease_s: float, limit: int
) -> list[NotificationDelivery]:
    """Take due deliveries for `lease_s` seconds; rows another scheduler holds are skipped."""
    due = (
        select(NotificationDelivery.id)
        .where(
            NotificationDelivery.state == "pending",
            NotificationDelivery.next_retry_at <= now,
            or_(
                NotificationDelivery.claimed_until.is_(None),
                NotificationDelivery.claimed_until < now,
            ),
        )
        .order_by(NotificationDelivery.next_retry_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(NotificationDelivery)
        .where(NotificationDelivery.id.in_(due.scalar_subquery()))
        .values(
            claimed_until=now + timedelta(seconds=lease_s),
            attempt=NotificationDelivery.attempt + 1,
        )
        .returning(NotificationDelivery)
    )
    return list((await session.scalars(statement)).all())


def backoff_s(settings: AlertingSettings, attempt: int) -> float:
    """Seconds before retry number `attempt` + 1: doubling from the base, capped."""
    return float(
        min(settings.delivery_backoff_max_s, settings.delivery_backoff_s * 2 ** (attempt - 1))
    )


async def record_outcome(
    session: AsyncSession,
    *,
    delivery: NotificationDelivery,
    error: str | None,
    permanent: bool,
    settings: AlertingSettings,
    now: datetime,
) -> str:
    """Store one attempt's outcome; returns the delivery's new state."""
    values: dict[str, Any] = {"claimed_until": None, "error": error}
    if error is None:
        values.update(state="sent", sent_at=now, next_retry_at=None)
    elif permanent or delivery.attempt >= settings.delivery_max_attempts:
        values.update(state="failed", next_retry_at=None)
    else:
        values.update(next_retry_at=now + timedelta(seconds=backoff_s(settings, delivery.attempt)))
    state = str(values.get("state", "pending"))
    await session.execute(
        update(NotificationDelivery).where(NotificationDelivery.id == delivery.id).values(**values)
    )
    if delivery.alert_id is not None and state != "pending":
        details = {
            "channel": delivery.channel,
            "recipient": delivery.recipient,
            "recipient_user_id": delivery.recipient_user_id,
            "purpose": delivery.purpose,
            "attempts": delivery.attempt,
            "delivery_id": delivery.id,
        }
        if error:
            details["error"] = error[:300]
        action = "notified" if state == "sent" else "notification_failed"
        session.add(AlertEvent(alert_id=delivery.alert_id, action=action, details=details))
    return state


async def cancel_pending(session: AsyncSession, *, alert_id: int, now: datetime) -> None:
    """Drop an alert's deliveries that are waiting (not being sent right now)."""
    await session.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.alert_id == alert_id,
            NotificationDelivery.state == "pending",
            or_(
                NotificationDelivery.claimed_until.is_(None),
                NotificationDelivery.claimed_until < now,
            ),
        )
        .values(state="cancelled", next_retry_at=None)
    )
