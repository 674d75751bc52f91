"""Hourly rollups of readings, read by analytics under one name: `readings_hourly`.

Columns: bucket (hour start, UTC), sensor_id, resident_id, readings (count), value_sum,
value_min, value_max. Queries are the same on both layouts that `timeseries.probe` picks:

* TimescaleDB: `readings_hourly` is a continuous aggregate with a refresh policy and
  real-time aggregation (the newest hour is read from raw readings).
* Plain PostgreSQL: `readings_hourly` is a table the platform keeps. A statement trigger on
  `readings` logs each (sensor, hour) an INSERT, UPDATE or DELETE touched into
  `readings_hourly_dirty` (TimescaleDB's invalidation log, in small); `refresh` takes
  that log and re-aggregates exactly those buckets from `readings`. A late reading (one
  timed hours or days ago) marks its own old bucket, so it is counted at the next refresh.
  The log is written in the writer's transaction, so nothing committed is ever missed,
  which a time watermark on insertion time cannot promise while transactions overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

from sst_core.db.timeseries import Layout, current_layout

VIEW = "readings_hourly"
DIRTY = "readings_hourly_dirty"
BUCKET = "1 hour"
ORIGIN = "2000-01-01 00:00:00+00"  # hour buckets aligned like time_bucket's
# TimescaleDB: the policy re-materialises invalidated data this far back; older late
# data waits for `sst-db rollup` (which refreshes everything invalidated).
POLICY_START_OFFSET = "35 days"
POLICY_END_OFFSET = "1 hour"
POLICY_SCHEDULE = "5 minutes"
# Serialises refreshes of several backend instances, the CLI and erasures.
LOCK_KEY = 0x5357_524F_4C4C  # "SSTROLL"

# The sum is taken in numeric and saturates at the float8 range: a hub may send values so
# large (each finite, so valid) that their float8 sum overflows, and one such bucket must not
# stop every other bucket's refresh.
_FLOAT8_MAX = "1.7976931348623157e308"
_AGGREGATES = (
    "count(*) AS readings, "
    f"LEAST(GREATEST(sum(r.value::numeric), -{_FLOAT8_MAX}::numeric), {_FLOAT8_MAX}::numeric)"
    "::float8 AS value_sum, "
    "min(r.value) AS value_min, max(r.value) AS value_max"
)


@dataclass(frozen=True)
class RefreshResult:
    """What one refresh did."""

    layout: Layout
    buckets: int  # (sensor, hour) buckets re-aggregated; -1 when TimescaleDB did it
    rows: int  # rollup rows written


def create(connection: Connection, layout: Layout) -> None:
    """Create the rollups for the layout `readings` was built with."""
    if layout == "timescaledb":
        _create_cagg(connection)
    else:
        _create_table(connection)


def _create_cagg(connection: Connection) -> None:
    run = connection.exec_driver_sql
    # WITH NO DATA: a continuous aggregate cannot be filled inside the migration's
    # transaction; the policy fills the recent past, `sst-db rollup` everything.
    run(
        f"CREATE MATERIALIZED VIEW {VIEW} "
        "WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS "
        "SELECT time_bucket(INTERVAL '1 hour', r.time) AS bucket, r.sensor_id, r.resident_id, "
        f"{_AGGREGATES} FROM readings r "
        "GROUP BY time_bucket(INTERVAL '1 hour', r.time), r.sensor_id, r.resident_id "
        "WITH NO DATA"
    )
    run(
        f"SELECT add_continuous_aggregate_policy('{VIEW}', "
        f"start_offset => INTERVAL '{POLICY_START_OFFSET}', "
        f"end_offset => INTERVAL '{POLICY_END_OFFSET}', "
        f"schedule_interval => INTERVAL '{POLICY_SCHEDULE}')"
    )
    run(f"CREATE INDEX ix_{VIEW}_resident_bucket ON {VIEW} (resident_id, bucket)")
    run(f"CREATE INDEX ix_{VIEW}_sensor_bucket ON {VIEW} (sensor_id, bucket)")


def _create_table(connection: Connection) -> None:
    run = connection.exec_driver_sql
    run(
        f"CREATE TABLE {VIEW} (bucket timestamptz NOT NULL, sensor_id integer NOT NULL, "
        "resident_id integer, readings bigint NOT NULL, value_sum double precision NOT NULL, "
        "value_min double precision NOT NULL, value_max double precision NOT NULL)"
    )
    run(f"CREATE INDEX ix_{VIEW}_sensor_bucket ON {VIEW} (sensor_id, bucket)")
    # Covering: a resident's month is an index-only scan.
    run(
        f"CREATE INDEX ix_{VIEW}_resident_bucket ON {VIEW} (resident_id, bucket) "
        "INCLUDE (sensor_id, readings, value_sum, value_min, value_max)"
    )
    # No key: writers append and never wait on a refresh that is taking the log.
    run(f"CREATE TABLE {DIRTY} (sensor_id integer NOT NULL, bucket timestamptz NOT NULL)")
    for op, table in (("INSERT", "new_rows"), ("DELETE", "old_rows")):
        run(
            f"CREATE FUNCTION readings_mark_hourly_{op.lower()}() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO {DIRTY} (sensor_id, bucket) "
            f"SELECT DISTINCT sensor_id, date_bin('{BUCKET}', time, '{ORIGIN}') FROM {table}; "
            "RETURN NULL; END $$"
        )
        transition = "NEW TABLE AS new_rows" if op == "INSERT" else "OLD TABLE AS old_rows"
        run(
            f"CREATE TRIGGER readings_mark_hourly_{op.lower()} AFTER {op} ON readings "
            f"REFERENCING {transition} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION readings_mark_hourly_{op.lower()}()"
        )
    # An UPDATE may move a reading between buckets: both sides are dirty.
    run(
        "CREATE FUNCTION readings_mark_hourly_update() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN INSERT INTO {DIRTY} (sensor_id, bucket) "
        f"SELECT DISTINCT sensor_id, date_bin('{BUCKET}', time, '{ORIGIN}') FROM "
        "(SELECT sensor_id, time FROM new_rows UNION ALL SELECT sensor_id, time FROM old_rows) t; "
        "RETURN NULL; END $$"
    )
    run(
        "CREATE TRIGGER readings_mark_hourly_update AFTER UPDATE ON readings "
        "REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION readings_mark_hourly_update()"
    )
    rebuild(connection)


def drop(connection: Connection) -> None:
    """Undo `create` for either layout."""
    run = connection.exec_driver_sql
    if _is_cagg(connection):
        run(f"DROP MATERIALIZED VIEW IF EXISTS {VIEW} CASCADE")
        return
    for op in ("insert", "delete", "update"):
        run(f"DROP TRIGGER IF EXISTS readings_mark_hourly_{op} ON readings")
        run(f"DROP FUNCTION IF EXISTS readings_mark_hourly_{op}()")
    run(f"DROP TABLE IF EXISTS {DIRTY}")
    run(f"DROP TABLE IF EXISTS {VIEW}")


def _is_cagg(connection: Connection) -> bool:
    return bool(
        connection.execute(
            text(
                "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relname = :name AND c.relkind = 'v'"
            ),
            {"name": VIEW},
        ).scalar()
    )


def refresh(connection: Connection) -> RefreshResult:
    """Re-aggregate every bucket touched since the last refresh (plain PostgreSQL).

    On TimescaleDB the policy does this by itself; call `refresh_all_timescale` on an
    autocommit connection to catch up on everything at once.
    """
    if current_layout(connection) != "partman":
        return RefreshResult("timescaledb", -1, 0)
    connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    connection.exec_driver_sql(
        "CREATE TEMPORARY TABLE IF NOT EXISTS rollup_touched "
        "(sensor_id integer, bucket timestamptz) ON COMMIT DELETE ROWS"
    )
    connection.exec_driver_sql("TRUNCATE rollup_touched")
    # Whatever a writer logs while we work stays in the log for the next refresh.
    buckets = connection.exec_driver_sql(
        f"WITH taken AS (DELETE FROM {DIRTY} RETURNING sensor_id, bucket) "
        "INSERT INTO rollup_touched SELECT DISTINCT sensor_id, bucket FROM taken"
    ).rowcount
    if not buckets:
        return RefreshResult("partman", 0, 0)
    connection.exec_driver_sql("ANALYZE rollup_touched")
    connection.exec_driver_sql(
        f"DELETE FROM {VIEW} h USING rollup_touched t "
        "WHERE h.sensor_id = t.sensor_id AND h.bucket = t.bucket"
    )
    # LATERAL: one index probe per touched bucket, in the one partition that holds it
    # (run-time pruning); a join lets the planner scan every partition instead. JIT only
    # costs seconds of compilation here.
    connection.exec_driver_sql("SET LOCAL jit = off")
    rows = connection.exec_driver_sql(
        f"INSERT INTO {VIEW} (bucket, sensor_id, resident_id, readings, value_sum, "
        "value_min, value_max) "
        "SELECT t.bucket, x.* FROM rollup_touched t CROSS JOIN LATERAL ("
        f"SELECT r.sensor_id, r.resident_id, {_AGGREGATES} FROM readings r "
        "WHERE r.sensor_id = t.sensor_id "
        f"AND r.time >= t.bucket AND r.time < t.bucket + INTERVAL '{BUCKET}' "
        "GROUP BY r.sensor_id, r.resident_id) x"
    ).rowcount
    return RefreshResult("partman", buckets, rows)


def rebuild(connection: Connection) -> RefreshResult:
    """Recompute the whole rollup from `readings` (plain PostgreSQL; after a bulk load)."""
    if current_layout(connection) != "partman":
        return RefreshResult("timescaledb", -1, 0)
    connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    connection.exec_driver_sql(f"TRUNCATE {VIEW}, {DIRTY}")
    rows = connection.exec_driver_sql(
        f"INSERT INTO {VIEW} (bucket, sensor_id, resident_id, readings, value_sum, "
        "value_min, value_max) "
        f"SELECT date_bin('{BUCKET}', r.time, '{ORIGIN}'), r.sensor_id, r.resident_id, "
        f"{_AGGREGATES} FROM readings r GROUP BY 1, 2, 3"
    ).rowcount
    connection.exec_driver_sql(f"ANALYZE {VIEW}")
    return RefreshResult("partman", rows, rows)


def refresh_all_timescale(connection: Connection) -> None:
    """Materialise every invalidated region of the continuous aggregate (autocommit only)."""
    connection.exec_driver_sql(f"CALL refresh_continuous_aggregate('{VIEW}', NULL, NULL)")


def refresh_timescale_range(connection: Connection, start: datetime, end: datetime) -> None:
    """Re-materialise [start, end) of the continuous aggregate (autocommit only)."""
    # CALL takes no bind parameters here; the bounds are datetimes, never user text.
    connection.exec_driver_sql(
        f"CALL refresh_continuous_aggregate('{VIEW}', "
        f"'{start.isoformat()}'::timestamptz, '{end.isoformat()}'::timestamptz)"
    )
