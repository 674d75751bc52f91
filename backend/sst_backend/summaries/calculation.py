"""A resident's day from raw readings, in the home's local day: sleep, kitchen, activity, outings.

A small, honest calculation (the routine features of ai_training will replace it):
sleep is bed occupancy between 20:00 the evening before and 10:00; kitchen use is kitchen
motion (visits are runs of it at least 30 minutes apart); activity is the local hours with
any motion; an outing is the time between two door open/close pairs with no motion inside.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sst_core.texts import Text

NIGHT_START = time(20, 0)  # of the evening before
NIGHT_END = time(10, 0)
KITCHEN_VISIT_GAP = timedelta(minutes=30)
MIN_OUTING = timedelta(minutes=10)


@dataclass(frozen=True)
class Row:
    """One reading with what the calculation needs to know about its sensor."""

    time: datetime
    sensor_id: int
    sensor_kind: str
    room_kind: str | None
    value: float


@dataclass(frozen=True)
class DayAlert:
    """An alert opened that day: its English title, severity, state and structured title."""

    title: str
    severity: str
    state: str
    title_text: Text | None = None


@dataclass
class DayFigures:
    """The figures of one local day (up to `until` when the day is not over)."""

    day: date
    timezone: str
    until: datetime
    complete: bool
    sleep_hours: float | None = None
    times_up_at_night: int = 0
    got_up_at: str | None = None
    kitchen_motion: int = 0
    kitchen_visits: int = 0
    active_hours: int = 0
    door_pairs: int = 0
    outings: int = 0
    time_out_minutes: int = 0
    alerts: list[DayAlert] = field(default_factory=list)


def local_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """Start and end of a local day as aware datetimes (23 or 25 hours on DST days)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), zone)


def night_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The night that ends on the morning of `day`."""
    zone = ZoneInfo(timezone)
    return (
        datetime.combine(day - timedelta(days=1), NIGHT_START, zone),
        datetime.combine(day, NIGHT_END, zone),
    )


def _sleep(
    rows: list[Row], start: datetime, end: datetime, figures: DayFigures, zone: ZoneInfo
) -> None:
    beds = [r for r in rows if r.sensor_kind == "bed"]
    if not beds:
        return
    occupied: set[int] = set()
    in_bed_since: datetime | None = None
    total = timedelta()
    ups: list[datetime] = []
    for row in beds:
        was = bool(occupied)
        (occupied.add if row.value >= 0.5 else occupied.discard)(row.sensor_id)
        now_in = bool(occupied)
        at = min(max(row.time, start), end)
        if now_in and not was:
            in_bed_since = at
        elif was and not now_in:
            if in_bed_since is not None:
                total += at - in_bed_since
            in_bed_since = None
            if start < row.time <= end:
                ups.append(row.time)
    if in_bed_since is not None:
        total += end - in_bed_since
    figures.sleep_hours = round(total.total_seconds() / 3600, 1)
    if ups:
        # The last time out of bed is getting up for the day when the resident stayed up.
        final_up = ups[-1] if not occupied else None
        figures.times_up_at_night = len(ups) - (1 if final_up else 0)
        figures.got_up_at = final_up.astimezone(zone).strftime("%H:%M") if final_up else None


def _outings(day_rows: list[Row], figures: DayFigures) -> None:
    doors = [r for r in day_rows if r.sensor_kind == "door"]
    motion = [r.time for r in day_rows if r.sensor_kind == "motion" and r.value > 0]
    pairs: list[tuple[datetime, datetime]] = []
    opened: datetime | None = None
    for row in doors:
        if row.value >= 0.5:
            opened = opened or row.time
        elif opened is not None:
            pairs.append((opened, row.time))
            opened = None
    figures.door_pairs = len(pairs)
    away = timedelta()
    for (_, closed), (reopened, _) in itertools.pairwise(pairs):
        quiet = not any(closed < m < reopened for m in motion)
        if quiet and reopened - closed >= MIN_OUTING:
            figures.outings += 1
            away += reopened - closed
    figures.time_out_minutes = int(away.total_seconds() // 60)


def summarize(rows: Iterable[Row], *, day: date, timezone: str, now: datetime) -> DayFigures:
    """Figures of `day` from readings sorted by time (those of the night before included)."""
    zone = ZoneInfo(timezone)
    day_start, day_end = local_bounds(day, timezone)
    night_start, night_end = night_bounds(day, timezone)
    until = min(day_end, now)
    figures = DayFigures(day=day, timezone=timezone, until=until, complete=now >= day_end)
    ordered = sorted(rows, key=lambda r: (r.time, r.sensor_id))
    if night_start < now:
        night = [r for r in ordered if r.time <= min(night_end, now)]
        _sleep(night, night_start, min(night_end, now), figures, zone)
    day_rows = [r for r in ordered if day_start <= r.time < until]
    kitchen = [
        r.time
        for r in day_rows
        if r.sensor_kind == "motion" and r.room_kind == "kitchen" and r.value > 0
    ]
    figures.kitchen_motion = len(kitchen)
    figures.kitchen_visits = sum(
        1 for i, t in enumerate(kitchen) if i == 0 or t - kitchen[i - 1] >= KITCHEN_VISIT_GAP
    )
    # Hours counted from local midnight, so a 23- or 25-hour DST day counts each hour once.
    figures.active_hours = len(
        {
            int((r.time - day_start).total_seconds() // 3600)
            for r in day_rows
            if r.sensor_kind == "motion" and r.value > 0
        }
    )
    _outings(day_rows, figures)
    return figures
