"""sst_api.yml against the live backend: no server error and no response off its schema.

schemathesis generates valid and invalid requests for every operation of the committed
document and sends them, as an admin, to a backend running in its own process (the
calls block, so it cannot share the test's event loop).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from tests.factories import PASSWORD, HomeFixture
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = int(os.environ.get("SST_SCHEMATHESIS_EXAMPLES", "8"))

schema = schemathesis.openapi.from_path(ROOT / "sst_api.yml")
_admin: dict[str, str] = {}  # filled by the `live_backend` fixture, read by the header hook


@schema.auth(refresh_interval=None)
class AdminBearer:
    """The header hook: every request speaks for the admin of a real facility.

    As an auth provider (not a plain map_headers hook) schemathesis knows the token is
    real, and also checks that the same request without it, or with a forged one, is
    refused with a 401.
    """

    def get(self, case: Any, context: Any) -> str | None:
        """The admin's access token (none while collection draws examples)."""
        return _admin.get("token")

    def set(self, case: Any, token: str, context: Any) -> None:
        """Put the token in the Authorization header."""
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def live_backend(test_env: dict[str, str], home_for_schemathesis: HomeFixture) -> Iterator[str]:
    """`sst-backend serve` in its own process, on the test database."""
    port = free_port()
    env = {
        **os.environ,
        **test_env,
        "SST_PORT": str(port),
        "SST_ROLLUP_INTERVAL_S": "0",
        # Its escalation scheduler would page on other tests' alerts in the shared database.
        "SST_SCHEDULER_ENABLED": "false",
    }
    with tempfile.TemporaryFile() as log:
        # A file, not a pipe: one access-log line per request would fill a pipe nobody reads
        # and block the server.
        process = subprocess.Popen(
            [sys.executable, "-m", "sst_backend", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, "the backend exited at start-up"
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, "the backend did not start in 30 s"
                    time.sleep(0.05)
            response = httpx.post(
                f"{url}/api/v1/auth/login",
                json={"email": home_for_schemathesis.admin_email, "password": PASSWORD},
            )
            assert response.status_code == 200, response.text
            _admin["token"] = response.json()["access_token"]
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)
            log.seek(0)
            stderr = log.read()
            # A traceback in the server log is a 500 someone swallowed: show it.
            assert b"Traceback" not in stderr, stderr.decode(errors="replace")[-4000:]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_contract(case: schemathesis.Case, live_backend: str) -> None:
    # Every other check runs. This one is left out because some rules cannot be said in a
    # JSON Schema (an IANA time zone, "end after start", a birth date not in the future):
    # such a request fits the document yet gets a 422 in the error shape, as it should.
    case.call_and_validate(
        base_url=live_backend, timeout=10, excluded_checks=[positive_data_acceptance]
    )
