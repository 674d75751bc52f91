"""The readings time series on either TimescaleDB or plain PostgreSQL with pg_partman.

One capability probe picks the layout; queries are the same on both (date_bin, plain
SQL on `readings`). On plain PostgreSQL, pg_partman 4.7 keeps daily native partitions
and the platform calls its maintenance; on TimescaleDB, the table is a hypertable with
compression and retention policies.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import text
from sqlalchemy.engine import Connection

Layout = Literal["timescaledb", "partman"]

CHUNK_INTERVAL = "1 day"
COMPRESS_AFTER = "7 days"
RETAIN_FOR = "730 days"
PREMAKE_DAYS = 14

READINGS_COLUMNS = """
    time        timestamptz      NOT NULL,
    sensor_id   integer          NOT NULL,
    resident_id integer,
    value       double precision NOT NULL
"""


def probe(connection: Connection) -> Layout:
    """Which layout this server supports: TimescaleDB when it can be loaded, else pg_partman."""
    installed = connection.execute(
        text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    ).scalar()
    if installed:
        return "timescaledb"
    available = connection.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).scalar()
    # pg_settings hides this row from roles that may not read it: then bootstrap (as a
    # superuser) would already have created the extension, and its absence means no.
    preload = (
        connection.execute(
            text("SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'")
        ).scalar()
        or ""
    )
    return "timescaledb" if available and "timescaledb" in preload else "partman"


def current_layout(connection: Connection) -> Layout | None:
    """The layout `readings` was built with, or None before the migration ran."""
    row = connection.execute(
        text(
            "SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relname = 'readings'"
        )
    ).scalar()
    if row is None:
        return None
    if row == "p":
        return "partman"
    return "timescaledb"


def create_readings(connection: Connection, layout: Layout) -> None:
    """Create `readings` and its maintenance for the chosen layout."""
    if layout == "timescaledb":
        _create_hypertable(connection)
    else:
        _create_partman(connection)


def _create_hypertable(connection: Connection) -> None:
    run = connection.exec_driver_sql
    run("CREATE EXTENSION IF NOT EXISTS timescaledb")
    run(f"CREATE TABLE readings ({READINGS_COLUMNS})")
    run(
        "SELECT create_hypertable('readings', 'time', "
        f"chunk_time_interval => interval '{CHUNK_INTERVAL}')"
    )
    # The unique index makes a redelivered reading a no-op (ON CONFLICT DO NOTHING);
    # TimescaleDB requires the partitioning column in it, which it has.
    run("CREATE UNIQUE INDEX uq_readings_sensor_time ON readings (sensor_id, time DESC)")
    run("CREATE INDEX ix_readings_resident_time ON readings (resident_id, time DESC)")
    run(
        "ALTER TABLE readings SET (timescaledb.compress, "
        "timescaledb.compress_segmentby = 'sensor_id', "
        "timescaledb.compress_orderby = 'time DESC')"
    )
    run(f"SELECT add_compression_policy('readings', interval '{COMPRESS_AFTER}')")
    run(f"SELECT add_retention_policy('readings', interval '{RETAIN_FOR}')")


def _create_partman(connection: Connection) -> None:
    run = connection.exec_driver_sql
    has_partman = _partman_schema(connection)
    if has_partman is None:
        # Needs a superuser; `sst-db bootstrap` does it ahead for a non-superuser owner.
        run("CREATE SCHEMA IF NOT EXISTS partman")
        run("CREATE EXTENSION pg_partman SCHEMA partman")
        has_partman = "partman"
    run(f"CREATE TABLE readings ({READINGS_COLUMNS}) PARTITION BY RANGE (time)")
    run("CREATE UNIQUE INDEX uq_readings_sensor_time ON readings (sensor_id, time DESC)")
    run("CREATE INDEX ix_readings_resident_time ON readings (resident_id, time DESC)")
    # pg_partman 4.7 (Debian bookworm): native partitioning needs p_type => 'native'.
    run(
        f"SELECT {has_partman}.create_parent("
        "p_parent_table => current_schema() || '.readings', p_control => 'time', "
        f"p_type => 'native', p_interval => 'daily', p_premake => {PREMAKE_DAYS}, "
        "p_start_partition => to_char(now() - interval '30 days', 'YYYY-MM-DD'))"
    )
    run(
        f"UPDATE {has_partman}.part_config SET retention = '{RETAIN_FOR}', "
        "retention_keep_table = false, infinite_time_partitions = true "
        "WHERE parent_table = current_schema() || '.readings'"
    )


def drop_readings(connection: Connection) -> None:
    """Undo `create_readings` for either layout."""
    layout = current_layout(connection)
    if layout == "partman":
        schema = _partman_schema(connection)
        connection.exec_driver_sql(
            f"DELETE FROM {schema}.part_config WHERE parent_table = current_schema() || '.readings'"
        )
    connection.exec_driver_sql("DROP TABLE IF EXISTS readings CASCADE")
    connection.exec_driver_sql("DROP TABLE IF EXISTS template_readings CASCADE")


def run_maintenance(connection: Connection) -> None:
    """Create upcoming partitions and drop expired ones (plain PostgreSQL only)."""
    if current_layout(connection) != "partman":
        return
    schema = _partman_schema(connection)
    connection.execute(
        text(f"SELECT {schema}.run_maintenance(p_parent_table => current_schema() || '.readings')")
    )


def _partman_schema(connection: Connection) -> str | None:
    """The schema pg_partman was installed in, or None when it is not installed."""
    return connection.execute(
        text(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_partman'"
        )
    ).scalar()
