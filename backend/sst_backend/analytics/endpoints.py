"""Time-series analytics for dashboards and data scientists, in the home's local time."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator, AwareDatetime

from sst_backend.analytics import service
from sst_backend.analytics.schemas import ActivityHeatmap, BucketSize, DailySummaries, SensorSeries
from sst_backend.auth.dependencies import CurrentUser
from sst_backend.db import Session
from sst_backend.errors import ERROR_RESPONSES, ErrorResponse
from sst_backend.path_ids import ResidentId, SensorId

router = APIRouter(tags=["analytics"])

_ERRORS = {
    **ERROR_RESPONSES,
    409: {"model": ErrorResponse, "description": "The resident has no home (so no data)."},
}


def _sane_year(value: date) -> date:
    if not 2000 <= value.year <= 2100:
        raise ValueError("must be a date between the years 2000 and 2100")
    return value


def _sane_instant(value: AwareDatetime) -> AwareDatetime:
    _sane_year(value.date())
    return value


LocalDay = Annotated[date, AfterValidator(_sane_year)]
Instant = Annotated[AwareDatetime, AfterValidator(_sane_instant)]
StartDate = Annotated[
    LocalDay | None, Query(description="First local day (default: 29 days before end_date).")
]
EndDate = Annotated[LocalDay | None, Query(description="Last local day (default: today).")]


@router.get("/sensors/{sensor_id}/series", response_model=SensorSeries, responses=_ERRORS)
async def sensor_series(
    sensor_id: SensorId,
    user: CurrentUser,
    session: Session,
    bucket: Annotated[BucketSize, Query(description="Bucket width.")] = BucketSize.HOUR,
    start: Annotated[
        Instant | None, Query(description="From (with a UTC offset; default: end - 7 days).")
    ] = None,
    end: Annotated[Instant | None, Query(description="Until (default: now).")] = None,
) -> SensorSeries:
    """A sensor's readings in time buckets (count, min, max, avg), from the hourly rollups."""
    return await service.sensor_series(
        session, user=user, sensor_id=sensor_id, bucket=bucket, start=start, end=end
    )


@router.get(
    "/residents/{resident_id}/activity-heatmap",
    response_model=ActivityHeatmap,
    responses=_ERRORS,
)
async def activity_heatmap(
    resident_id: ResidentId,
    user: CurrentUser,
    session: Session,
    start_date: StartDate = None,
    end_date: EndDate = None,
) -> ActivityHeatmap:
    """Activity per room per hour of the home's local days (default: the last 30 days)."""
    return await service.activity_heatmap(
        session, user=user, resident_id=resident_id, start_date=start_date, end_date=end_date
    )


@router.get(
    "/residents/{resident_id}/daily-summaries",
    response_model=DailySummaries,
    responses=_ERRORS,
)
async def daily_summaries(
    resident_id: ResidentId,
    user: CurrentUser,
    session: Session,
    start_date: StartDate = None,
    end_date: EndDate = None,
) -> DailySummaries:
    """Sleep, night bathroom visits, time out, kitchen use and activity per local day,
    each against the resident's own previous 28 days (mean and band)."""
    return await service.daily_summaries(
        session, user=user, resident_id=resident_id, start_date=start_date, end_date=end_date
    )
