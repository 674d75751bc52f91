"""Every kind of bad input gets its own short, clear reason (no database needed)."""

from __future__ import annotations

import orjson
import pytest

from sst_core.messages import EventIn, StatusIn, TelemetryIn
from sst_hub_gateway.parsing import (
    EXCERPT_CHARS,
    Rejection,
    check_time,
    excerpt,
    parse_payload,
    parse_topic,
    unknown_hub,
    unknown_sensor,
)

LIMIT = 256 * 1024
NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def reject(kind: str, payload: bytes) -> Rejection:
    result = parse_payload(kind, payload, max_bytes=LIMIT)
    assert isinstance(result, Rejection), result
    return result


def test_topic_gives_serial_and_kind() -> None:
    assert parse_topic("sst/v1/hubs/hub-42/telemetry") == ("hub-42", "telemetry")
    assert parse_topic("sst/v1/hubs/hub-42/events") == ("hub-42", "events")
    assert parse_topic("sst/v1/hubs/hub-42/status") == ("hub-42", "status")


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("sst/v2/hubs/hub-1/telemetry", "topic is not sst/v1/hubs/<serial>/<kind>"),
        ("sst/v1/hubs/telemetry", "topic is not sst/v1/hubs/<serial>/<kind>"),
        ("sst/v1/hubs/hub-1/video", "unknown message kind 'video' in topic"),
        ("sst/v1/hubs/hub 1/telemetry", "hub serial in topic is not 1-64 of [A-Za-z0-9_.:-]"),
    ],
)
def test_bad_topic(topic: str, reason: str) -> None:
    result = parse_topic(topic)
    assert result == Rejection("bad_topic", reason)


def test_valid_payloads_parse_to_contract_models() -> None:
    telemetry = parse_payload(
        "telemetry",
        b'{"v":1,"readings":[{"sensor":"kitchen-motion","ts":1,"value":1}]}',
        max_bytes=LIMIT,
    )
    assert isinstance(telemetry, TelemetryIn)
    assert telemetry.readings[0].sensor == "kitchen-motion"
    event = parse_payload("events", b'{"sensor":"fall-1","ts":5,"value":1}', max_bytes=LIMIT)
    assert isinstance(event, EventIn)
    status = parse_payload("status", b'{"online":false,"firmware":"2.1"}', max_bytes=LIMIT)
    assert isinstance(status, StatusIn)
    assert status.online is False


def test_malformed_json() -> None:
    result = reject("telemetry", b'{"readings": [')
    assert result.code == "malformed_json"
    assert result.reason.startswith("malformed JSON: ")


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_value(literal: bytes) -> None:
    payload = b'{"readings":[{"sensor":"s","ts":1,"value":' + literal + b"}]}"
    assert reject("telemetry", payload) == Rejection(
        "schema", "schema: readings.0.value: value must be a finite number"
    )


def test_schema_errors_name_the_field() -> None:
    assert reject("telemetry", b'{"readings":[]}').reason.startswith("schema: readings: ")
    assert reject("events", b'{"sensor":"s","ts":-1,"value":1}').reason.startswith("schema: ts: ")
    assert reject("status", b'{"online":true,"extra":1}').reason == (
        "schema: extra: Extra inputs are not permitted"
    )
    assert reject("telemetry", b'{"v":2,"readings":[{"sensor":"s","ts":1,"value":1}]}').reason == (
        "schema: v: Input should be less than or equal to 1"
    )
    many = reject("events", b'{"sensor":"","ts":"x","value":"y"}')
    assert many.reason.startswith("schema: sensor: ")
    assert many.reason.endswith("(and 2 more errors)")


def test_oversized_payload() -> None:
    payload = orjson.dumps({"readings": [{"sensor": "s", "ts": 1, "value": 1.0}] * 10})
    result = parse_payload("telemetry", payload, max_bytes=100)
    assert result == Rejection(
        "too_large", f"payload of {len(payload)} bytes exceeds the limit of 100 bytes"
    )


def test_time_window() -> None:
    ok = check_time(NOW_MS + 299_000, now_ms=NOW_MS, max_future_skew_s=300, max_age_days=365)
    assert ok is None
    future = check_time(NOW_MS + 301_000, now_ms=NOW_MS, max_future_skew_s=300, max_age_days=365)
    assert future == Rejection(
        "future", "timestamp 2026-01-01T00:05:01.000Z is more than 300 s in the future"
    )
    old = check_time(
        NOW_MS - 366 * 86_400_000, now_ms=NOW_MS, max_future_skew_s=300, max_age_days=365
    )
    assert old == Rejection(
        "too_old", "timestamp 2024-12-31T00:00:00.000Z is more than 365 days old"
    )
    absurd = check_time(10**20, now_ms=NOW_MS, max_future_skew_s=300, max_age_days=365)
    assert absurd is not None
    assert absurd.reason == "timestamp 100000000000000000000 ms is more than 300 s in the future"


def test_unknown_device_reasons() -> None:
    assert unknown_hub("hub-x") == Rejection("unknown_hub", "unknown hub 'hub-x'")
    assert unknown_sensor("x", "hub-y") == Rejection(
        "unknown_sensor", "unknown sensor 'x' on hub 'hub-y'"
    )


def test_excerpt_is_bounded_text() -> None:
    assert len(excerpt(b"a" * 10_000)) == EXCERPT_CHARS
    assert excerpt(b"\xff{") == "\ufffd{"
