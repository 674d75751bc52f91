"""Queueing each resident's daily summary for their guardians at the home's local hour."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.escalation import repository as people
from sst_backend.escalation.policies import Target
from sst_backend.notifications.deliveries import Message, enqueue
from sst_backend.notifications.settings import AlertingSettings
from sst_backend.summaries.service import daily_figures
from sst_backend.summaries.texts import summary_text
from sst_core.db.models import DailySummaryRun

# Residents whose home has reached the summary hour today and whose summary is not queued.
_DUE = text(
    """
    SELECT r.id, r.facility_id, r.full_name, h.timezone,
           CAST(timezone(h.timezone, CAST(:now AS timestamptz)) AS date) AS local_date
    FROM residents r JOIN homes h ON h.id = r.home_id
    WHERE extract(hour FROM timezone(h.timezone, CAST(:now AS timestamptz))) >= :hour
      AND NOT EXISTS (
          SELECT 1 FROM daily_summary_runs s
          WHERE s.resident_id = r.id
            AND s.local_date = CAST(timezone(h.timezone, CAST(:now AS timestamptz)) AS date))
    ORDER BY r.id
    LIMIT :limit
    """
)


async def queue_daily_summaries(
    session: AsyncSession, *, settings: AlertingSettings, now: datetime, limit: int = 100
) -> int:
    """Queue due summaries; the run row makes sure one scheduler queues each one once."""
    queued = 0
    due = await session.execute(
        _DUE, {"now": now, "hour": settings.daily_summary_hour, "limit": limit}
    )
    for resident_id, facility_id, name, timezone, local_date in due.all():
        claimed = await session.execute(
            insert(DailySummaryRun)
            .values(resident_id=resident_id, local_date=local_date)
            .on_conflict_do_nothing()
            .returning(DailySummaryRun.resident_id)
        )
        if claimed.first() is None:
            continue
        queued += 1
        await queue_one(
            session,
            settings=settings,
            resident_id=resident_id,
            facility_id=facility_id,
            name=name,
            timezone=timezone,
            day=local_date,
            now=now,
        )
    return queued


async def queue_one(
    session: AsyncSession,
    *,
    settings: AlertingSettings,
    resident_id: int,
    facility_id: int,
    name: str,
    timezone: str,
    day: date,
    now: datetime,
) -> int:
    """E-mail one resident's summary of `day` to the guardians who want it."""
    figures = await daily_figures(
        session, resident_id=resident_id, day=day, timezone=timezone, now=now
    )
    guardians = await people.recipients(
        session, target=Target.GUARDIANS, resident_id=resident_id, facility_id=facility_id
    )
    wanted = [g for g in guardians if g.preferences is None or g.preferences.daily_summary]
    queued = 0
    for guardian in wanted:
        message = Message(
            key=f"summary:{resident_id}:{day.isoformat()}",
            purpose="daily_summary",
            resident_id=resident_id,
            text=summary_text(figures, name=name, language=guardian.language),
            payload={"resident_id": resident_id, "resident": name, "date": day.isoformat()},
        )
        queued += await enqueue(
            session,
            message=message,
            recipients=[guardian],
            settings=settings,
            now=now,
            only=("email",),
        )
    return queued
