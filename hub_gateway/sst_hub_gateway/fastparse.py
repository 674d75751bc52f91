"""The hot path's validator: orjson plus hand-written checks, equal to the contract models.

Validating every reading with pydantic costs more than everything else the gateway does
per reading. This module accepts the common, canonical shape of a telemetry or event
payload (exact JSON types, exact keys) and returns its readings as the dicts orjson made,
without building a model per reading. Anything else, valid or not, gets `None`: the
caller then asks the pydantic models in sst_core.messages, which stay the contract and
give the rejection its reason. So this can only be faster, never more or less lenient;
tests/hub_gateway/test_fastparse.py checks it against the models plus the screening
(sst_hub_gateway.screening) on generated payloads. orjson keeps the last of repeated
keys, so a payload is only accepted here when its quotes prove no key is repeated.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from sst_core.const import EVENTS, TELEMETRY
from sst_core.messages import CONTRACT_VERSION, MAX_READINGS_PER_MESSAGE

Reading = dict[str, Any]  # {"sensor": str, "ts": int, "value": int | float}, as orjson made it

_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # SensorKey of sst_core.messages
_READING_KEYS = frozenset(("sensor", "ts", "value"))
_EVENT_KEYS = frozenset(("sensor", "ts", "value", "v"))
_TELEMETRY_KEYS = frozenset(("readings", "v"))
_MAX_KNOWN_KEYS = 100_000


class FastValidator:
    """Validates telemetry and event payloads; remembers sensor keys it already checked."""

    def __init__(self) -> None:
        self._good_keys: set[str] = set()

    def readings(self, kind: str, payload: bytes) -> list[Reading] | None:
        """The payload's readings when it is plainly valid; None means "ask the models"."""
        try:
            body = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return None
        if type(body) is not dict:
            return None
        if kind == TELEMETRY:
            if not body.keys() <= _TELEMETRY_KEYS or not self._version_ok(body):
                return None
            readings = body.get("readings")
            if type(readings) is not list or not 0 < len(readings) <= MAX_READINGS_PER_MESSAGE:
                return None
            # Each key two quotes, a reading 3 keys and a sensor string: 8.
            if not _quotes_fit(payload, 2 * len(body) + 8 * len(readings)):
                return None
            return readings if self._all_valid(readings) else None
        if kind == EVENTS:
            if not (_READING_KEYS <= body.keys() <= _EVENT_KEYS) or not self._version_ok(body):
                return None
            if not _quotes_fit(payload, 2 * len(body) + 2):
                return None
            body.pop("v", None)
            return [body] if self._all_valid([body]) else None
        return None

    @staticmethod
    def _version_ok(body: dict[str, Any]) -> bool:
        v = body.get("v", CONTRACT_VERSION)
        return type(v) is int and v == CONTRACT_VERSION

    def _all_valid(self, readings: list[Any]) -> bool:
        good_keys = self._good_keys
        for reading in readings:
            if type(reading) is not dict or len(reading) != 3:
                return False
            # Three keys, and these three are there: exactly the model's fields.
            ts = reading.get("ts")
            if type(ts) is not int or ts < 0:
                return False
            # orjson refuses NaN and Infinity and numbers that overflow a double, so a
            # float here is finite: the model's finiteness check holds without a call.
            kind = type(reading.get("value"))
            if kind is not float and kind is not int:  # bool is not int here, on purpose
                return False
            key = reading.get("sensor")
            if type(key) is not str:
                return False
            if key not in good_keys:
                if _KEY.fullmatch(key) is None:
                    return False
                if len(good_keys) >= _MAX_KNOWN_KEYS:
                    good_keys.clear()
                good_keys.add(key)
        return True


def _quotes_fit(payload: bytes, quotes: int) -> bool:
    """True when the payload has just the quotes its keys and strings need: no repeated key.

    Without a backslash every string is written literally; a repeated key (which orjson
    silently collapses) adds quotes the parsed body does not account for. The same proof
    as sst_hub_gateway.screening.duplicate_key, on the dicts orjson made.
    """
    return b"\\" not in payload and payload.count(b'"') == quotes
