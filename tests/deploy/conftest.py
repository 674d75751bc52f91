"""Fixtures for the deployment files: the repository root, free ports, a dev certificate."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The secrets docker-compose.yml insists on (`${VAR:?...}`), with throwaway values.
REQUIRED_SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret-1",
    "DB_PASSWORD": "db-secret-1",
    "SST_JWT_SECRET": "jwt-secret-0123456789abcdef0123456789abcdef",
    "SST_TURN_SECRET": "turn-secret-1",
    "MQTT_ADMIN_PASSWORD": "mqtt-admin-secret-1",
    "MQTT_GATEWAY_PASSWORD": "gateway-secret-1",
    "MQTT_BACKEND_PASSWORD": "backend-secret-1",
    "MINIO_ROOT_USER": "minio-admin",
    "MINIO_ROOT_PASSWORD": "minio-secret-1",
    "SST_S3_ACCESS_KEY_ID": "sst-app",
    "SST_S3_SECRET_ACCESS_KEY": "s3-secret-1",
}


def require_tool(name: str, *fallbacks: str) -> str:
    """Path of a program the test needs; a missing one fails the test, never skips it."""
    for candidate in (name, *fallbacks):
        found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        if found:
            return found
    pytest.fail(f"{name} is not installed; scripts/setup-system.sh installs it", pytrace=False)


@pytest.fixture(scope="session")
def dev_cert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A certificate pair made by scripts/gen-dev-cert.sh, as an operator would make it."""
    out = tmp_path_factory.mktemp("certs")
    subprocess.run(
        ["bash", str(REPO / "scripts/gen-dev-cert.sh"), str(out)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out
