"""The hot path to PostgreSQL: readings by COPY, dead letters, hub presence, one transaction.

Readings are copied (binary COPY, see copyformat) straight into `readings` inside a
savepoint. The unique index on (sensor_id, time) refuses the whole COPY if any row is
already there, which happens only when the broker redelivers (after a restart or a lost
connection): then the savepoint is rolled back and the same bytes go through the staging
step, a per-connection temporary table moved into `readings` with `ON CONFLICT DO
NOTHING`, so a redelivered message never doubles a row. The staging step costs
PostgreSQL about twice the CPU of the direct COPY, so it is kept for a while after a
conflict (redeliveries come in bursts) and not used otherwise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from sst_core.device_messages import DeviceEvent
from sst_hub_gateway.copyformat import ReadingColumns, encode_copy
from sst_hub_gateway.presence import (
    BatteryRow,
    PresenceRules,
    StatusRow,
    write_batteries,
    write_statuses,
)

STAGING_TABLE = "gateway_reading_staging"
READING_COLUMNS = ("time", "sensor_id", "resident_id", "value")

_CREATE_STAGING = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING_TABLE} (
    time timestamptz NOT NULL, sensor_id integer NOT NULL,
    resident_id integer, value double precision NOT NULL
) ON COMMIT DELETE ROWS
"""
_MOVE_STAGED = f"""
INSERT INTO readings (time, sensor_id, resident_id, value)
SELECT time, sensor_id, resident_id, value FROM {STAGING_TABLE}
ON CONFLICT DO NOTHING
"""
_DEAD_LETTER = """
INSERT INTO dead_letters (received_at, hub_serial, topic, reason, excerpt)
VALUES ($1, $2, $3, $4, $5)
"""
_SEEN = """
UPDATE hubs SET last_seen_at = GREATEST(hubs.last_seen_at, seen.at)
FROM unnest($1::text[], $2::timestamptz[]) AS seen(serial, at)
WHERE hubs.serial = seen.serial
"""

DeadLetterRow = tuple[datetime, str | None, str, str, str]  # received, hub, topic, reason, excerpt


@dataclass
class BatchWrite:
    """Everything one batch puts in PostgreSQL."""

    readings: ReadingColumns = field(default_factory=ReadingColumns)
    dead_letters: list[DeadLetterRow] = field(default_factory=list)
    statuses: list[StatusRow] = field(default_factory=list)
    hubs_seen: dict[str, datetime] = field(default_factory=dict)
    batteries: list[BatteryRow] = field(default_factory=list)
    # Filled by write_batch: presence and battery changes it committed (see presence.py).
    device_events: list[DeviceEvent] = field(default_factory=list)

    def is_empty(self) -> bool:
        """True when there is nothing to write."""
        return not (
            self.readings or self.dead_letters or self.statuses or self.hubs_seen or self.batteries
        )


async def _prepare_connection(conn: asyncpg.Connection) -> None:
    await conn.execute(_CREATE_STAGING)


async def create_pool(dsn: str, *, max_size: int = 4) -> asyncpg.Pool:
    """A pool whose connections each have the staging table (connects lazily)."""
    # min_size=0: the gateway starts and holds its MQTT session even while PostgreSQL is down.
    return await asyncpg.create_pool(
        dsn, min_size=0, max_size=max_size, init=_prepare_connection, command_timeout=60
    )


class StagingPolicy:
    """When to COPY straight into `readings` and when through the staging table."""

    def __init__(self, staged_for_s: float = 30.0) -> None:
        self._staged_for_s = staged_for_s
        self._staged_until = 0.0
        self.conflicts = 0

    @property
    def direct(self) -> bool:
        """Whether the next batch may try the direct COPY."""
        return time.monotonic() >= self._staged_until

    def conflicted(self) -> None:
        """A direct COPY met rows already stored: stage for a while."""
        self.conflicts += 1
        self._staged_until = time.monotonic() + self._staged_for_s


_DEFAULT_POLICY = StagingPolicy()


async def _copy_readings(
    conn: asyncpg.Connection, readings: ReadingColumns, policy: StagingPolicy
) -> int:
    """COPY the readings in; returns how many became new rows."""
    data = memoryview(encode_copy(readings))  # asyncpg takes bytes for a file path
    if policy.direct:
        try:
            async with conn.transaction():  # a savepoint inside the batch's transaction
                status = await conn.copy_to_table(
                    "readings", source=data, columns=READING_COLUMNS, format="binary"
                )
            return int(status.rsplit(" ", 1)[-1])
        except asyncpg.UniqueViolationError:
            policy.conflicted()
    await conn.copy_to_table(STAGING_TABLE, source=data, columns=READING_COLUMNS, format="binary")
    status = await conn.execute(_MOVE_STAGED)
    return int(status.rsplit(" ", 1)[-1])


async def write_batch(
    pool: asyncpg.Pool,
    batch: BatchWrite,
    policy: StagingPolicy = _DEFAULT_POLICY,
    rules: PresenceRules | None = None,
) -> int:
    """Write a batch in one transaction; returns how many readings were new rows."""
    rules = rules or PresenceRules()
    inserted = 0
    async with pool.acquire() as conn, conn.transaction():
        if batch.readings:
            inserted = await _copy_readings(conn, batch.readings, policy)
        if batch.dead_letters:
            await conn.executemany(_DEAD_LETTER, batch.dead_letters)
        if batch.hubs_seen:
            await conn.execute(_SEEN, list(batch.hubs_seen), list(batch.hubs_seen.values()))
        events = await write_statuses(conn, batch.statuses, rules)
        events += await write_batteries(conn, batch.batteries, rules)
    batch.device_events = events  # only once committed
    return inserted
