"""Every setting of every service is documented in .env.example, under the name it is read by."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from sst_ai_inference.settings import InferenceSettings
from sst_ai_training.settings import TrainingSettings
from sst_backend.settings import BackendSettings
from sst_core.db.cli import DbCliSettings
from sst_devices.settings import DevicesSettings
from sst_hub_gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS: list[type[BaseSettings]] = [
    DbCliSettings,
    BackendSettings,
    GatewaySettings,
    InferenceSettings,
    DevicesSettings,
    TrainingSettings,
]


def env_names(cls: type[BaseSettings]) -> set[str]:
    """The environment variable each field of a settings class is read from."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.add(str(alias.choices[0]).upper())
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def test_env_example_documents_every_setting() -> None:
    documented = set(
        re.findall(r"^#? ?(SST_[A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    missing = {n for cls in SETTINGS for n in env_names(cls)} - documented
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_env_example_gives_a_working_local_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            monkeypatch.setenv(key, value)
    settings = BackendSettings(_env_file=None)
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert len(settings.jwt_secret.get_secret_value()) >= 32
