"""Escalation of one alert through its policy's steps, and reminders once acknowledged.

All state is in `alert_escalations`; each function works inside the caller's transaction
on rows it locked, so two schedulers (or a scheduler and a request) never act twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.audit import record
from sst_backend.escalation import repository
from sst_backend.escalation.policies import TARGET_WORDS, Policy, PolicyStep
from sst_backend.escalation.repository import AlertContext, Recipient
from sst_backend.notifications.deliveries import Message, cancel_pending, enqueue
from sst_backend.notifications.settings import AlertingSettings
from sst_backend.notifications.texts import alert_link, alert_text, reminder_text
from sst_core.db.models import AlertEscalation, AlertEvent
from sst_core.domain import AlertState


def _payload(ctx: AlertContext, settings: AlertingSettings) -> dict[str, object]:
    alert = ctx.alert
    return {
        "alert_id": alert.id,
        "resident_id": alert.resident_id,
        "resident": ctx.resident_name,
        "kind": alert.kind,
        "severity": alert.severity,
        "title": alert.title,
        "link": alert_link(settings.public_url, alert.id),
    }


def _first_due(policy: Policy, start: datetime) -> datetime:
    return start + timedelta(seconds=policy.steps[0].delay_s)


async def adopt_new_alerts(
    session: AsyncSession, *, settings: AlertingSettings, now: datetime, limit: int = 200
) -> int:
    """Start escalating alerts that have no escalation yet (raised by inference)."""
    started = 0
    for ctx in await repository.alerts_without_escalation(session, limit=limit):
        alert = ctx.alert
        policy, source = await repository.find_policy(
            session,
            facility_id=ctx.facility_id,
            resident_id=alert.resident_id,
            severity=alert.severity,
        )
        remind_at = None
        if alert.state == AlertState.ACKNOWLEDGED and alert.acknowledged_at is not None:
            remind_at = _reminder_after(policy.reminder_interval_s, alert.acknowledged_at)
        values = {
            "alert_id": alert.id,
            "round": 1,
            "steps": [s.model_dump(mode="json") for s in policy.steps],
            "policy_source": source,
            "next_step": 0,
            "next_step_at": (
                _first_due(policy, alert.opened_at) if alert.state == AlertState.OPEN else None
            ),
            "reminder_interval_s": policy.reminder_interval_s,
            "remind_at": remind_at,
            "reminders_sent": 0,
            "updated_at": now,
        }
        result = await session.execute(
            insert(AlertEscalation)
            .values(values)
            .on_conflict_do_nothing()
            .returning(AlertEscalation.alert_id)
        )
        started += len(result.all())
    return started


def _reminder_after(interval_s: int | None, moment: datetime) -> datetime | None:
    return None if interval_s is None else moment + timedelta(seconds=interval_s)


async def _enqueue_for(
    session: AsyncSession,
    *,
    ctx: AlertContext,
    people: list[Recipient],
    key: str,
    escalated: bool,
    settings: AlertingSettings,
    now: datetime,
) -> int:
    queued = 0
    for person in people:
        text = alert_text(
            ctx,
            audience=person.audience,
            escalated=escalated,
            public_url=settings.public_url,
            contact_phone=person.phone,
            language=person.language,
        )
        message = Message(
            key=key,
            purpose="alert",
            resident_id=ctx.alert.resident_id,
            text=text,
            payload=_payload(ctx, settings),
            alert_id=ctx.alert.id,
        )
        queued += await enqueue(
            session, message=message, recipients=[person], settings=settings, now=now
        )
    return queued


async def fire_step(
    session: AsyncSession,
    *,
    escalation: AlertEscalation,
    ctx: AlertContext,
    settings: AlertingSettings,
    now: datetime,
) -> None:
    """Tell the people of the due step and schedule the next one."""
    steps = [PolicyStep.model_validate(s) for s in escalation.steps]
    index = escalation.next_step
    step = steps[index]
    alert = ctx.alert
    people = await repository.recipients(
        session, target=step.target, resident_id=alert.resident_id, facility_id=ctx.facility_id
    )
    queued = await _enqueue_for(
        session,
        ctx=ctx,
        people=people,
        key=f"alert:{alert.id}:r{escalation.round}:s{index}",
        escalated=index > 0,
        settings=settings,
        now=now,
    )
    details = {
        "step": index,
        "target": step.target.value,
        "who": TARGET_WORDS[step.target],
        "recipients": [p.name for p in people],
        "deliveries": queued,
        "round": escalation.round,
    }
    session.add(
        AlertEvent(alert_id=alert.id, action="escalated" if index else "paged", details=details)
    )
    record(
        session,
        actor=None,
        action="alert.escalate",
        target_type="alert",
        target_id=alert.id,
        details=details,
    )
    due = escalation.next_step_at or now
    escalation.next_step = index + 1
    escalation.next_step_at = (
        due + timedelta(seconds=steps[index + 1].delay_s) if index + 1 < len(steps) else None
    )
    escalation.updated_at = now


async def remind(
    session: AsyncSession,
    *,
    escalation: AlertEscalation,
    ctx: AlertContext,
    settings: AlertingSettings,
    now: datetime,
) -> None:
    """Remind whoever acknowledged an alert that is still unresolved."""
    alert = ctx.alert
    escalation.updated_at = now
    if alert.state != AlertState.ACKNOWLEDGED or alert.acknowledged_by is None:
        escalation.remind_at = None
        return
    people = await repository.users_as_recipients(session, user_ids=[alert.acknowledged_by])
    number = escalation.reminders_sent + 1
    queued = 0
    for person in people:
        text = reminder_text(
            ctx,
            acknowledged_at=alert.acknowledged_at or now,
            public_url=settings.public_url,
            language=person.language,
        )
        message = Message(
            key=f"alert:{alert.id}:r{escalation.round}:remind{number}",
            purpose="reminder",
            resident_id=alert.resident_id,
            text=text,
            payload=_payload(ctx, settings),
            alert_id=alert.id,
        )
        queued += await enqueue(
            session, message=message, recipients=[person], settings=settings, now=now
        )
    session.add(
        AlertEvent(
            alert_id=alert.id,
            action="reminded",
            details={
                "reminder": number,
                "recipients": [p.name for p in people],
                "deliveries": queued,
            },
        )
    )
    escalation.reminders_sent = number
    escalation.remind_at = _reminder_after(escalation.reminder_interval_s, now)


async def process_due(
    session: AsyncSession, *, settings: AlertingSettings, now: datetime, limit: int = 100
) -> int:
    """Run every due step and reminder this scheduler could lock; returns how many."""
    done = 0
    for escalation, ctx in await repository.due_escalations(
        session, now=now, reminders=False, limit=limit
    ):
        if ctx.alert.state == AlertState.OPEN:
            await fire_step(session, escalation=escalation, ctx=ctx, settings=settings, now=now)
            done += 1
        else:  # acknowledged or resolved since: the escalation is over.
            escalation.next_step_at = None
    for escalation, ctx in await repository.due_escalations(
        session, now=now, reminders=True, limit=limit
    ):
        await remind(session, escalation=escalation, ctx=ctx, settings=settings, now=now)
        done += 1
    return done


async def on_acknowledged(
    session: AsyncSession, *, alert_id: int, acknowledged_at: datetime
) -> None:
    """Stop escalating; start reminding (when the policy says so)."""
    escalation = await repository.get_escalation(session, alert_id=alert_id, lock=True)
    if escalation is None:
        return  # not adopted yet: adoption sees the acknowledgement.
    escalation.next_step_at = None
    escalation.remind_at = _reminder_after(escalation.reminder_interval_s, acknowledged_at)
    escalation.updated_at = acknowledged_at


async def on_resolved(session: AsyncSession, *, alert_id: int, now: datetime) -> None:
    """Stop everything: steps, reminders, and messages still waiting to be sent."""
    escalation = await repository.get_escalation(session, alert_id=alert_id, lock=True)
    if escalation is not None:
        escalation.next_step_at, escalation.remind_at, escalation.updated_at = None, None, now
    await cancel_pending(session, alert_id=alert_id, now=now)


async def restart(session: AsyncSession, *, ctx: AlertContext, now: datetime) -> None:
    """Escalate a reopened alert again from the first step, under today's policy."""
    alert = ctx.alert
    policy, source = await repository.find_policy(
        session,
        facility_id=ctx.facility_id,
        resident_id=alert.resident_id,
        severity=alert.severity,
    )
    escalation = await repository.get_escalation(session, alert_id=alert.id, lock=True)
    if escalation is None:
        escalation = AlertEscalation(alert_id=alert.id, round=0)
        session.add(escalation)
    escalation.round = (escalation.round or 0) + 1
    escalation.steps = [s.model_dump(mode="json") for s in policy.steps]
    escalation.policy_source = source
    escalation.next_step, escalation.next_step_at = 0, _first_due(policy, now)
    escalation.reminder_interval_s = policy.reminder_interval_s
    escalation.remind_at, escalation.reminders_sent, escalation.updated_at = None, 0, now
