"""Who and where a reading is about: sensors' rooms and residents' names and time zones.

Loaded from PostgreSQL in full at start and every `refresh_s`; an id missing from the
cache (a sensor added since) is looked up on its own once, and a miss is remembered until
the next full load so an unknown id cannot turn every reading into a query.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("sst.inference.directory")

_SENSORS_SQL = """
SELECT s.id, s.kind, r.name AS room_name, r.kind AS room_kind
FROM sensors s LEFT JOIN rooms r ON r.id = s.room_id
"""
_RESIDENTS_SQL = """
SELECT p.id, p.full_name, p.facility_id, COALESCE(h.timezone, f.timezone) AS timezone
FROM residents p
JOIN facilities f ON f.id = p.facility_id
LEFT JOIN homes h ON h.id = p.home_id
"""


@dataclass(frozen=True)
class SensorPlace:
    """Where a sensor is: its room (if it has one) and what it measures."""

    sensor_kind: str
    room_name: str | None
    room_kind: str | None


@dataclass(frozen=True)
class ResidentInfo:
    """What an alert needs to know about a resident."""

    full_name: str
    facility_id: int
    timezone: ZoneInfo


def _zone(name: str | None, resident_id: int) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        # A typo in a home's zone must not stop alerts; UTC times are still true times.
        log.warning("resident %s has unknown time zone %r; using UTC", resident_id, name)
        return ZoneInfo("UTC")


class Directory:
    """A cached map of sensor id -> place and resident id -> resident info."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        refresh_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._refresh_s = refresh_s
        self._clock = clock
        self._loaded_at: float | None = None
        self._sensors: dict[int, SensorPlace | None] = {}
        self._residents: dict[int, ResidentInfo | None] = {}

    async def refresh(self) -> None:
        """Reload every sensor and resident from PostgreSQL."""
        async with self._engine.connect() as conn:
            sensor_rows = (await conn.execute(text(_SENSORS_SQL))).all()
            resident_rows = (await conn.execute(text(_RESIDENTS_SQL))).all()
        self._sensors = {
            row.id: SensorPlace(row.kind, row.room_name, row.room_kind) for row in sensor_rows
        }
        self._residents = {
            row.id: ResidentInfo(row.full_name, row.facility_id, _zone(row.timezone, row.id))
            for row in resident_rows
        }
        self._loaded_at = self._clock()
        log.debug("directory: %d sensors, %d residents", len(sensor_rows), len(resident_rows))

    async def _fresh(self) -> None:
        if self._loaded_at is None or self._clock() - self._loaded_at >= self._refresh_s:
            await self.refresh()

    async def sensor(self, sensor_id: int) -> SensorPlace | None:
        """The room and kind of a sensor, or None if PostgreSQL does not know it."""
        await self._fresh()
        if sensor_id not in self._sensors:
            async with self._engine.connect() as conn:
                row = (
                    await conn.execute(text(_SENSORS_SQL + " WHERE s.id = :id"), {"id": sensor_id})
                ).first()
            self._sensors[sensor_id] = (
                SensorPlace(row.kind, row.room_name, row.room_kind) if row else None
            )
        return self._sensors[sensor_id]

    async def resident(self, resident_id: int) -> ResidentInfo | None:
        """Name, facility and home time zone of a resident, or None if unknown."""
        await self._fresh()
        if resident_id not in self._residents:
            async with self._engine.connect() as conn:
                row = (
                    await conn.execute(
                        text(_RESIDENTS_SQL + " WHERE p.id = :id"), {"id": resident_id}
                    )
                ).first()
            self._residents[resident_id] = (
                ResidentInfo(row.full_name, row.facility_id, _zone(row.timezone, row.id))
                if row
                else None
            )
        return self._residents[resident_id]
