"""From received MQTT messages to what one batch writes, streams and dead-letters."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sst_core.const import STATUS
from sst_core.domain import URGENT_SENSOR_KINDS
from sst_core.messages import ReadingIn, StatusIn, StreamRow, TelemetryIn, ms_to_datetime
from sst_hub_gateway.directory import Directory
from sst_hub_gateway.fastparse import FastValidator, Reading
from sst_hub_gateway.mqtt import InboundMessage
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
from sst_hub_gateway.screening import clean_text, screen
from sst_hub_gateway.settings import GatewaySettings
from sst_hub_gateway.writer import BatchWrite

_FAST = FastValidator()


@dataclass(slots=True)
class ParsedMessage:
    """A message after the checks that need no database: readings, a status, or a rejection."""

    inbound: InboundMessage
    hub_serial: str | None
    readings: list[Reading] | None = None  # telemetry and events, validated
    status: StatusIn | None = None
    rejection: Rejection | None = None
    kind: str | None = None  # the topic kind (telemetry, events, status) once accepted

    @property
    def reading_count(self) -> int:
        """How many readings this message carries (what batch sizes count)."""
        return len(self.readings) if self.readings else 1


@dataclass
class BatchPlan:
    """What a batch writes to PostgreSQL and adds to the readings stream."""

    write: BatchWrite = field(default_factory=BatchWrite)
    # One entry per accepted message: (hub serial, rows of sst_core.messages.StreamRow).
    stream_entries: list[tuple[str, list[StreamRow]]] = field(default_factory=list)
    # The same for the rows of urgent sensors only (sst_core.const.URGENT_STREAM).
    urgent_entries: list[tuple[str, list[StreamRow]]] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    accepted: int = 0


def parse_message(
    inbound: InboundMessage, settings: GatewaySettings, fast: FastValidator = _FAST
) -> ParsedMessage:
    """Check topic and payload of one message (the fast validator first, then the models)."""
    topic = parse_topic(inbound.topic)
    if isinstance(topic, Rejection):
        return ParsedMessage(inbound, None, rejection=topic)
    serial, kind = topic
    payload = inbound.payload
    if kind == STATUS and not payload:
        # A zero-length status is how MQTT deletes a retained message (a hub being
        # decommissioned, an operator's clean-up): nothing to store and nothing wrong.
        return ParsedMessage(inbound, serial, readings=[], kind=kind)
    if len(payload) <= settings.max_payload_bytes:
        # The fast validator also proves there is no duplicate key, so what it accepts
        # needs no screening; anything else goes through the models and the screen.
        readings = fast.readings(kind, payload)
        if readings is not None:
            return ParsedMessage(inbound, serial, readings=readings, kind=kind)
    body = screen(payload, parse_payload(kind, payload, max_bytes=settings.max_payload_bytes))
    if isinstance(body, Rejection):
        return ParsedMessage(inbound, serial, rejection=body)
    if isinstance(body, StatusIn):
        return ParsedMessage(inbound, serial, status=body, kind=kind)
    models: list[ReadingIn] = body.readings if isinstance(body, TelemetryIn) else [body]
    return ParsedMessage(
        inbound,
        serial,
        readings=[{"sensor": m.sensor, "ts": m.ts, "value": m.value} for m in models],
        kind=kind,
    )


class BatchPlanner:
    """Resolves sensors and residents and applies the time checks to parsed messages."""

    def __init__(self, settings: GatewaySettings, directory: Directory) -> None:
        self._settings = settings
        self._directory = directory
        self._seen_written: dict[str, float] = {}  # hub serial -> when last_seen_at was bumped

    async def plan(self, messages: list[ParsedMessage]) -> BatchPlan:
        """Build the batch's rows, stream entries and dead letters (reads the directory)."""
        # Hubs only: collecting every reading's sensor key up front would cost a pass over
        # all readings. A sensor missing from a cached hub is noticed while planning, and
        # its message planned again after a look-up when the directory allows one. A
        # heartbeat's battery keys are few, so they are asked for up front.
        hubs: dict[str, set[str]] = {
            p.hub_serial: set() for p in messages if p.hub_serial and p.rejection is None
        }
        for parsed in messages:
            status = parsed.status
            if status is not None and status.batteries and parsed.hub_serial is not None:
                hubs[parsed.hub_serial].update(status.batteries)
        await self._directory.prepare(hubs)
        plan = BatchPlan()
        now = time.time()
        missing: dict[str, set[str]] = {}
        again: list[ParsedMessage] = []
        for parsed in messages:
            key = self._plan_one(parsed, plan, now, may_defer=True)
            if key is not None:
                assert parsed.hub_serial is not None
                missing.setdefault(parsed.hub_serial, set()).add(key)
                again.append(parsed)
        if again:
            await self._directory.prepare(missing)
            for parsed in again:
                self._plan_one(parsed, plan, now, may_defer=False)
        return plan

    def mark_seen(self, write: BatchWrite) -> None:
        """Remember that these hubs' last_seen_at was committed."""
        now = time.monotonic()
        for serial in write.hubs_seen:
            self._seen_written[serial] = now

    def _plan_one(
        self, parsed: ParsedMessage, plan: BatchPlan, now: float, *, may_defer: bool
    ) -> str | None:
        """Plan one message; or, when `may_defer`, return a sensor key worth looking up."""
        inbound, serial = parsed.inbound, parsed.hub_serial
        if parsed.rejection is not None or serial is None:
            _refuse(plan, parsed, parsed.rejection or Rejection("bad_topic", "no hub serial"))
            return None
        hub = self._directory.hub(serial)
        if hub is None:
            _refuse(plan, parsed, unknown_hub(serial))
            return None
        if parsed.status is not None:
            received = datetime.fromtimestamp(inbound.received_at, tz=UTC)
            status, seen = parsed.status, received
            if status.ts is not None:
                seen = min(received, _safe_datetime(status.ts, received))
            plan.write.statuses.append((serial, status.online, status.firmware, seen))
            if status.batteries:
                self._plan_batteries(parsed, plan, status.batteries)
            return None
        readings = parsed.readings or []
        s = self._settings
        now_ms = int(now * 1000)
        newest = now_ms + s.max_future_skew_s * 1000
        oldest = now_ms - s.max_age_days * 86_400_000
        sensors = hub.sensors
        columns = plan.write.readings
        ts_col, sensor_col = columns.ts_ms, columns.sensor_ids
        resident_col, value_col = columns.resident_ids, columns.values
        rows: list[StreamRow] = []
        problems: list[Rejection] = []
        # The hot loop: one dict lookup and a few appends per reading, nothing allocated
        # per reading but the stream row.
        start = len(ts_col)
        for reading in readings:
            ref = sensors.get(reading["sensor"])
            if ref is None:
                key = reading["sensor"]
                if may_defer and self._directory.may_reload(serial, key):
                    for column in (ts_col, sensor_col, resident_col, value_col):
                        del column[start:]
                    return key
                problems.append(unknown_sensor(key, serial))
                continue
            ts = reading["ts"]
            if ts > newest or ts < oldest:
                bad = check_time(
                    ts,
                    now_ms=now_ms,
                    max_future_skew_s=s.max_future_skew_s,
                    max_age_days=s.max_age_days,
                )
                problems.append(bad or Rejection("future", "timestamp out of range"))
                continue
            value = reading["value"]
            ts_col.append(ts)
            sensor_col.append(ref.sensor_id)
            resident_col.append(ref.resident_id)
            value_col.append(value)
            rows.append([ref.sensor_id, ref.resident_id, ref.kind, ts, value])
        if problems:
            first = problems[0]
            if len(readings) > 1:
                first = Rejection(
                    first.code,
                    f"{first.reason} ({len(problems)} of {len(readings)} readings refused)",
                )
            _refuse(plan, parsed, first)
        if rows:
            plan.accepted += len(rows)
            plan.stream_entries.append((serial, rows))
            urgent = [row for row in rows if row[2] in URGENT_SENSOR_KINDS]
            if urgent:
                plan.urgent_entries.append((serial, urgent))
            last = self._seen_written.get(serial)
            if last is None or time.monotonic() - last >= s.hub_seen_interval_s:
                plan.write.hubs_seen[serial] = datetime.fromtimestamp(inbound.received_at, tz=UTC)
        return None

    def _plan_batteries(
        self, parsed: ParsedMessage, plan: BatchPlan, batteries: dict[str, float]
    ) -> None:
        """Battery levels of a heartbeat; an unknown sensor refuses only its own level."""
        serial = parsed.hub_serial
        hub = self._directory.hub(serial) if serial else None
        if serial is None or hub is None:
            return
        unknown = [key for key in batteries if key not in hub.sensors]
        for key, pct in batteries.items():
            if key in hub.sensors:
                plan.write.batteries.append((hub.hub_id, serial, hub.sensors[key].sensor_id, pct))
        if unknown:
            reason = unknown_sensor(unknown[0], serial).reason
            _refuse(
                plan,
                parsed,
                Rejection(
                    "unknown_sensor",
                    f"battery of {reason} ({len(unknown)} of {len(batteries)} levels refused)",
                ),
            )


def refuse_message(plan: BatchPlan, parsed: ParsedMessage, rejection: Rejection) -> None:
    """Add a dead letter for a whole message to a plan."""
    _refuse(plan, parsed, rejection)


def _refuse(plan: BatchPlan, parsed: ParsedMessage, rejection: Rejection) -> None:
    inbound = parsed.inbound
    plan.refused[rejection.code] += 1
    plan.write.dead_letters.append(
        (
            datetime.fromtimestamp(inbound.received_at, tz=UTC),
            parsed.hub_serial,
            # A device chose these texts: bounded, and storable (no NUL, no lone surrogate).
            clean_text(inbound.topic),
            clean_text(rejection.reason),
            clean_text(excerpt(inbound.payload), EXCERPT_CHARS),
        )
    )


def _safe_datetime(ts_ms: int, fallback: datetime) -> datetime:
    try:
        return ms_to_datetime(ts_ms)
    except (OverflowError, OSError, ValueError):
        return fallback
