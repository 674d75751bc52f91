"""The hot path's validator accepts and refuses exactly what the models plus screening do.

Payloads are generated (seeded, so a failure reproduces): canonical ones as the reference
hub builds them, and mutations of every field towards what a broken or hostile hub might
send: the strict number types ("12", true, 1.5e12 for ts, value, v and online), and the
hardening classes of sst_hub_gateway.screening (binary, too deep, huge numbers, NaN,
duplicate keys, also spelled with escapes). For each, the gateway's parse (fast validator
first, models as fallback) must give the verdict of the reference, the contract parser
followed by the screen: the same readings, or a refusal of the same class.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from typing import Any

import pytest
from pydantic import ValidationError

from sst_core.const import EVENTS, STATUS, TELEMETRY
from sst_core.messages import EventIn, StatusIn, TelemetryIn
from sst_devices.hub_agent import event_payload, telemetry_payload
from sst_hub_gateway.batch import parse_message
from sst_hub_gateway.fastparse import FastValidator
from sst_hub_gateway.mqtt import InboundMessage
from sst_hub_gateway.parsing import Rejection, parse_payload
from sst_hub_gateway.screening import screen
from tests.hub_gateway.conftest import gateway_settings

PAYLOADS = 10_000
NOW_MS = 1_767_225_600_000
SETTINGS = gateway_settings()

_KEYS = ["kitchen-motion", "s00", "a", "x" * 64, "x" * 65, "", "bad key", "sé", "k\n", "k/1"]
_TS: list[Any] = [NOW_MS, 0, -1, 2**63, 2**64, 1.0e12, 1767225600000.0, "1767225600000", None]
_TS += [True, False, [], {}, 1.5e12, "12", 10**400]
_VALUES: list[Any] = [1, 0, -3, 21.5, -0.0, 1e308, 2**63, 2**64 + 1, "1.5", None, True, [1]]
_VALUES += [{}, 1e-320, float("nan"), float("inf"), 10**400, "12", False, 1.5e12]
_RAW_NUMBERS = [b"1e400", b"-1e400", b"NaN", b"Infinity", b"01", b"1.", b".5", b"1e5", b"-0"]
_RAW_NUMBERS += [b"-Infinity", b"1" * 400, b"1e-400", b"9" * 5000]
_ONLINE: list[Any] = [True, False, "true", 1, 0, None, 1.0, [], "12"]


def _reading(rng: random.Random, odd: float) -> dict[str, Any]:
    """A reading; each field is unusual with probability `odd`."""
    reading: dict[str, Any] = {
        "sensor": rng.choice(_KEYS) if rng.random() < odd else f"s{rng.randrange(100):02d}",
        "ts": rng.choice(_TS) if rng.random() < odd else NOW_MS + rng.randrange(10**6),
        "value": rng.choice(_VALUES) if rng.random() < odd else rng.uniform(-100, 100),
    }
    if rng.random() < odd:
        if rng.random() < 0.5:
            del reading[rng.choice(list(reading))]
        else:
            reading[rng.choice(["extra", "v", "Sensor"])] = 1
    return reading


def _body(rng: random.Random, kind: str) -> Any:
    odd = rng.choice([0.0, 0.0, 0.002, 0.05, 0.3])
    if kind == STATUS:
        status: dict[str, Any] = {"online": rng.choice(_ONLINE) if rng.random() < odd else True}
        if rng.random() < 0.5:
            status["ts"] = rng.choice(_TS) if rng.random() < odd else NOW_MS
        if rng.random() < 0.3:
            status["firmware"] = rng.choice(["1.2.3", "x" * 65, "a\u0000b", 5])
        if rng.random() < 0.3:
            status["batteries"] = {"s01": rng.choice([50, 101, -1, "50", True, 99.5])}
        if rng.random() < 0.5:
            status["v"] = 1 if rng.random() < 0.9 else rng.choice([0, 2, True, "1", 1.0])
        return status
    if kind == EVENTS:
        body: dict[str, Any] = _reading(rng, odd)
    else:
        size = rng.choice([0, 1, 2, 999, 1000, 1001]) if rng.random() < 0.03 else 50
        readings: Any = [_reading(rng, odd) for _ in range(size)]
        if rng.random() < 0.02:
            readings = rng.choice([None, {}, "x", [[]], [None]])
        body = {"readings": readings}
    roll = rng.random()
    if roll < 0.5:
        body["v"] = 1 if rng.random() < 0.9 else rng.choice([0, 2, True, "1", 1.0, None])
    elif roll < 0.53:
        body["extra"] = "x"
    if rng.random() < 0.01:
        return rng.choice([[body], "text", 5, None])
    return body


def _encode(rng: random.Random, body: Any) -> bytes:
    # The standard library writes what orjson will not: integers past 64 bits, NaN.
    payload = json.dumps(body, separators=(",", ":")).encode()
    roll = rng.random()
    if roll < 0.02:  # a number JSON cannot or should not carry, spliced in raw
        raw = b'"value":' + rng.choice(_RAW_NUMBERS)
        return re.sub(rb'"value":-?[0-9][0-9.eE+-]*', lambda _: raw, payload, count=1)
    if roll < 0.04 and len(payload) > 2:
        cut = rng.randrange(1, len(payload))
        return payload[:cut]
    if roll < 0.05:  # a duplicated key: orjson keeps the last, the screen refuses it
        return payload.replace(b'"ts":', b'"ts":5,"ts":', 1)
    if roll < 0.055:  # the same key twice, once spelled with an escape
        return payload.replace(b'"ts":', b'"t\\u0073":5,"ts":', 1)
    if roll < 0.06:  # an escape but no duplicate
        return payload.replace(b'"ts":', b'"t\\u0073":', 1)
    if roll < 0.065:  # a repeated "v" or "readings" at the top
        return b'{"v":1,' + payload[1:] if payload.startswith(b"{") else payload
    if roll < 0.07:
        return payload.replace(b",", b" ,\n ")
    if roll < 0.08:
        return b"\xff" + payload
    if roll < 0.085:  # an integer of thousands of digits where the timestamp belongs
        return re.sub(rb'"ts":[0-9]+', lambda _: b'"ts":' + b"9" * 5000, payload, count=1)
    if roll < 0.09:  # nesting past the screen's limit, where a value belongs
        depth = rng.choice([3, 8, 9, 40])
        raw = b'"value":' + b"[" * depth + b"1" + b"]" * depth
        return re.sub(rb'"value":-?[0-9][0-9.eE+-]*', lambda _: raw, payload, count=1)
    return payload


Verdict = str | list[tuple[str, int, float]] | StatusIn  # a refusal class, or what passed


def _model(kind: str, payload: bytes) -> list[tuple[str, int, float]] | None:
    """The bare model's readings, None when it refuses."""
    try:
        if kind == TELEMETRY:
            body = TelemetryIn.model_validate_json(payload)
            return [(r.sensor, r.ts, r.value) for r in body.readings]
        event = EventIn.model_validate_json(payload)
        return [(event.sensor, event.ts, event.value)]
    except ValidationError:
        return None


def _reference(kind: str, payload: bytes) -> Verdict:
    """The verdict of the contract parser followed by the screening."""
    body = screen(payload, parse_payload(kind, payload, max_bytes=SETTINGS.max_payload_bytes))
    if isinstance(body, Rejection):
        return body.code
    if isinstance(body, StatusIn):
        return body
    readings = body.readings if isinstance(body, TelemetryIn) else [body]
    return [(r.sensor, r.ts, r.value) for r in readings]


def _gateway(kind: str, payload: bytes) -> Verdict:
    """The verdict of the gateway's own parse (fast validator first)."""
    inbound = InboundMessage(f"sst/v1/hubs/hub-1/{kind}", payload, 1, 1, 1, 0.0)
    parsed = parse_message(inbound, SETTINGS, FastValidator())
    if parsed.rejection is not None:
        return parsed.rejection.code
    if parsed.status is not None:
        return parsed.status
    assert parsed.readings is not None
    for r in parsed.readings:  # exact JSON types, as the strict models have them
        assert type(r["ts"]) is int and type(r["value"]) in (int, float), r
    return [(r["sensor"], r["ts"], float(r["value"])) for r in parsed.readings]


def test_generated_payloads_are_judged_as_the_models_judge_them() -> None:
    rng = random.Random(20261123)
    fast = FastValidator()
    verdicts = {"fast": 0, "fallback_accepted": 0, "refused": 0}
    refusals: Counter[str] = Counter()
    for _ in range(PAYLOADS):
        roll = rng.random()
        kind = TELEMETRY if roll < 0.6 else EVENTS if roll < 0.9 else STATUS
        payload = _encode(rng, _body(rng, kind))
        expected = _reference(kind, payload)
        got = _gateway(kind, payload)
        assert got == expected, payload[:300]
        quick = fast.readings(kind, payload)
        if quick is not None:
            # Whatever the fast path accepts, the reference accepts with the same values.
            assert isinstance(expected, list), (payload[:300], expected)
            assert [(r["sensor"], r["ts"], float(r["value"])) for r in quick] == expected
            verdicts["fast"] += 1
        elif isinstance(expected, str):
            verdicts["refused"] += 1
            refusals[expected] += 1
        else:
            verdicts["fallback_accepted"] += 1
    # The generator reaches every branch and every hardening class, and most valid
    # payloads take the fast path.
    assert min(verdicts.values()) >= 200, verdicts
    assert verdicts["fast"] > 5 * verdicts["fallback_accepted"], verdicts
    classes = ("schema", "malformed_json", "not_utf8", "too_deep", "huge_number", "non_finite")
    for code in (*classes, "duplicate_key"):
        assert refusals[code] >= 20, refusals


def test_the_reference_hub_always_takes_the_fast_path() -> None:
    fast = FastValidator()
    readings = [(f"s{i:02d}", NOW_MS + i, i / 7) for i in range(50)] + [("door", NOW_MS, 1)]
    assert fast.readings(TELEMETRY, telemetry_payload(readings)) is not None
    assert fast.readings(EVENTS, event_payload("fall-1", NOW_MS)) is not None


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        (TELEMETRY, b'{"v":1,"readings":[{"sensor":"a","ts":1,"value":1e400}]}'),
        (TELEMETRY, b'{"v":1,"readings":[{"sensor":"a","ts":1,"value":NaN}]}'),
        (TELEMETRY, b'{"v":1,"readings":[{"sensor":"a","ts":1,"value":true}]}'),
        (TELEMETRY, b'{"v":1,"readings":[{"sensor":"a\\n","ts":1,"value":1}]}'),
        (TELEMETRY, b'{"v":1,"readings":[{"sensor":"a","ts":-1,"value":1}]}'),
        (EVENTS, b'{"v":2,"sensor":"a","ts":1,"value":1}'),
        # strict types: never "12", true or 1.5e12 where an integer or a number belongs
        (EVENTS, b'{"sensor":"a","ts":"12","value":1}'),
        (EVENTS, b'{"sensor":"a","ts":true,"value":1}'),
        (EVENTS, b'{"sensor":"a","ts":1.5e12,"value":1}'),
        (EVENTS, b'{"sensor":"a","ts":1,"value":"12"}'),
        (EVENTS, b'{"sensor":"a","ts":1,"value":true}'),
        (EVENTS, b'{"v":"1","sensor":"a","ts":1,"value":1}'),
        (EVENTS, b'{"v":true,"sensor":"a","ts":1,"value":1}'),
        (TELEMETRY, b'{"v":1.0,"readings":[{"sensor":"a","ts":1,"value":1}]}'),
        # hardening classes
        (TELEMETRY, b'{"v":1,"readings":[{"sensor":"a","ts":1,"ts":2,"value":1}]}'),
        (TELEMETRY, b'{"v":1,"v":1,"readings":[{"sensor":"a","ts":1,"value":1}]}'),
        (EVENTS, b'{"sensor":"a","sensor":"b","ts":1,"value":1}'),
        (EVENTS, b'{"sensor":"a","ts":1,"t\\u0073":2,"value":1}'),
        (EVENTS, b'\xff{"sensor":"a","ts":1,"value":1}'),
        (EVENTS, b'{"sensor":"a","ts":1,"value":' + b"[" * 20 + b"]" * 20 + b"}"),
        (EVENTS, b'{"sensor":"a","ts":1' + b"0" * 5000 + b',"value":1}'),
    ],
)
def test_edge_cases_are_left_to_the_models(kind: str, payload: bytes) -> None:
    assert FastValidator().readings(kind, payload) is None
    assert _gateway(kind, payload) == _reference(kind, payload)
    assert isinstance(_reference(kind, payload), str), "each of these is refused"
    if b"\xff" not in payload and b"[[" not in payload and not _dup_key(payload):
        assert _model(kind, payload) is None  # the model itself refuses these


@pytest.mark.parametrize(
    "payload",
    [
        b'{"online":"true"}',
        b'{"online":1}',
        b'{"online":true,"ts":"12"}',
        b'{"online":true,"ts":1.5e12}',
        b'{"online":true,"v":true}',
        b'{"online":true,"online":false}',
    ],
)
def test_strict_status_types_are_refused(payload: bytes) -> None:
    assert isinstance(_reference(STATUS, payload), str)
    assert _gateway(STATUS, payload) == _reference(STATUS, payload)


def _dup_key(payload: bytes) -> bool:
    return _reference(EVENTS, payload) == "duplicate_key" or (
        _reference(TELEMETRY, payload) == "duplicate_key"
    )
