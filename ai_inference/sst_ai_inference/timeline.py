"""What the windowed rules look at: a home's recent readings as events, and what they say.

Pure, no I/O: the detector loads a `HomeView` from PostgreSQL (readings are stored there
before the gateway announces them), the benchmark builds one from simulated days. Every
rule judges an instant `t` from the events stamped at or before it, so a late or
out-of-order reading simply takes its place in time.

The *horizon* is the newest reading at or before `t`: absences are measured up to the
horizon, never up to a wall clock the data has not reached. When the home has sent
nothing for `DATA_GAP` (hub offline, a backlog not yet flushed, a hub clock set back or
forward), the rules that judge an absence say nothing: no data is not "no movement".
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sst_core.domain import SensorKind

DATA_GAP = timedelta(minutes=30)
# Readings stamped further ahead of the server clock come from a hub clock gone wrong.
FUTURE_TOLERANCE = timedelta(minutes=2)
PERIODIC_KINDS = frozenset({SensorKind.TEMPERATURE.value, SensorKind.BED.value})
POWER_ON_WATTS = 10.0


@dataclass(frozen=True)
class Event:
    """One reading with where its sensor is."""

    at: datetime  # UTC, the hub's time
    sensor_id: int
    sensor_kind: str
    room_kind: str | None
    room_name: str | None
    value: float

    @property
    def moves(self) -> bool:
        """A sign that someone is up and about: motion, a door, a flush, an appliance."""
        kind = self.sensor_kind
        if kind == SensorKind.POWER:
            return self.value >= POWER_ON_WATTS
        return kind in _MOVING_KINDS and self.value >= 1

    @property
    def is_door_open(self) -> bool:
        """The front (or any outer) door opened."""
        return self.sensor_kind == SensorKind.DOOR and self.value >= 1

    @property
    def inside(self) -> bool:
        """A sign that someone is inside, in this event's room (a door is not)."""
        if self.sensor_kind in (SensorKind.BED, SensorKind.CHAIR):
            return self.value >= 1
        return self.moves and self.sensor_kind != SensorKind.DOOR


_MOVING_KINDS = frozenset({SensorKind.MOTION, SensorKind.DOOR, SensorKind.TOILET})


@dataclass(frozen=True)
class SensorInfo:
    """A sensor of the home as the rules need it."""

    sensor_id: int
    kind: str
    room_kind: str | None
    room_name: str | None


@dataclass
class HomeView:
    """A resident's home over a recent span: events in time order, sensors, hub presence."""

    resident_id: int
    resident_name: str
    timezone: ZoneInfo
    events: list[Event]
    sensors: list[SensorInfo] = field(default_factory=list)
    hub_online: bool | None = None  # None: not known (no hub, or a replay)
    # Newest reading of each sensor before `events` starts, for sensors silent since.
    last_report_before: dict[int, datetime] = field(default_factory=dict)
    # When the home's hub was known to be offline (its hub_offline alerts: from, until or
    # None if still open). Not known in a replay.
    offline: list[tuple[datetime, datetime | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.events.sort(key=lambda e: (e.at, e.sensor_id))
        self._times = [e.at for e in self.events]

    def offline_during(self, start: datetime, end: datetime) -> bool:
        """Whether the hub was known to be offline at some moment of [start, end]."""
        return any(
            began <= end and (ended is None or ended >= start) for began, ended in self.offline
        )

    def upto(self, t: datetime) -> list[Event]:
        """Events stamped at or before `t`, oldest first."""
        return self.events[: bisect.bisect_right(self._times, t)]

    def horizon(self, t: datetime) -> datetime | None:
        """The newest reading at or before `t`, if it is recent enough to judge absences."""
        index = bisect.bisect_right(self._times, t)
        if index == 0:
            return None
        newest = self._times[index - 1]
        if self.hub_online is False or t - newest > DATA_GAP:
            return None
        return newest

    def local(self, t: datetime) -> datetime:
        """`t` on the home's wall clock."""
        return t.astimezone(self.timezone)

    def at_local(self, day: date, hour: float) -> datetime:
        """The UTC instant of a local wall-clock hour on a local date (DST-correct)."""
        minutes = round(hour * 60)
        if minutes >= 24 * 60:
            return self.at_local(day + timedelta(days=1), (minutes - 24 * 60) / 60)
        wall = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.timezone)
        # A wall time inside a spring-forward gap does not exist: zoneinfo reads it with the
        # offset before the change (02:30 becomes 03:30 summer time), a real later instant.
        return wall


def clock(t: datetime, zone: ZoneInfo) -> str:
    """A home-local time as a carer says it: 08:10."""
    return t.astimezone(zone).strftime("%H:%M")


def span(delta: timedelta) -> str:
    """A duration in words: 3 h 20 min, 45 min."""
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    if hours:
        return f"{hours} h"
    return f"{rest} min"


def minutes(delta: timedelta) -> int:
    """Whole minutes of a duration, as `span` counts them (a text's raw value)."""
    return max(0, int(delta.total_seconds() // 60))


def hours_words(hours: float) -> str:
    """A limit in hours in words: 3 h, 1 h 30 min."""
    return span(timedelta(hours=hours))


def room_words(room_name: str | None, room_kind: str | None = None) -> str:
    """A room as a carer says it: the Bathroom."""
    if room_name:
        return f"the {room_name}"
    return f"the {room_kind}" if room_kind else "an unnamed room"


__all__ = [
    "DATA_GAP",
    "FUTURE_TOLERANCE",
    "PERIODIC_KINDS",
    "Event",
    "HomeView",
    "SensorInfo",
    "clock",
    "hours_words",
    "minutes",
    "room_words",
    "span",
]
