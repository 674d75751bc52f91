"""The benches' own databases and what goes in them: a database of its own on .env's server,
made anew with the production bootstrap and migrations, daily partitions for its history,
homes with the standard flat's sensors, and simulated days to fill them with
(bench/detect_train.py, bench/query.py, bench/video.py, bench/detect_score_db.py); dropping
a bench database, and homes with a hub each in bulk (bench/ingest.py, latency.py, resend.py,
soak.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.engine import make_url

from sst_core.db.cli import DbCliSettings, bootstrap
from sst_core.db.migrate import upgrade
from sst_devices.life import SimHome, SimSensor, day_readings

# (room name, room kind, sensor key, sensor kind) of a flat.
Sensors = Sequence[tuple[str, str, str, str]]


def bench_settings(database: str) -> DbCliSettings:
    """The database settings of .env, on the bench database `database`."""
    base = DbCliSettings()
    url = make_url(base.database_url).set(database=database)
    return DbCliSettings(database_url=url.render_as_string(hide_password=False))


async def drop_database(settings: DbCliSettings) -> None:
    """Drop the bench database if it is there (its connections ended)."""
    name = make_url(settings.database_url).database
    admin = await asyncpg.connect(settings.database_admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def recreate_database(settings: DbCliSettings) -> None:
    """Drop the bench database if it is there, then make and migrate it as production does."""
    await drop_database(settings)
    await bootstrap(settings)
    await asyncio.to_thread(upgrade, settings.database_url)


async def insert_homes(
    conn: asyncpg.Connection,
    facility_id: int,
    homes: int,
    *,
    name: str,
    serial_prefix: str,
    timezone: str,
    online: bool,
) -> None:
    """`homes` homes of the facility ('<name> home <i>'), each with a resident (no video
    consent) and a hub ('<serial_prefix><i in 5 digits>')."""
    await conn.execute(
        """
        WITH h AS (
            INSERT INTO homes (facility_id, label, timezone)
            SELECT $1, $3 || ' home ' || i, $4 FROM generate_series(0, $2 - 1) i
            RETURNING id, label
        ), r AS (
            INSERT INTO residents (facility_id, home_id, full_name, video_consent)
            SELECT $1, id, 'Resident of ' || label, false FROM h
        )
        INSERT INTO hubs (home_id, serial, online)
        SELECT id, $5 || lpad(split_part(label, ' ', 3), 5, '0'), $6 FROM h
        """,
        facility_id,
        homes,
        name,
        timezone,
        serial_prefix,
        online,
    )


async def premake_partitions(settings: DbCliSettings, days: int) -> None:
    """Daily partitions of readings for the last `days` days (plain PostgreSQL's pg_partman
    makes only the next few by itself; TimescaleDB needs none)."""
    conn = await asyncpg.connect(settings.asyncpg_dsn)
    try:
        schema = await conn.fetchval(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname='pg_partman'"
        )
        if schema:
            await conn.execute(
                f"SELECT {schema}.create_partition_time(current_schema() || '.readings', "
                "ARRAY(SELECT generate_series(date_trunc('day', now()) - make_interval(days => $1),"
                " now(), interval '1 day')))",
                days,
            )
    finally:
        await conn.close()


async def add_resident_at_home(
    conn: asyncpg.Connection,
    facility: int,
    *,
    index: int,
    zone: str,
    sensors: Sensors,
    hub_serial: str,
) -> tuple[int, dict[str, int]]:
    """Resident `index` of the facility at home ("Flat i") with a hub and these sensors;
    the resident's id and the sensor ids by key."""
    home = await conn.fetchval(
        "INSERT INTO homes (facility_id, label, timezone) VALUES ($1, $2, $3) RETURNING id",
        facility,
        f"Flat {index}",
        zone,
    )
    resident: int = await conn.fetchval(
        "INSERT INTO residents (facility_id, home_id, full_name, video_consent) "
        "VALUES ($1, $2, $3, false) RETURNING id",
        facility,
        home,
        f"Resident {index}",
    )
    hub = await conn.fetchval(
        "INSERT INTO hubs (home_id, serial, online) VALUES ($1, $2, true) RETURNING id",
        home,
        hub_serial,
    )
    rooms: dict[str, int] = {}
    sensor_ids: dict[str, int] = {}
    for room, room_kind, key, kind in sensors:
        if room not in rooms:
            rooms[room] = await conn.fetchval(
                "INSERT INTO rooms (home_id, name, kind) VALUES ($1, $2, $3) RETURNING id",
                home,
                room,
                room_kind,
            )
        sensor_ids[key] = await conn.fetchval(
            "INSERT INTO sensors (hub_id, room_id, key, kind) VALUES ($1, $2, $3, $4) RETURNING id",
            hub,
            rooms[room],
            key,
            kind,
        )
    return resident, sensor_ids


def template_days(
    zone: str,
    templates: int,
    days: int,
    first: date,
    *,
    sensors: Sensors,
    serial_prefix: str,
    seed: int,
) -> list[list[tuple[str, int, float]]]:
    """Simulated days of `templates` residents of a zone with these sensors, from `first`:
    (key, ms after local midnight, value). The serials (`serial_prefix`-zone-t) and `seed`
    choose the lives."""
    flat = tuple(SimSensor(key=k, kind=kd, room_kind=rk, room_name=rn) for rn, rk, k, kd in sensors)
    pool = []
    for t in range(templates):
        home = SimHome(hub_serial=f"{serial_prefix}-{zone}-{t}", timezone=zone, sensors=flat)
        for d in range(days):
            day = first + timedelta(days=d)
            midnight = int(
                datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).timestamp() * 1000
            )
            pool.append([(k, ts - midnight, v) for k, ts, v in day_readings(home, day, seed=seed)])
    return pool
