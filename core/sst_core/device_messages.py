"""Entries of the device-events stream: what the gateway noticed about hubs and batteries.

The gateway adds one entry per change it committed (a hub went offline or came back, a
sensor's battery crossed a threshold); inference turns them into device alerts. Each
entry says what changed and when; PostgreSQL (hubs, sensors) says what is true now, and
inference checks it before acting, so entries may be replayed or read out of order.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from sst_core.messages import StreamFields


class DeviceEventKind(StrEnum):
    """What changed about a device."""

    HUB_OFFLINE = "hub_offline"
    HUB_ONLINE = "hub_online"
    BATTERY_LOW = "battery_low"  # a sensor's battery fell below the low threshold
    BATTERY_OK = "battery_ok"  # ... and later rose above the clear threshold


class OfflineCause(StrEnum):
    """How the gateway learnt that a hub is offline."""

    LAST_WILL = "last_will"  # the broker published the hub's will, or the hub said so
    HEARTBEAT_TIMEOUT = "heartbeat_timeout"  # nothing heard for longer than the timeout


class DeviceEvent(BaseModel):
    """One device change, as the gateway committed it."""

    model_config = ConfigDict(frozen=True)

    kind: DeviceEventKind
    hub_id: int
    hub_serial: str
    at: datetime  # when the gateway committed the change (UTC)
    last_seen_at: datetime | None = None  # the hub's last sign of life, for offline events
    cause: OfflineCause | None = None
    sensor_id: int | None = None
    battery_pct: float | None = None
    low_pct: float | None = None  # the thresholds the gateway applied
    clear_pct: float | None = None

    def to_stream(self) -> StreamFields:
        """Fields of one device-events stream entry."""
        return {"event": self.model_dump_json(exclude_none=True).encode()}

    @classmethod
    def from_stream(cls, fields: Mapping[Any, Any]) -> DeviceEvent:
        """Inverse of `to_stream`."""
        return cls.model_validate_json(fields[b"event"])
