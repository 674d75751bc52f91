"""`sst-db`: create the role and database, migrate, and run time-series maintenance."""

from __future__ import annotations

import argparse
import asyncio
import logging

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from sst_core.db import rollups, timeseries
from sst_core.db.migrate import upgrade
from sst_core.settings import SSTSettings

log = logging.getLogger("sst.db")


class DbCliSettings(SSTSettings):
    """Adds the superuser connection used only to create the role and database."""

    database_admin_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def bootstrap(settings: DbCliSettings, *, database: str | None = None) -> None:
    """Create the application role, its database and the extensions a superuser must add."""
    url = make_url(settings.database_url)
    db_name = database or url.database or "sst"
    role = url.username or "sst"
    admin = await asyncpg.connect(settings.database_admin_url)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            password = url.password
            clause = "PASSWORD " + _literal(password) if password else ""
            await admin.execute(f"CREATE ROLE {_quote_ident(role)} LOGIN {clause}")
            log.info("created role %s", role)
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db_name):
            await admin.execute(
                f"CREATE DATABASE {_quote_ident(db_name)} OWNER {_quote_ident(role)}"
            )
            log.info("created database %s", db_name)
    finally:
        await admin.close()
    admin_db = make_url(settings.database_admin_url).set(database=db_name)
    conn = await asyncpg.connect(admin_db.render_as_string(hide_password=False))
    try:
        await _add_extensions(conn, role)
    finally:
        await conn.close()


async def _add_extensions(conn: asyncpg.Connection, role: str) -> None:
    """TimescaleDB when the server can load it, else pg_partman; both need a superuser."""
    preload = await conn.fetchval("SHOW shared_preload_libraries") or ""
    has_tsdb = await conn.fetchval(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    )
    if has_tsdb and "timescaledb" in preload:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        return
    if not await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name='pg_partman'"):
        raise SystemExit(
            "pg_partman is not installed on this PostgreSQL server and TimescaleDB is not "
            "loaded: install postgresql-15-partman (make run does) or use TimescaleDB."
        )
    await conn.execute("CREATE SCHEMA IF NOT EXISTS partman")
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman")
    r = _quote_ident(role)
    # pg_partman's maintenance runs as the application role (it owns `readings`).
    await conn.execute(f"GRANT ALL ON SCHEMA partman TO {r}")
    await conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA partman TO {r}")
    await conn.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA partman TO {r}")
    await conn.execute(f"GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA partman TO {r}")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def maintain(settings: SSTSettings) -> None:
    """One round of partition maintenance (TimescaleDB runs its own policies)."""
    asyncio.run(_maintain_async(settings))


async def _maintain_async(settings: SSTSettings) -> None:
    engine = create_async_engine(settings.database_url)
    async with engine.begin() as conn:
        await conn.run_sync(timeseries.run_maintenance)
    await engine.dispose()


def rollup(settings: SSTSettings, *, full: bool = False) -> rollups.RefreshResult:
    """Bring the hourly rollups up to date (everything from scratch with `full`)."""
    return asyncio.run(_rollup_async(settings, full=full))


async def _rollup_async(settings: SSTSettings, *, full: bool) -> rollups.RefreshResult:
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            result = await conn.run_sync(rollups.rebuild if full else rollups.refresh)
        if result.layout == "timescaledb":
            # CALL refresh_continuous_aggregate refuses to run inside a transaction.
            async with engine.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.run_sync(rollups.refresh_all_timescale)
    finally:
        await engine.dispose()
    return result


def main(argv: list[str] | None = None) -> None:
    """Entry point of `sst-db`."""
    parser = argparse.ArgumentParser(prog="sst-db", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("bootstrap", help="create role, database and extensions (as superuser)")
    sub.add_parser("upgrade", help="apply every migration")
    sub.add_parser("setup", help="bootstrap, then upgrade")
    sub.add_parser("maintain", help="create upcoming partitions, drop expired ones")
    roll = sub.add_parser("rollup", help="re-aggregate the hourly rollups touched since last time")
    roll.add_argument("--full", action="store_true", help="recompute every bucket from readings")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    settings = DbCliSettings()
    if args.command in ("bootstrap", "setup"):
        asyncio.run(bootstrap(settings))
    if args.command in ("upgrade", "setup"):
        upgrade(settings.database_url)
    if args.command == "maintain":
        maintain(settings)
    if args.command == "rollup":
        result = rollup(settings, full=args.full)
        log.info("rollup (%s): %d buckets, %d rows", result.layout, result.buckets, result.rows)
