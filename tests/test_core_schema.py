"""The migrated schema: readings are idempotent and partitioned, the audit log append-only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import HomeFixture


async def test_readings_are_partitioned_by_pg_partman(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        kind = await conn.scalar(
            text("SELECT relkind::text FROM pg_class WHERE relname = 'readings'")
        )
        parts = await conn.scalar(
            text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'readings'::regclass")
        )
        configured = await conn.scalar(
            text("SELECT count(*) FROM partman.part_config WHERE parent_table = 'public.readings'")
        )
    assert kind == "p"
    assert parts >= 30  # 30 days back, 14 ahead, and the default partition
    assert configured == 1


async def test_same_reading_twice_is_stored_once(engine: AsyncEngine, home: HomeFixture) -> None:
    sensor = home.sensors["kitchen-motion"]
    moment = datetime.now(UTC).replace(microsecond=0)
    insert = text(
        "INSERT INTO readings (time, sensor_id, resident_id, value) VALUES (:t, :s, :r, 1) "
        "ON CONFLICT DO NOTHING"
    )
    async with engine.begin() as conn:
        for _ in range(2):
            await conn.execute(insert, {"t": moment, "s": sensor, "r": home.resident_id})
    async with engine.connect() as conn:
        stored = await conn.scalar(
            text("SELECT count(*) FROM readings WHERE sensor_id = :s"), {"s": sensor}
        )
    assert stored == 1


async def test_audit_log_refuses_changes(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO audit_log (action, target_type, details) VALUES ('x', 'y', '{}')")
        )
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE audit_log SET action = 'forged'"))
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM audit_log"))


def test_migrations_form_one_line() -> None:
    """Branches merged with migrations of their own must be re-chained to a single head."""
    from alembic.script import ScriptDirectory

    from sst_core.db.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("postgresql+asyncpg://unused/x")).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"
