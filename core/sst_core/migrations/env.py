"""Alembic environment: runs migrations over asyncpg against SST_DATABASE_URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from sst_core.db.models import Base
from sst_core.settings import SSTSettings

config = context.config
target_metadata = Base.metadata

# Tables that migrations build with SQL of their own (partitioning differs per server).
_MANAGED_BY_SQL = {"readings"}


def _include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    if type_ == "table" and name in _MANAGED_BY_SQL:
        return False
    return not (
        type_ == "table" and name is not None and name.startswith(("readings_", "template_"))
    )


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or SSTSettings().database_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
