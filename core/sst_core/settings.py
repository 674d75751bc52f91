"""Settings shared by every SST service; each service extends `SSTSettings` with its own."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SSTSettings(BaseSettings):
    """Connection settings every service needs, read from SST_* variables and `.env`."""

    model_config = SettingsConfigDict(
        env_prefix="SST_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default="postgresql+asyncpg://sst@127.0.0.1:5432/sst",
        description="SQLAlchemy URL of the SST database (asyncpg driver).",
    )
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis for streams.")
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(
        default=1884, description="SST's own broker locally (scripts/broker.sh)."
    )
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_tls: bool = False
    timeseries_backend: Literal["auto", "timescaledb", "partman"] = Field(
        default="auto",
        description="Which time-series layout migrations build; auto probes the server.",
    )
    log_level: str = "INFO"
    log_json: bool = False

    @property
    def asyncpg_dsn(self) -> str:
        """The database URL in the plain form asyncpg accepts."""
        return self.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
