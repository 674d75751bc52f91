"""Topic and payload checks: each failure becomes a `Rejection` with a short, clear reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeAlias

from pydantic import ValidationError

from sst_core.const import EVENTS, HUB_TOPIC_KINDS, HUB_TOPIC_PREFIX, STATUS, TELEMETRY
from sst_core.messages import EventIn, StatusIn, TelemetryIn

HubMessage: TypeAlias = TelemetryIn | EventIn | StatusIn

EXCERPT_CHARS = 500
_PREFIX_PARTS = HUB_TOPIC_PREFIX.split("/")
_SERIAL = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_MODELS: dict[str, type[TelemetryIn] | type[EventIn] | type[StatusIn]] = {
    TELEMETRY: TelemetryIn,
    EVENTS: EventIn,
    STATUS: StatusIn,
}


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message (or part of one) was refused; `code` is the metric's name."""

    code: str
    reason: str


def parse_topic(topic: str) -> tuple[str, str] | Rejection:
    """`sst/v1/hubs/{serial}/{kind}` as (hub serial, kind)."""
    parts = topic.split("/")
    if len(parts) != len(_PREFIX_PARTS) + 2 or parts[: len(_PREFIX_PARTS)] != _PREFIX_PARTS:
        return Rejection("bad_topic", f"topic is not {HUB_TOPIC_PREFIX}/<serial>/<kind>")
    serial, kind = parts[-2], parts[-1]
    if not _SERIAL.match(serial):
        return Rejection("bad_topic", "hub serial in topic is not 1-64 of [A-Za-z0-9_.:-]")
    if kind not in HUB_TOPIC_KINDS:
        return Rejection("bad_topic", f"unknown message kind {kind!r} in topic")
    return serial, kind


def parse_payload(kind: str, payload: bytes, *, max_bytes: int) -> HubMessage | Rejection:
    """Validate a payload against the contract model of its topic kind."""
    if len(payload) > max_bytes:
        return Rejection(
            "too_large", f"payload of {len(payload)} bytes exceeds the limit of {max_bytes} bytes"
        )
    try:
        return _MODELS[kind].model_validate_json(payload)
    except ValidationError as exc:
        return _explain(exc)


def _explain(exc: ValidationError) -> Rejection:
    first = exc.errors(include_url=False, include_input=False)[0]
    if first["type"] == "json_invalid":
        detail = first.get("ctx", {}).get("error", first["msg"])
        return Rejection("malformed_json", f"malformed JSON: {detail}")
    where = ".".join(str(part) for part in first["loc"]) or "message"
    message = str(first["msg"]).removeprefix("Value error, ")
    more = exc.error_count() - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    return Rejection("schema", f"schema: {where}: {message}{suffix}")


def check_time(
    ts_ms: int, *, now_ms: int, max_future_skew_s: int, max_age_days: int
) -> Rejection | None:
    """Refuse a hub timestamp too far in the future (a bad clock) or too old to matter."""
    if ts_ms > now_ms + max_future_skew_s * 1000:
        return Rejection(
            "future",
            f"timestamp {_iso(ts_ms)} is more than {max_future_skew_s} s in the future",
        )
    if ts_ms < now_ms - max_age_days * 86_400_000:
        return Rejection("too_old", f"timestamp {_iso(ts_ms)} is more than {max_age_days} days old")
    return None


def unknown_hub(serial: str) -> Rejection:
    """A message from a hub SST does not know."""
    return Rejection("unknown_hub", f"unknown hub {serial!r}")


def unknown_sensor(key: str, serial: str) -> Rejection:
    """A reading from a sensor not registered on its hub."""
    return Rejection("unknown_sensor", f"unknown sensor {key!r} on hub {serial!r}")


def excerpt(payload: bytes) -> str:
    """The start of a payload, as text, for a dead-letter row."""
    text = payload[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    return text[:EXCERPT_CHARS]


def _iso(ts_ms: int) -> str:
    try:
        moment = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        digits = str(ts_ms)
        if len(digits) > 24:  # keep the reason short enough to read whole
            return f"{digits[:12]}…({len(digits)} digits) ms"
        return f"{digits} ms"
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
