"""Message contracts: MQTT payloads from hubs and entries on the Redis streams.

The MQTT models are the executable form of docs/mqtt.md (JSON Schemas under
docs/schemas/ are generated from them). Stream entries are compact on purpose: the
readings stream carries every batch the gateway stored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sst_core.texts import AlertText

CONTRACT_VERSION = 1
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_READINGS_PER_MESSAGE = 1000

# redis-py types stream fields loosely; this is what XADD takes.
StreamFields = dict[Any, Any]

SensorKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class ReadingIn(BaseModel):
    """One value from one sensor, timed by the hub (Unix epoch milliseconds, UTC)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sensor: SensorKey
    # strict: a JSON integer for ts and a JSON number for value, never "12" or true
    ts: int = Field(
        ge=0, strict=True, description="Hub timestamp, milliseconds since the Unix epoch (UTC)."
    )
    value: float = Field(strict=True)

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("value must be a finite number")
        return value


class TelemetryIn(BaseModel):
    """`sst/v1/hubs/{hub}/telemetry`: a batch of readings."""

    model_config = ConfigDict(extra="forbid")

    v: int = Field(CONTRACT_VERSION, ge=1, le=CONTRACT_VERSION, strict=True)
    readings: list[ReadingIn] = Field(min_length=1, max_length=MAX_READINGS_PER_MESSAGE)


class EventIn(ReadingIn):
    """`sst/v1/hubs/{hub}/events`: one urgent reading (fall, button, smoke), sent with QoS 1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: int = Field(CONTRACT_VERSION, ge=1, le=CONTRACT_VERSION, strict=True)


BatteryPct = Annotated[float, Field(ge=0, le=100)]
MAX_BATTERIES_PER_STATUS = 500


class StatusIn(BaseModel):
    """`sst/v1/hubs/{hub}/status`: presence and heartbeat (retained; the last will says offline)."""

    model_config = ConfigDict(extra="forbid")

    v: int = Field(CONTRACT_VERSION, ge=1, le=CONTRACT_VERSION, strict=True)
    online: bool = Field(strict=True)
    # printable: a control character (NUL above all) has no place in a version string
    firmware: str | None = Field(default=None, max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")
    ts: int | None = Field(default=None, ge=0, strict=True)
    batteries: dict[SensorKey, BatteryPct] | None = Field(
        default=None,
        max_length=MAX_BATTERIES_PER_STATUS,
        description="Battery level (percent) of battery-powered sensors, by sensor key.",
    )


def ms_to_datetime(ms: int) -> datetime:
    """A hub's millisecond timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def datetime_to_ms(moment: datetime) -> int:
    """An aware datetime as milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)


# -- Redis stream "readings": one entry per stored message -----------------------------


class StoredReading(BaseModel):
    """A reading after the gateway resolved its sensor: what inference consumes."""

    model_config = ConfigDict(frozen=True)

    sensor_id: int
    resident_id: int | None
    kind: str
    ts: int
    value: float


# A StoredReading as the stream carries it: [sensor_id, resident_id, kind, ts, value].
StreamRow = list[Any]


def encode_readings_entry(hub_serial: str, readings: list[StoredReading]) -> StreamFields:
    """Fields of one readings-stream entry."""
    rows = [[r.sensor_id, r.resident_id, r.kind, r.ts, r.value] for r in readings]
    return encode_stream_rows(hub_serial, rows)


def encode_stream_rows(hub_serial: str, rows: list[StreamRow]) -> StreamFields:
    """Fields of one readings-stream entry from rows already in stream form (no models)."""
    return {"hub": hub_serial.encode(), "r": orjson.dumps(rows)}


def decode_readings_entry(fields: Mapping[Any, Any]) -> tuple[str, list[StoredReading]]:
    """Inverse of `encode_readings_entry`."""
    rows = orjson.loads(fields[b"r"])
    readings = [
        StoredReading(sensor_id=s, resident_id=r, kind=k, ts=t, value=v) for s, r, k, t, v in rows
    ]
    return fields[b"hub"].decode(), readings


# -- Redis stream "alerts": one entry per alert raised or changed ----------------------


class AlertMessage(BaseModel):
    """An alert as the dashboard receives it; the row in PostgreSQL is the truth."""

    id: int
    resident_id: int
    facility_id: int
    kind: str
    severity: str
    state: str
    title: str
    explanation: str
    count: int
    opened_at: datetime
    last_seen_at: datetime
    sensor_id: int | None = None
    room: str | None = None
    text: AlertText | None = Field(
        default=None,
        description="The title and explanation as message keys with raw parameters, for "
        "showing them in the reader's language (null: only the English words exist).",
    )

    def to_stream(self) -> StreamFields:
        """Fields of one alerts-stream entry."""
        return {"alert": self.model_dump_json().encode()}

    @classmethod
    def from_stream(cls, fields: Mapping[Any, Any]) -> AlertMessage:
        """Inverse of `to_stream`."""
        return cls.model_validate_json(fields[b"alert"])

    def to_event(self) -> dict[str, Any]:
        """The JSON body of the Socket.IO `alert` event."""
        return self.model_dump(mode="json")
