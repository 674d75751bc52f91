"""Bad-input classes beyond the contract models each get their own code and reason."""

from __future__ import annotations

import time

import orjson
import pytest

from sst_hub_gateway.batch import parse_message
from sst_hub_gateway.mqtt import InboundMessage
from sst_hub_gateway.parsing import Rejection
from sst_hub_gateway.screening import MAX_JSON_DEPTH, TEXT_CHARS, clean_text, json_depth
from sst_hub_gateway.settings import GatewaySettings

SETTINGS = GatewaySettings(max_payload_bytes=64 * 1024)
READING = b'{"sensor":"kitchen-motion","ts":1767225600000,"value":1}'


def parse(payload: bytes, kind: str = "telemetry") -> Rejection | None:
    inbound = InboundMessage(f"sst/v1/hubs/hub-1/{kind}", payload, 1, 1, 1, time.time())
    return parse_message(inbound, SETTINGS).rejection


def telemetry(*readings: bytes) -> bytes:
    return b'{"v":1,"readings":[' + b",".join(readings) + b"]}"


def test_well_formed_messages_pass() -> None:
    assert parse(telemetry(READING, READING.replace(b"1767", b"1768"))) is None
    assert parse(READING, "events") is None
    assert parse(b'{"v":1,"online":true,"firmware":"2.0.1 (build 7)","ts":5}', "status") is None
    # A sensor named like a key makes the quick count differ; the exact check still passes it.
    assert parse(telemetry(b'{"sensor":"ts","ts":1,"value":1}')) is None
    assert parse(b'{"online":true,"firmware":"online"}', "status") is None


def test_an_empty_status_deletes_a_retained_message_and_is_not_refused() -> None:
    """MQTT clears a retained status with a zero-length one; only there is empty fine."""
    inbound = InboundMessage("sst/v1/hubs/hub-1/status", b"", 1, 1, 1, time.time())
    parsed = parse_message(inbound, SETTINGS)
    assert parsed.rejection is None
    assert parsed.status is None and parsed.readings == []
    for kind in ("telemetry", "events"):
        refused = parse(b"", kind)
        assert refused is not None and refused.code == "malformed_json"


@pytest.mark.parametrize(
    "payload",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b'{"readings":[{"sensor":"a\xff","ts":1,"value":1}]}',
        b"\xff" * 100,
    ],
)
def test_binary_payload(payload: bytes) -> None:
    rejection = parse(payload)
    assert rejection is not None
    assert rejection.code == "not_utf8"
    assert rejection.reason.startswith("payload is not UTF-8 text (binary data?): invalid byte at ")


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 10_000,
        b"[" * 100 + b"]" * 100,
        b'{"a":' * 500 + b"1" + b"}" * 500,
        telemetry(READING)[:-1] + b',"x":' + b"[" * 50 + b"]" * 50 + b"}",
    ],
)
def test_deeply_nested_json(payload: bytes) -> None:
    rejection = parse(payload)
    assert rejection is not None
    assert rejection.code == "too_deep"
    assert "levels deep; the contract needs 3" in rejection.reason


def test_nesting_is_measured_outside_strings() -> None:
    assert json_depth(b'[[1],{"a":"[[[[\\"[["}]') == 2
    assert json_depth(b'"' + b'\\"' * 50_000) == 0
    assert json_depth(b"]]]") == 0
    # Brackets inside a sensor key are a schema problem, not nesting.
    rejection = parse(telemetry(b'{"sensor":"' + b"[" * 40 + b'","ts":1,"value":1}'))
    assert rejection is not None and rejection.code == "schema"
    assert MAX_JSON_DEPTH >= 3


@pytest.mark.parametrize(
    ("position", "payload"),
    [
        ("value", telemetry(READING.replace(b'"value":1', b'"value":NaN'))),
        ("value", telemetry(READING.replace(b'"value":1', b'"value":-Infinity'))),
        ("value", telemetry(READING.replace(b'"value":1', b'"value":1e999'))),
        ("value", telemetry(READING.replace(b'"value":1', b'"value":' + b"9" * 400))),
        ("ts", telemetry(READING.replace(b'"ts":1767225600000', b'"ts":NaN'))),
        ("ts", telemetry(READING.replace(b'"ts":1767225600000', b'"ts":Infinity'))),
        ("v", b'{"v":NaN,"readings":[' + READING + b"]}"),
        ("value", READING.replace(b'"value":1', b'"value":Infinity')),
        ("ts", b'{"online":true,"ts":-Infinity}'),
        ("v", b'{"v":1e999,"online":true}'),
    ],
)
def test_non_finite_number_anywhere(position: str, payload: bytes) -> None:
    kind = "status" if b"online" in payload else "events" if b"readings" not in payload else ""
    rejection = parse(payload, kind or "telemetry")
    assert rejection is not None
    assert rejection.code == "non_finite", rejection
    assert position in rejection.reason and "finite number" in rejection.reason


def test_huge_number() -> None:
    rejection = parse(telemetry(READING.replace(b'"ts":1767225600000', b'"ts":' + b"9" * 5000)))
    assert rejection is not None
    assert rejection.code == "huge_number"
    assert rejection.reason.startswith("number too large: malformed JSON: number out of range")


@pytest.mark.parametrize(
    ("payload", "kind", "key"),
    [
        (telemetry(b'{"sensor":"a","sensor":"b","ts":1,"value":1}'), "telemetry", "sensor"),
        (telemetry(READING, b'{"sensor":"a","ts":1,"value":1,"value":2}'), "telemetry", "value"),
        (telemetry(READING)[:-1] + b',"readings":[' + READING + b"]}", "telemetry", "readings"),
        (b'{"v":1,"v":1,"readings":[' + READING + b"]}", "telemetry", "v"),
        # Escaped names are the same names: no way around the check.
        (telemetry(b'{"sensor":"a","sens\\u006fr":"b","ts":1,"value":1}'), "telemetry", "sensor"),
        (b'{"sensor":"fall-1","ts":1,"ts":2,"value":1}', "events", "ts"),
        (b'{"online":true,"online":false}', "status", "online"),
    ],
)
def test_duplicate_key(payload: bytes, kind: str, key: str) -> None:
    assert parse(payload, kind) == Rejection(
        "duplicate_key", f"duplicate key {key!r} in a JSON object"
    )


@pytest.mark.parametrize(
    ("payload", "kind", "where"),
    [
        (telemetry(b'{"sensor":"a","ts":"1767225600000","value":1}'), "telemetry", "ts"),
        (telemetry(b'{"sensor":"a","ts":1.5e12,"value":1}'), "telemetry", "ts"),
        (telemetry(b'{"sensor":"a","ts":true,"value":1}'), "telemetry", "ts"),
        (telemetry(b'{"sensor":"a","ts":1,"value":"21.5"}'), "telemetry", "value"),
        (telemetry(b'{"sensor":"a","ts":1,"value":true}'), "telemetry", "value"),
        (b'{"online":"yes"}', "status", "online"),
        (b'{"online":true,"firmware":"1.0\\u0000"}', "status", "firmware"),
        (b'{"v":"1","online":true}', "status", "v"),
        (b"[1, 2]", "telemetry", "message"),
        (b'"just a string"', "events", "message"),
    ],
)
def test_wrong_types_are_refused_not_coerced(payload: bytes, kind: str, where: str) -> None:
    rejection = parse(payload, kind)
    assert rejection is not None
    assert rejection.code == "schema", rejection
    assert where in rejection.reason


def test_oversized_payload_is_refused_before_parsing() -> None:
    payload = telemetry(*[READING] * 2000)
    rejection = parse(payload)
    assert rejection is not None and rejection.code == "too_large"


def test_dead_letter_texts_are_bounded_and_storable() -> None:
    assert clean_text("a\x00b") == "a\ufffdb"
    assert clean_text("\ud800x") == "?x"
    long = clean_text("x" * 10_000)
    assert len(long) == TEXT_CHARS and long.endswith("…")
    # A schema error quoting a 30 kB key stays a short reason in the dead letter.
    key = "k" * 30_000
    rejection = parse(orjson.dumps({"online": True, key: 1}), "status")
    assert rejection is not None and len(rejection.reason) > TEXT_CHARS
    assert len(clean_text(rejection.reason)) == TEXT_CHARS
