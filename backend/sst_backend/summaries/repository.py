"""Queries of the daily summary: one resident's readings and alerts over a local day."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sst_backend.summaries.calculation import DayAlert, Row
from sst_core.db.models import Alert, Reading, Room, Sensor
from sst_core.texts import stored_alert_text

# Bed state before the night starts decides whether the night begins in bed.
BED_LOOKBACK = timedelta(hours=12)
KINDS = ("bed", "motion", "door")


async def readings(
    session: AsyncSession, *, resident_id: int, start: datetime, end: datetime
) -> list[Row]:
    """Bed, motion and door readings of the resident in [start - lookback, end)."""
    query = (
        select(Reading.time, Reading.sensor_id, Sensor.kind, Room.kind, Reading.value)
        .join(Sensor, Sensor.id == Reading.sensor_id)
        .outerjoin(Room, Room.id == Sensor.room_id)
        .where(
            Reading.resident_id == resident_id,
            Reading.time >= start - BED_LOOKBACK,
            Reading.time < end,
            Sensor.kind.in_(KINDS),
        )
        .order_by(Reading.time, Reading.sensor_id)
    )
    return [
        Row(time=t, sensor_id=s, sensor_kind=k, room_kind=rk, value=v)
        for t, s, k, rk, v in (await session.execute(query)).all()
    ]


async def alerts(
    session: AsyncSession, *, resident_id: int, start: datetime, end: datetime
) -> list[DayAlert]:
    """The alerts opened in [start, end), oldest first."""
    query = (
        select(Alert.title, Alert.severity, Alert.state, Alert.text)
        .where(Alert.resident_id == resident_id, Alert.opened_at >= start, Alert.opened_at < end)
        .order_by(Alert.opened_at)
    )
    found = []
    for title, severity, state, stored in (await session.execute(query)).all():
        words = stored_alert_text(stored)
        found.append(DayAlert(title, severity, state, words.title if words else None))
    return found
