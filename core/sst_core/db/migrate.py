"""Run Alembic migrations from code (used by the CLI, the tests and the compose step)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at the migrations shipped in sst_core."""
    cfg = Config()
    cfg.set_main_option("script_location", "sst_core:migrations")
    cfg.set_main_option("sqlalchemy.url", database_url)
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at `database_url` up to `revision`."""
    command.upgrade(alembic_config(database_url), revision)
