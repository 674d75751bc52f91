"""Read every hub's home (sensors, rooms, time zone) from PostgreSQL, read-only."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from sst_core.db.models import Home, Hub, Resident, Room, Sensor
from sst_devices.life import SimHome, SimSensor


async def load_homes(engine: AsyncEngine, serials: Sequence[str] = ()) -> list[SimHome]:
    """One SimHome per hub (only the given serials, if any), ordered by serial."""
    hubs = (
        select(Hub.id, Hub.serial, Home.timezone, Resident.full_name)
        .join(Home, Home.id == Hub.home_id)
        .outerjoin(Resident, Resident.home_id == Home.id)
        .order_by(Hub.serial)
    )
    if serials:
        hubs = hubs.where(Hub.serial.in_(list(serials)))
    sensors = (
        select(Sensor.hub_id, Sensor.key, Sensor.kind, Room.kind, Room.name)
        .outerjoin(Room, Room.id == Sensor.room_id)
        .order_by(Sensor.hub_id, Sensor.key)
    )
    async with engine.connect() as conn:
        hub_rows = (await conn.execute(hubs)).all()
        ids = [row.id for row in hub_rows]
        sensor_rows = (
            (await conn.execute(sensors.where(Sensor.hub_id.in_(ids)))).all() if ids else []
        )
    by_hub: dict[int, list[SimSensor]] = {}
    for hub_id, key, kind, room_kind, room_name in sensor_rows:
        by_hub.setdefault(hub_id, []).append(SimSensor(key, kind, room_kind, room_name))
    return [
        SimHome(
            hub_serial=row.serial,
            timezone=row.timezone,
            sensors=tuple(by_hub.get(row.id, ())),
            resident_name=row.full_name,
        )
        for row in hub_rows
    ]
