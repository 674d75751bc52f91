"""Bodies of the analytics endpoints: series, heatmaps, daily summaries and their trend."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class BucketSize(StrEnum):
    """Width of a time bucket; buckets are aligned to the home's local midnight."""

    HOUR = "1h"
    THREE_HOURS = "3h"
    SIX_HOURS = "6h"
    TWELVE_HOURS = "12h"
    DAY = "1d"
    WEEK = "7d"


BUCKET_HOURS = {
    BucketSize.HOUR: 1,
    BucketSize.THREE_HOURS: 3,
    BucketSize.SIX_HOURS: 6,
    BucketSize.TWELVE_HOURS: 12,
    BucketSize.DAY: 24,
    BucketSize.WEEK: 168,
}


class SeriesPoint(BaseModel):
    """What a sensor reported within one bucket."""

    start: datetime = Field(description="Start of the bucket (UTC offset of the home).")
    count: int
    min: float
    max: float
    avg: float


class SensorSeries(BaseModel):
    """A sensor's readings in time buckets (empty buckets are left out)."""

    sensor_id: int
    kind: str
    bucket: BucketSize
    timezone: str
    start: datetime
    end: datetime
    points: list[SeriesPoint]


class HeatmapRoom(BaseModel):
    """A room shown in the heatmap."""

    room_id: int
    name: str
    kind: str


class HeatmapRow(BaseModel):
    """Activity in one room over the 24 local hours of one local day."""

    room_id: int
    date: date
    events: list[int] = Field(
        min_length=24,
        max_length=24,
        description="Motion detections, door openings and flushes in hours 00-23.",
    )


class ActivityHeatmap(BaseModel):
    """Activity per room per local hour over local days (rooms and days without any left out)."""

    resident_id: int
    timezone: str
    start_date: date
    end_date: date
    rooms: list[HeatmapRoom]
    rows: list[HeatmapRow]


class MetricTrend(BaseModel):
    """A day's value against the resident's own previous 28 days."""

    baseline_mean: float | None
    band_low: float | None = Field(description="Mean minus two standard deviations (>= 0).")
    band_high: float | None = Field(description="Mean plus two standard deviations.")
    baseline_days: int = Field(description="Days with data among the previous 28.")
    status: str = Field(description="usual, below, above, or no_baseline (under 7 days).")


class DailySummary(BaseModel):
    """How one local day went, from the hourly rollups."""

    date: date
    has_data: bool
    sleep_hours: float | None = Field(description="Hours in bed in the night ending this morning.")
    night_bathroom_visits: int | None = Field(description="Hours 00-05 with bathroom activity.")
    out_of_home_hours: float | None = Field(
        description="Hours 07-22 without motion at home, on a day the front door opened."
    )
    kitchen_active_hours: int | None = Field(description="Hours with kitchen activity.")
    activity_events: int | None = Field(description="Motion detections, door openings, flushes.")
    trend: dict[str, MetricTrend]


class DailySummaries(BaseModel):
    """Daily summaries of a resident over local days, each with its trend."""

    resident_id: int
    timezone: str
    start_date: date
    end_date: date
    baseline_days: int
    days: list[DailySummary]
