"""A resident's daily summary, for guardians and staff."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from sst_backend.audit import record
from sst_backend.auth.dependencies import CurrentUser
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES, APIError
from sst_backend.escalation.service import require_resident
from sst_backend.path_ids import ResidentId
from sst_backend.summaries.schemas import DailySummaryOut, SummaryAlert
from sst_backend.summaries.service import daily_figures
from sst_backend.summaries.texts import (
    summary_lines,
    summary_opening,
    summary_text,
    summary_texts,
)
from sst_core.db.models import Home
from sst_core.texts import english

router = APIRouter(tags=["residents"])

EARLIEST = date(2000, 1, 1)


@router.get(
    "/residents/{resident_id}/daily-summary",
    response_model=DailySummaryOut,
    responses=ERROR_RESPONSES,
)
async def daily_summary(
    resident_id: ResidentId,
    user: CurrentUser,
    session: Session,
    day: Annotated[
        date | None,
        Query(alias="date", description="Local date of the home (default: today there)."),
    ] = None,
) -> DailySummaryOut:
    """How the day went: sleep, kitchen use, activity, time out and alerts, in plain words."""
    resident = await require_resident(session, user=user, resident_id=resident_id)
    home = await session.get(Home, resident.home_id) if resident.home_id else None
    timezone = home.timezone if home else "UTC"
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(timezone)).date()
    day = day or today
    if day < EARLIEST or day > today:
        raise APIError(
            422, "invalid_request", "Choose a day between 2000-01-01 and today (in the home)."
        )
    figures = await daily_figures(
        session, resident_id=resident_id, day=day, timezone=timezone, now=now
    )
    record(
        session,
        actor=user,
        action="resident.daily_summary",
        target_type="resident",
        target_id=resident_id,
        details={"date": day.isoformat()},
    )
    opening = summary_opening(figures, name=resident.full_name)
    return DailySummaryOut(
        resident_id=resident_id,
        date=day,
        timezone=timezone,
        until=figures.until,
        complete=figures.complete,
        sleep_hours=figures.sleep_hours,
        times_up_at_night=figures.times_up_at_night,
        got_up_at=figures.got_up_at,
        kitchen_visits=figures.kitchen_visits,
        kitchen_motion=figures.kitchen_motion,
        active_hours=figures.active_hours,
        door_pairs=figures.door_pairs,
        outings=figures.outings,
        time_out_minutes=figures.time_out_minutes,
        alerts=[
            SummaryAlert(title=a.title, severity=a.severity, state=a.state, title_text=a.title_text)
            for a in figures.alerts
        ],
        opening=english(opening),
        opening_text=opening,
        lines=summary_lines(figures, name=resident.full_name),
        lines_text=summary_texts(figures),
        text=summary_text(figures, name=resident.full_name).body,
    )
