"""Days of a test home written into PostgreSQL, and a detector judging them on a clock."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_ai_inference.detector import Detector
from sst_ai_inference.directory import Directory
from sst_core.messages import AlertMessage
from tests.factories import HomeFixture
from tests.readings_data import insert_readings

BERLIN = "Europe/Berlin"
SPRING_FORWARD = date(2024, 3, 31)  # 02:00 CET -> 03:00 CEST
FALL_BACK = date(2024, 10, 27)  # 03:00 CEST -> 02:00 CET
STEP = timedelta(minutes=5)


def local(day: date, hh: int, mm: int = 0, *, zone: str = BERLIN, fold: int = 0) -> datetime:
    """A wall-clock time in the home's zone, as UTC."""
    wall = datetime.combine(day, time(hh, mm), tzinfo=ZoneInfo(zone)).replace(fold=fold)
    return wall.astimezone(UTC)


@dataclass
class Scenario:
    """Readings of one home to write, built up in any order."""

    home: HomeFixture
    rows: list[tuple[datetime, int, int | None, float]] = field(default_factory=list)

    def add(self, key: str, at: datetime, value: float = 1.0) -> Scenario:
        """One reading of one of the home's sensors."""
        self.rows.append((at, self.home.sensors[key], self.home.resident_id, value))
        return self

    def every(
        self,
        key: str,
        start: datetime,
        end: datetime,
        value: float = 1.0,
        step: timedelta = STEP,
        offset: timedelta = timedelta(seconds=3),
    ) -> Scenario:
        """A reading every `step` in [start, end), as thermometers and bed sensors send."""
        t = start + offset
        while t < end:
            self.add(key, t, value)
            t += step
        return self

    def life(
        self,
        start: datetime,
        end: datetime,
        *,
        celsius: float = 21.0,
        in_bed: Callable[[datetime], bool] = lambda _: False,
    ) -> Scenario:
        """The scheduled readings of a home: the thermometer every 5 min, the bed every 30."""
        self.every("living-temp", start, end, celsius)
        t = start + timedelta(seconds=7)
        while t < end:
            self.add("bed-pressure", t, 1.0 if in_bed(t) else 0.0)
            t += timedelta(minutes=30)
        return self

    async def write(self, engine: AsyncEngine, rows: Iterable[Any] | None = None) -> int:
        """Insert the readings (all, or the given ones) as the gateway would."""
        return await insert_readings(engine, list(rows if rows is not None else self.rows))


async def hub_online(engine: AsyncEngine, home: HomeFixture, online: bool = True) -> None:
    """Mark the home's hub online (or offline), as the gateway's presence does."""
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE hubs SET online = :o, last_seen_at = now() WHERE id = :h"),
            {"o": online, "h": home.hub_id},
        )


def detector(engine: AsyncEngine, redis: Redis, **kwargs: Any) -> Detector:
    """A detector as a fresh inference process makes it (own directory, nothing in memory)."""
    return Detector(
        engine=engine,
        redis=redis,
        directory=Directory(engine, refresh_s=600),
        every=STEP,
        **kwargs,
    )


async def run_clock(
    detectors: Sequence[Detector],
    residents: Sequence[int],
    start: datetime,
    end: datetime,
    step: timedelta = STEP,
) -> list[AlertMessage]:
    """Tick every detector at each instant of [start, end], side by side; what they announced."""
    import asyncio

    announced: list[AlertMessage] = []
    t = start
    while t <= end:
        results = await asyncio.gather(*(d.tick(t, residents=residents) for d in detectors))
        for messages in results:
            announced.extend(messages)
        t += step
    return announced


async def open_alerts(engine: AsyncEngine, resident_id: int) -> list[Any]:
    """Every alert of a resident, oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM alerts WHERE resident_id = :r ORDER BY id"), {"r": resident_id}
        )
        return list(rows.mappings().all())


async def kinds(engine: AsyncEngine, resident_id: int) -> list[str]:
    """Kinds of a resident's alerts, oldest first."""
    return [a["kind"] for a in await open_alerts(engine, resident_id)]


Row = tuple[datetime, int, int | None, float]


async def run_clock_with_arrivals(
    engine: AsyncEngine,
    detectors: Sequence[Detector],
    residents: Sequence[int],
    arrivals: Sequence[tuple[datetime, Row]],
    start: datetime,
    end: datetime,
    step: timedelta = STEP,
) -> list[AlertMessage]:
    """Like run_clock, writing each reading only once the clock passed its arrival time."""
    import asyncio

    pending = sorted(arrivals, key=lambda a: a[0])
    announced: list[AlertMessage] = []
    t, i = start, 0
    while t <= end:
        batch: list[Row] = []
        while i < len(pending) and pending[i][0] <= t:
            batch.append(pending[i][1])
            i += 1
        if batch:
            await insert_readings(engine, batch)
        results = await asyncio.gather(*(d.tick(t, residents=residents) for d in detectors))
        for messages in results:
            announced.extend(messages)
        t += step
    return announced
