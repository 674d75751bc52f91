"""Settings of the training tools, read once per process."""

from __future__ import annotations

from pydantic import Field

from sst_core.objects import ObjectStoreSettings
from sst_core.settings import SSTSettings


class TrainingSettings(SSTSettings, ObjectStoreSettings):
    """History from the SST database; artifacts to object storage (sst_core.objects)."""

    train_history_days: int = Field(
        default=90, ge=7, le=730, description="Days of history a model learns from."
    )
    train_min_days: int = Field(
        default=14,
        ge=3,
        description="A resident with fewer complete days keeps the population prior.",
    )
    train_workers: int = Field(
        default=2, ge=1, le=64, description="Processes training residents side by side."
    )
    train_alert_threshold: int = Field(
        default=75, ge=1, le=100, description="Risk score that raises an alert (evaluation)."
    )
    train_max_false_alert_rate: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Promotion gate: share of held-out days with a false alert at most this.",
    )
