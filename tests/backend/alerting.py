"""Helpers of the alerting tests: fast settings, alerts, policies, people, running schedulers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_backend.notifications.settings import AlertingSettings
from sst_backend.scheduler import Scheduler
from sst_core.db.models import (
    Alert,
    AlertEvent,
    EmergencyContact,
    EscalationPolicy,
    NotificationDelivery,
    NotificationPreference,
    StaffDuty,
    User,
)
from tests.factories import _HASH, HomeFixture

Emitted = list[tuple[str, dict[str, Any], str]]


def fast_settings(**overrides: Any) -> AlertingSettings:
    """Settings with test-sized intervals; receivers are on loopback, so allow private URLs."""
    values: dict[str, Any] = {
        "scheduler_interval_s": 0.1,
        "webhook_allow_private": True,
        "delivery_timeout_s": 2.0,
        "delivery_backoff_s": 0.3,
        "delivery_max_attempts": 4,
        "public_url": "https://care.example.org",
        "smtp_port": 1,  # nothing listens: tests that send e-mail pass their server's port
        # Off unless a test is about them: at the summary hour of a test home's time zone
        # the scheduler would otherwise mail guardians a summary no test expects.
        "daily_summary_enabled": False,
    }
    values.update(overrides)
    return AlertingSettings(_env_file=None, **values)


def recorder() -> tuple[Emitted, Any]:
    """An in-app emit function that records what it was asked to send."""
    emitted: Emitted = []

    async def emit(event: str, data: dict[str, Any], room: str) -> None:
        emitted.append((event, data, room))

    return emitted, emit


@asynccontextmanager
async def running(scheduler: Scheduler) -> AsyncIterator[Scheduler]:
    """Run a scheduler loop for the duration of the block."""
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    try:
        yield scheduler
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


async def open_alert(
    sm: async_sessionmaker[AsyncSession],
    home: HomeFixture,
    *,
    severity: str = "critical",
    kind: str | None = None,
    opened_at: datetime | None = None,
    text: dict[str, Any] | None = None,
) -> int:
    """An open alert as inference raises it (a row and its 'raised' event)."""
    at = opened_at or datetime.now(UTC)
    async with sm() as session, session.begin():
        alert = Alert(
            resident_id=home.resident_id,
            kind=kind or f"fall-{uuid.uuid4().hex[:8]}",
            severity=severity,
            state="open",
            title="Fall detected",
            explanation="Fall detected in the Bathroom at 14:03 (home time).",
            text=text,
            count=1,
            sensor_id=home.sensors["fall-1"],
            opened_at=at,
            last_seen_at=at,
        )
        session.add(alert)
        await session.flush()
        session.add(AlertEvent(alert_id=alert.id, action="raised", details={}))
        return alert.id


async def set_policy(
    sm: async_sessionmaker[AsyncSession],
    home: HomeFixture,
    steps: list[tuple[str, int]],
    *,
    severity: str = "critical",
    reminder_s: int | None = None,
    resident: bool = False,
) -> None:
    """Store a facility (or resident) policy directly, with test-sized delays."""
    async with sm() as session, session.begin():
        session.add(
            EscalationPolicy(
                facility_id=home.facility_id,
                resident_id=home.resident_id if resident else None,
                severity=severity,
                steps=[{"target": t, "delay_s": d} for t, d in steps],
                reminder_interval_s=reminder_s,
            )
        )


async def user_id(sm: async_sessionmaker[AsyncSession], email: str) -> int:
    """The id of the user with this e-mail."""
    async with sm() as session:
        return int(await session.scalar(select(User.id).where(User.email == email)) or 0)


async def add_staff_on_duty(sm: async_sessionmaker[AsyncSession], home: HomeFixture) -> str:
    """A second member of staff of the facility, on duty (not assigned to the resident)."""
    email = f"duty-{uuid.uuid4().hex[:8]}@example.test"
    async with sm() as session, session.begin():
        user = User(
            facility_id=home.facility_id,
            email=email,
            full_name="Dana Duty",
            role="staff",
            password_hash=_HASH,
        )
        session.add(user)
        await session.flush()
        session.add(StaffDuty(user_id=user.id, on_duty=True))
    return email


async def add_contact(sm: async_sessionmaker[AsyncSession], home: HomeFixture) -> str:
    """An emergency contact with an e-mail address; returns the address."""
    email = f"neighbour-{uuid.uuid4().hex[:8]}@example.test"
    async with sm() as session, session.begin():
        session.add(
            EmergencyContact(
                resident_id=home.resident_id, full_name="Nina Neighbour", email=email, priority=1
            )
        )
    return email


async def set_channels(
    sm: async_sessionmaker[AsyncSession], uid: int, channels: list[str], **extra: Any
) -> None:
    """Store a user's notification preferences directly."""
    async with sm() as session, session.begin():
        session.add(NotificationPreference(user_id=uid, channels=channels, **extra))


async def deliveries(
    sm: async_sessionmaker[AsyncSession], alert_id: int
) -> list[NotificationDelivery]:
    """Every delivery of an alert, in order."""
    async with sm() as session:
        query = (
            select(NotificationDelivery)
            .where(NotificationDelivery.alert_id == alert_id)
            .order_by(NotificationDelivery.id)
        )
        return list((await session.scalars(query)).all())


async def events(sm: async_sessionmaker[AsyncSession], alert_id: int) -> list[AlertEvent]:
    """The alert's timeline rows, in order."""
    async with sm() as session:
        query = select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
        return list((await session.scalars(query)).all())


async def count_deliveries(sm: async_sessionmaker[AsyncSession], alert_ids: list[int]) -> int:
    """How many deliveries these alerts have."""
    async with sm() as session:
        query = select(func.count()).where(NotificationDelivery.alert_id.in_(alert_ids))
        return int(await session.scalar(query) or 0)
