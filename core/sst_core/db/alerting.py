"""Who is told about an alert, when and how: duty, contacts, policies, escalation, deliveries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sst_core.db.base import Base
from sst_core.domain import LANGUAGE_CHECK, Severity, check_in


class StaffDuty(Base):
    """Whether a member of staff is on duty now (the second escalation step pages them)."""

    __tablename__ = "staff_duty"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EmergencyContact(Base):
    """Someone outside the platform to call when nobody else reacted (the last step)."""

    __tablename__ = "emergency_contacts"
    __table_args__ = (CheckConstraint(LANGUAGE_CHECK, name="language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    full_name: Mapped[str] = mapped_column(String(200))
    relation: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    priority: Mapped[int] = mapped_column(Integer, default=1)
    # The language the messages to this contact are written in (sst_core.localized).
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EscalationPolicy(Base):
    """Steps of escalation for one severity: a facility's default or a resident's override."""

    __tablename__ = "escalation_policies"
    __table_args__ = (
        CheckConstraint(check_in("severity", Severity), name="severity"),
        # NULLS NOT DISTINCT: one facility default (resident NULL) per severity.
        UniqueConstraint(
            "facility_id", "resident_id", "severity", postgresql_nulls_not_distinct=True
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id", ondelete="CASCADE"))
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    severity: Mapped[str] = mapped_column(String(16))
    # [{"target": "assigned_staff", "delay_s": 0}, ...]; delay counts from the previous step.
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    reminder_interval_s: Mapped[int | None] = mapped_column(Integer)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AlertEscalation(Base):
    """Where one alert is in its escalation; the scheduler takes due rows with SKIP LOCKED."""

    __tablename__ = "alert_escalations"
    __table_args__ = (
        Index(
            "ix_alert_escalations_next_step_at",
            "next_step_at",
            postgresql_where=text("next_step_at IS NOT NULL"),
        ),
        Index(
            "ix_alert_escalations_remind_at",
            "remind_at",
            postgresql_where=text("remind_at IS NOT NULL"),
        ),
    )

    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    # Reopening starts a new round: deliveries are unique per (round, step, ...).
    round: Mapped[int] = mapped_column(Integer, default=1)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    policy_source: Mapped[str] = mapped_column(String(16))
    next_step: Mapped[int] = mapped_column(Integer, default=0)
    next_step_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminder_interval_s: Mapped[int | None] = mapped_column(Integer)
    remind_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NotificationPreference(Base):
    """How a user wants to be told: channels, their webhook, their browser's push subscription."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    channels: Mapped[list[str]] = mapped_column(JSONB)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    push_subscription: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    daily_summary: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NotificationDelivery(Base):
    """One message to one recipient over one channel, with its attempts and outcome."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'sent', 'failed', 'cancelled')", name="state"),
        Index(
            "ix_notification_deliveries_due",
            "next_retry_at",
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # What makes a second enqueue of the same message a no-op (two schedulers, a replay).
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), index=True
    )
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    recipient_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    recipient_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("emergency_contacts.id", ondelete="CASCADE")
    )
    recipient: Mapped[str] = mapped_column(String(320))
    address: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    next_retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DailySummaryRun(Base):
    """That a resident's daily summary for a local date was queued (by exactly one scheduler)."""

    __tablename__ = "daily_summary_runs"

    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True
    )
    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
