"""Back up and restore (docs/operations.md): the scripts an operator runs, on the real server.

Readings spread over several daily partitions, alerts and the audit log are written, the
database is dumped with scripts/backup.sh and restored with scripts/restore.sh into a new
database, and every reading is found there, byte for byte; the restored database takes new
readings and keeps its partitions maintained.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from sst_core.db.cli import DbCliSettings
from tests.factories import HomeFixture

REPO = Path(__file__).resolve().parents[2]

_FINGERPRINT = """
SELECT count(*) AS n,
       md5(string_agg(sensor_id::text || '@' || time::text || '=' || value::text,
                      ',' ORDER BY sensor_id, time)) AS digest
FROM readings
"""


@pytest.fixture
async def restored_name() -> AsyncIterator[str]:
    name = f"sst_restore_{uuid.uuid4().hex[:8]}"
    yield name
    conn = await asyncpg.connect(DbCliSettings().database_admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _script(name: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REPO / "scripts" / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def test_a_backup_restores_into_a_new_database_with_every_reading(
    database_url: str, home: HomeFixture, tmp_path: Path, restored_name: str
) -> None:
    dsn = database_url.replace("+asyncpg", "")
    conn = await asyncpg.connect(dsn)
    try:
        # 3 sensors x 3 days, a reading every 5 minutes: partitions of several days.
        sensors = [home.sensors[k] for k in ("living-temp", "kettle-plug", "bedroom-motion")]
        await conn.execute(
            "INSERT INTO readings (sensor_id, resident_id, time, value) "
            "SELECT s, $2, date_trunc('minute', now()) - g * interval '5 minutes', "
            "       (g % 97) / 7.0 "
            "FROM unnest($1::int[]) AS s, generate_series(0, 3 * 288 - 1) AS g",
            sensors,
            home.resident_id,
        )
        before = await conn.fetchrow(_FINGERPRINT)
        partitions = await conn.fetchval(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'readings'::regclass"
        )
    finally:
        await conn.close()
    assert before is not None and before["n"] >= 3 * 3 * 288

    env = {
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "SST_DATABASE_URL": database_url,
        "SST_DATABASE_ADMIN_URL": DbCliSettings().database_admin_url,
    }
    dump = tmp_path / "sst.dump"
    made = _script("backup.sh", str(dump), env=env)
    assert made.returncode == 0, made.stderr
    assert dump.stat().st_size > 0 and oct(dump.stat().st_mode & 0o777) == "0o600"

    restored = _script("restore.sh", str(dump), restored_name, env=env)
    assert restored.returncode == 0, restored.stderr
    again = _script("restore.sh", str(dump), restored_name, env=env)
    assert again.returncode != 0 and "exists" in again.stderr  # never over a database

    target = dsn.rsplit("/", 1)[0] + "/" + restored_name
    conn = await asyncpg.connect(target)
    try:
        after = await conn.fetchrow(_FINGERPRINT)
        assert (after["n"], after["digest"]) == (before["n"], before["digest"])
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = 'readings'::regclass"
            )
            == partitions
        )
        # The restored database is usable: it takes a redelivered reading as a no-op, a
        # new one, and pg_partman's maintenance still knows the table.
        sensor = home.sensors["living-temp"]
        latest = await conn.fetchval("SELECT max(time) FROM readings WHERE sensor_id = $1", sensor)
        inserted = await conn.execute(
            "INSERT INTO readings (sensor_id, resident_id, time, value) VALUES "
            "($1, $2, $3, 1), ($1, $2, $3 + interval '1 second', 2) ON CONFLICT DO NOTHING",
            sensor,
            home.resident_id,
            latest,
        )
        assert inserted == "INSERT 0 1"
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM partman.part_config WHERE parent_table LIKE '%.readings'"
            )
            == 1
        )
        await conn.execute("CALL partman.run_maintenance_proc()")
        assert await conn.fetchval("SELECT count(*) FROM alembic_version") == 1
    finally:
        await conn.close()
