"""Settings of the inference service, read once at start from SST_* variables."""

from __future__ import annotations

import os
import socket

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from sst_core.objects import ObjectStoreSettings
from sst_core.settings import SSTSettings


def _default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _env(name: str) -> AliasChoices:
    # Prefixed with INFERENCE so one shared .env can hold every service's consumer name.
    return AliasChoices(f"SST_INFERENCE_{name.upper()}", name)


class InferenceSettings(SSTSettings, ObjectStoreSettings):
    """What one inference process needs beyond the shared connection settings."""

    model_config = SettingsConfigDict(**SSTSettings.model_config, populate_by_name=True)

    consumer_name: str = Field(
        default_factory=_default_consumer_name,
        validation_alias=_env("consumer_name"),
        description=(
            "Name in the readings consumer group. Give each replica a stable name to resume "
            "its own pending entries at once after a restart; others take them over after "
            "claim_idle_ms."
        ),
    )
    batch_size: int = Field(default=500, ge=1, le=10_000, validation_alias=_env("batch_size"))
    block_ms: int = Field(default=500, ge=10, validation_alias=_env("block_ms"))
    claim_idle_ms: int = Field(default=30_000, ge=1_000, validation_alias=_env("claim_idle_ms"))
    directory_refresh_s: float = Field(
        default=60.0,
        gt=0,
        validation_alias=_env("directory_refresh_s"),
        description="How often the sensor/resident directory is reloaded from PostgreSQL.",
    )
    windowed_enabled: bool = Field(
        default=True,
        validation_alias=_env("windowed_enabled"),
        description="Run the windowed rules (inactivity, bathroom, night exit...) on a clock.",
    )
    windowed_every_s: float = Field(
        default=60.0,
        ge=5,
        le=3600,
        validation_alias=_env("windowed_every_s"),
        description="How often each resident's windowed rules are judged.",
    )
    windowed_catch_up_h: float = Field(
        default=6.0,
        ge=0,
        le=48,
        validation_alias=_env("windowed_catch_up_h"),
        description="After a pause, how far back the windowed rules are judged again.",
    )
    clock_key: str | None = Field(
        default=None,
        validation_alias=_env("clock_key"),
        description=(
            "Benchmarks and tests only: judge at the times a replay appends to this Redis "
            "stream instead of the wall clock (clock.py). Never set in a deployment."
        ),
    )
    clock_block_s: float = Field(
        default=1.0,
        gt=0,
        le=5,
        validation_alias=_env("clock_block_s"),
        description="With clock_key: longest wait for the next time (then `stop` is checked).",
    )
    # Routine models (routine.py); artifacts come from object storage (sst_core.objects).
    routine_interval_s: float = Field(
        default=600.0,
        ge=0,
        validation_alias=_env("routine_interval_s"),
        description="How often residents' routines are scored (processes share a round); 0: off.",
    )
    routine_chunk_size: int = Field(
        default=250,
        ge=1,
        le=10_000,
        validation_alias=_env("routine_chunk_size"),
        description="Residents per chunk of a round: one query, claimed by one process.",
    )
    routine_sync_s: float = Field(
        default=300.0,
        gt=0,
        validation_alias=_env("routine_sync_s"),
        description="How often the model registry is re-read (promotions also arrive on Redis).",
    )
    routine_alert_score: int = Field(
        default=75, ge=1, le=100, validation_alias=_env("routine_alert_score")
    )
    routine_clear_score: int = Field(
        default=50,
        ge=0,
        le=100,
        validation_alias=_env("routine_clear_score"),
        description="A raised routine alert can be raised again once the score fell below this.",
    )
    routine_max_silence_min: float = Field(
        default=90.0,
        gt=0,
        validation_alias=_env("routine_max_silence_min"),
        description="A home silent this long is not scored (the hub-offline rule covers it).",
    )
    risk_retention_days: float = Field(
        default=30.0,
        gt=0,
        validation_alias=_env("risk_retention_days"),
        description="Risk scores older than this are deleted (at most once an hour).",
    )
