"""The model registry: versions in PostgreSQL (routine_models), promotion announced on Redis.

Versions count up per resident (resident None: the population prior). At most one is
promoted; promoting another retires it; rolling back re-promotes the newest older version
that was promoted once (a candidate that never passed is not a place to go back to).
Every promotion is published on ROUTINE_MODELS_CHANNEL, and inference reloads that
resident; inference also re-reads the registry now and then, so a missed message only
delays a reload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from redis.asyncio import Redis

from sst_core.const import ROUTINE_MODELS_CHANNEL
from sst_core.streams import channel

_COLUMNS = """id, resident_id, version, feature_version, state, artifact_key, data_start,
    data_end, days, metrics, library_versions, created_at, promoted_at"""


class RegistryError(LookupError):
    """A registry request that cannot be done (no such version, nothing to roll back to)."""


@dataclass(frozen=True)
class ModelVersion:
    """One registered model version."""

    id: int
    resident_id: int | None
    version: int
    feature_version: int
    state: str
    artifact_key: str
    data_start: datetime | None
    data_end: datetime | None
    days: int
    metrics: dict[str, Any]
    library_versions: dict[str, Any]
    created_at: datetime
    promoted_at: datetime | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> ModelVersion:
        """A version from a registry row (selected with the usual columns)."""
        values = dict(row)
        for name in ("metrics", "library_versions"):
            if isinstance(values[name], str):
                values[name] = orjson.loads(values[name])
        return cls(**values)


def _who(resident_id: int | None) -> str:
    return "the population prior" if resident_id is None else f"resident {resident_id}"


async def register(
    conn: asyncpg.Connection,
    *,
    resident_id: int | None,
    feature_version: int,
    artifact_key: str,
    data_start: datetime | None,
    data_end: datetime | None,
    days: int,
    metrics: dict[str, Any],
    library_versions: dict[str, Any],
) -> ModelVersion:
    """Record a new candidate version of a resident's model (the next version number)."""
    async with conn.transaction():
        # Serialise version numbering per resident (the unique index would refuse a race).
        await conn.execute("SELECT pg_advisory_xact_lock(7411, $1)", resident_id or 0)
        row = await conn.fetchrow(
            f"""
            INSERT INTO routine_models (resident_id, version, feature_version, state,
                artifact_key, data_start, data_end, days, metrics, library_versions)
            SELECT $1::integer, COALESCE(max(version), 0) + 1, $2, 'candidate', $3, $4, $5, $6,
                   $7::jsonb, $8::jsonb
            FROM routine_models WHERE resident_id IS NOT DISTINCT FROM $1::integer
            RETURNING {_COLUMNS}
            """,
            resident_id,
            feature_version,
            artifact_key,
            data_start,
            data_end,
            days,
            orjson.dumps(metrics).decode(),
            orjson.dumps(library_versions).decode(),
        )
    return ModelVersion.from_row(row)


async def versions(conn: asyncpg.Connection, resident_id: int | None) -> list[ModelVersion]:
    """Every version of a resident's model (None: the population prior), newest first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM routine_models "
        "WHERE resident_id IS NOT DISTINCT FROM $1::integer ORDER BY version DESC",
        resident_id,
    )
    return [ModelVersion.from_row(row) for row in rows]


async def promoted(conn: asyncpg.Connection, resident_id: int | None) -> ModelVersion | None:
    """The promoted version of a resident's model, if any."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM routine_models WHERE state = 'promoted' "
        "AND resident_id IS NOT DISTINCT FROM $1::integer",
        resident_id,
    )
    return ModelVersion.from_row(row) if row else None


async def announce(redis: Redis, version: ModelVersion) -> None:
    """Tell inference that a resident's promoted version changed."""
    message = {"resident_id": version.resident_id, "version": version.version, "id": version.id}
    await redis.publish(channel(redis, ROUTINE_MODELS_CHANNEL), orjson.dumps(message))


async def promote(
    conn: asyncpg.Connection, redis: Redis, resident_id: int | None, version: int | None = None
) -> ModelVersion:
    """Promote a version (default: the newest) of a resident's model and announce it."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7411, $1)", resident_id or 0)
        if version is None:
            version = await conn.fetchval(
                "SELECT max(version) FROM routine_models "
                "WHERE resident_id IS NOT DISTINCT FROM $1::integer",
                resident_id,
            )
        target = await conn.fetchrow(
            "SELECT id, state FROM routine_models "
            "WHERE resident_id IS NOT DISTINCT FROM $1::integer AND version = $2",
            resident_id,
            version,
        )
        if target is None:
            raise RegistryError(f"{_who(resident_id)} has no model version {version}")
        await conn.execute(
            "UPDATE routine_models SET state = 'retired' WHERE state = 'promoted' "
            "AND resident_id IS NOT DISTINCT FROM $1::integer AND id <> $2",
            resident_id,
            target["id"],
        )
        row = await conn.fetchrow(
            f"UPDATE routine_models SET state = 'promoted', promoted_at = now() "
            f"WHERE id = $1 RETURNING {_COLUMNS}",
            target["id"],
        )
    promoted_version = ModelVersion.from_row(row)
    await announce(redis, promoted_version)
    return promoted_version


async def rollback(conn: asyncpg.Connection, redis: Redis, resident_id: int | None) -> ModelVersion:
    """Retire the promoted version; promote the newest older version that was once promoted."""
    current = await promoted(conn, resident_id)
    if current is None:
        raise RegistryError(f"{_who(resident_id)} has no promoted model to roll back")
    previous = await conn.fetchval(
        "SELECT version FROM routine_models WHERE resident_id IS NOT DISTINCT FROM $1::integer "
        "AND promoted_at IS NOT NULL AND version < $2 ORDER BY version DESC LIMIT 1",
        resident_id,
        current.version,
    )
    if previous is None:
        raise RegistryError(
            f"{_who(resident_id)} has no earlier promoted version than {current.version}"
        )
    return await promote(conn, redis, resident_id, previous)


_CHANGED_SQL = """
SELECT r.id FROM residents r
LEFT JOIN LATERAL (
    SELECT max(m.data_end) AS data_end FROM routine_models m WHERE m.resident_id = r.id
) trained ON true
WHERE EXISTS (
    SELECT 1 FROM readings x
    WHERE x.resident_id = r.id AND x.time >= COALESCE(trained.data_end, '-infinity'::timestamptz)
)
ORDER BY r.id
"""


async def residents_with_new_data(conn: asyncpg.Connection) -> list[int]:
    """Residents with readings newer than the data their latest model was trained on."""
    return [row[0] for row in await conn.fetch(_CHANGED_SQL)]
