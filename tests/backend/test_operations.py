"""Operations: Prometheus metrics, request ids in responses and in every JSON log line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator

import httpx
import pytest
import socketio

from sst_core.log_context import request_id_var
from sst_core.logs import JsonFormatter
from tests.backend.conftest import login
from tests.factories import HomeFixture


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 if absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_requests_by_route_template(
    http: httpx.AsyncClient, home: HomeFixture
) -> None:
    token = await login(http, home.staff_email, home.password)
    before = (await http.get("/metrics")).text
    labels = {"method": "GET", "route": "/api/v1/residents", "status": "200"}
    for _ in range(3):
        await http.get("/api/v1/residents", headers={"Authorization": f"Bearer {token}"})
    await http.get("/api/v1/residents")  # 401
    await http.get("/no/such/path/12345")
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    counted = _sample(after, "sst_http_requests_total", **labels)
    assert counted - _sample(before, "sst_http_requests_total", **labels) == 3
    assert _sample(after, "sst_http_requests_total", route="/api/v1/residents", status="401")
    assert _sample(after, "sst_http_requests_total", route="unmatched", status="404")
    assert "/no/such/path" not in after  # raw paths never become labels
    assert _sample(
        after, "sst_http_request_duration_seconds_count", method="GET", route="/api/v1/residents"
    )


async def test_metrics_track_socket_connections(
    backend_url: str, http: httpx.AsyncClient, home: HomeFixture
) -> None:
    token = await login(http, home.staff_email, home.password)
    before = _sample((await http.get("/metrics")).text, "sst_socketio_connections")
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(backend_url, auth={"token": token}, wait_timeout=5)
    try:
        during = _sample((await http.get("/metrics")).text, "sst_socketio_connections")
        assert during == before + 1
    finally:
        await client.disconnect()
    for _ in range(50):
        now = _sample((await http.get("/metrics")).text, "sst_socketio_connections")
        if now == before:
            break
        await asyncio.sleep(0.05)
    assert now == before


async def test_metrics_stay_out_of_the_api_document(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert "/metrics" not in paths


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Backend log records rendered by the production JSON formatter."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("sst.backend")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(old_level)


async def test_request_id_is_echoed_made_and_logged(
    http: httpx.AsyncClient, json_log: io.StringIO
) -> None:
    given = await http.get("/health", headers={"X-Request-ID": "trace-abc.123"})
    assert given.headers["X-Request-ID"] == "trace-abc.123"
    made = await http.get("/health")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    unsafe = await http.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["X-Request-ID"])
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    ours = [line for line in lines if line.get("request_id") == "trace-abc.123"]
    assert ours and ours[0]["logger"] == "sst.backend.http"
    assert "/health 200" in ours[0]["msg"]
    assert any(line.get("request_id") == made.headers["X-Request-ID"] for line in lines)


def test_json_formatter_takes_the_request_id_from_the_context() -> None:
    formatter = JsonFormatter()
    record = logging.LogRecord("sst.x", logging.INFO, __file__, 1, "hello", None, None)
    assert "request_id" not in json.loads(formatter.format(record))
    token = request_id_var.set("req-42")
    try:
        assert json.loads(formatter.format(record))["request_id"] == "req-42"
    finally:
        request_id_var.reset(token)
