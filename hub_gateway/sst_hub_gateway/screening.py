"""Checks the contract models cannot make: binary, too deep, huge numbers, duplicate keys.

`screen` refines what `parse_payload` returned. On a refusal it names the class of the
problem (so the metric and the dead letter say "binary" rather than "malformed JSON"); on
success it refuses a JSON object with a repeated key, whose meaning depends on the parser.
Only the duplicate-key check runs on accepted messages, and there it is a few `bytes.count`
calls; the rest runs on refused payloads only.
"""

from __future__ import annotations

import json
import math
from itertools import accumulate

from sst_core.messages import EventIn, StatusIn, TelemetryIn
from sst_hub_gateway.parsing import HubMessage, Rejection

MAX_JSON_DEPTH = 8  # the contract needs 3 (object, readings list, reading)
TEXT_CHARS = 300  # reasons and topics in a dead-letter row
# Naming a refusal must stay cheaper than the flood it names: only this much is scanned
# for nesting (a deeper payload is refused all the same, as malformed or schema).
DEPTH_SCAN_BYTES = 32 * 1024

_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[{]}")
_STEPS = tuple(1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256))


def screen(payload: bytes, result: HubMessage | Rejection) -> HubMessage | Rejection:
    """Refine a parse result: name binary, deep and huge-number payloads; refuse duplicate keys."""
    if isinstance(result, Rejection):
        if result.code in ("malformed_json", "schema"):
            return _classify(payload, result)
        return result
    return duplicate_key(payload, result) or result


def duplicate_key(payload: bytes, body: HubMessage) -> Rejection | None:
    """A JSON object of the payload that names one key twice (the value is ambiguous)."""
    if b"\\" not in payload and _counts_fit(payload, body):
        return None
    return _exact_duplicate(payload)


def json_depth(payload: bytes) -> int:
    """How deeply arrays and objects nest in a (possibly broken) JSON text."""
    # Linear and in C all the way: drop escapes, keep what lies outside strings, keep brackets.
    unescaped = payload.replace(b"\\\\", b"").replace(b'\\"', b"")
    bare = b"".join(unescaped.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEPS.__getitem__, bare), initial=0))


def clean_text(text: str, limit: int = TEXT_CHARS) -> str:
    """Text PostgreSQL can store (no NUL, no lone surrogate), cut to `limit` characters."""
    text = text[: limit + 1].replace("\x00", "\ufffd")
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _classify(payload: bytes, rejection: Rejection) -> Rejection:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(
            "not_utf8", f"payload is not UTF-8 text (binary data?): invalid byte at {exc.start}"
        )
    head = payload[:DEPTH_SCAN_BYTES]
    opened = head.count(b"[") + head.count(b"{")
    depth = json_depth(head) if opened > MAX_JSON_DEPTH else 0
    if depth > MAX_JSON_DEPTH:
        return Rejection(
            "too_deep",
            f"JSON nested {depth} levels deep; the contract needs 3 (limit {MAX_JSON_DEPTH})",
        )
    # The parser's own words are the only sign of these two; both stay refused either way.
    if "number out of range" in rejection.reason:
        return Rejection("huge_number", f"number too large: {rejection.reason}")
    if rejection.code == "schema":
        if "finite number" in rejection.reason:
            return Rejection("non_finite", rejection.reason)
        if _has_non_finite(payload):  # e.g. NaN where an integer belongs
            return Rejection(
                "non_finite", f"{rejection.reason} (NaN or Infinity: not a finite number)"
            )
    return rejection


def _has_non_finite(payload: bytes) -> bool:
    found = False

    def constant(name: str) -> float:
        nonlocal found
        found = True
        return 0.0

    def number(text: str) -> float:
        nonlocal found
        value = float(text)
        found = found or not math.isfinite(value)
        return value

    try:
        json.loads(payload, parse_constant=constant, parse_float=number)
    except (ValueError, RecursionError):
        return False
    return found


def _counts_fit(payload: bytes, body: HubMessage) -> bool:
    """True when the payload has exactly the quotes its body needs: no key can be repeated.

    Without a backslash every string is written literally, and a validated body holds no
    string but its keys and values: each key given (`model_fields_set`) is two quotes, a
    reading's sensor two more, a firmware two more. A repeated key adds quotes, so a count
    that fits proves there is none; one that does not is left to the exact check. One
    `count` of a single byte is memchr-fast, unlike counting each key name.
    """
    quotes = 2 * len(body.model_fields_set)
    # type(), not isinstance(): pydantic's metaclass makes isinstance cost microseconds.
    kind = type(body)
    if kind is TelemetryIn:
        quotes += 8 * len(body.readings)  # type: ignore[union-attr]
    elif kind is EventIn:
        quotes += 2
    elif kind is StatusIn:
        quotes += 2 if body.firmware is not None else 0  # type: ignore[union-attr]
    else:
        return False
    return payload.count(b'"') == quotes


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _refuse_repeats(pairs: list[tuple[str, object]]) -> dict[str, object]:
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:
            raise _Duplicate(key)
        seen[key] = value
    return seen


def _exact_duplicate(payload: bytes) -> Rejection | None:
    try:
        json.loads(payload, object_pairs_hook=_refuse_repeats)
    except _Duplicate as dup:
        return Rejection(
            "duplicate_key", f"duplicate key {clean_text(dup.key, 64)!r} in a JSON object"
        )
    except (ValueError, RecursionError):  # the contract parser accepted it: no reason to doubt
        return None
    return None
