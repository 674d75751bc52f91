"""Routine features of a resident's day: the one implementation training and inference share.

Pure Python (no pandas, numpy or scikit-learn, so `core` stays light and inference can score
a thousand residents a second): readings go in as `Event`s, a `DayState` consumes one
local day of them in time order, and `snapshot` says what the day looks like at a moment
("kitchen visits so far", "minutes since the last movement", "got up at"). Training takes a
snapshot of every history day at each local hour; inference takes one of today, now. Both
therefore see exactly the same numbers.

Everything is in the home's local wall-clock time (a day runs from local midnight to local
midnight; "07:10" is what the carer's clock showed), except durations, which are real
elapsed minutes (a night with a clock change is an hour shorter or longer).

Bump FEATURE_VERSION whenever a definition below changes: model artifacts carry it and
inference refuses an artifact built with another version.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sst_core.domain import RoomKind, SensorKind

# 2: minutes without the kitchen or bathroom leave out time away; 3: minutes without the
# kitchen leave out long silences too
FEATURE_VERSION = 3

ROOM_KINDS: tuple[str, ...] = tuple(kind.value for kind in RoomKind)
# Readings that say "someone is moving about": a PIR, the chair, a flush, an appliance, a door.
ACTIVITY_SENSORS = frozenset(
    {SensorKind.MOTION, SensorKind.CHAIR, SensorKind.TOILET, SensorKind.POWER, SensorKind.DOOR}
)
# Sensors the features read at all; training and scoring load only these.
FEATURE_SENSORS = ACTIVITY_SENSORS | {SensorKind.BED}
POWER_ON_W = 10.0  # a plug drawing more than this is an appliance in use
# The kinds every reading is compared with, as plain module names: `SensorKind.BED` is an
# enum lookup of about 0.2 us, and a scoring round makes several per reading (equal
# strings either way: the kinds are StrEnums).
_BED, _DOOR, _POWER = SensorKind.BED, SensorKind.DOOR, SensorKind.POWER
_KITCHEN, _BATHROOM, _BEDROOM = RoomKind.KITCHEN, RoomKind.BATHROOM, RoomKind.BEDROOM

KITCHEN_VISIT_GAP_MIN = 15.0  # kitchen activity after this long a pause is a new visit
BATHROOM_VISIT_GAP_MIN = 10.0
OUT_AFTER_MIN = 10.0  # the door opened and nothing moved inside for this long: out
# Nothing at all moved for longer than this (the routine scorer's silence limit): the
# minutes without the kitchen leave it out. A hub that was off, or a long nap,
# is not a skipped meal; a resident lying still is the inactivity features' concern.
SILENT_AFTER_MIN = 90.0
WAKE_EARLIEST_MIN = 4 * 60  # a bed exit before 04:00 is a night-time trip
WAKE_LATEST_MIN = 14 * 60
WAKE_STAY_UP_MIN = 30.0  # out of bed at least this long for the exit to be the wake-up
SLEEP_EARLIEST_MIN = 18 * 60
RECENT_WINDOW_MIN = 180  # "activity in the last three hours", against the hour-of-week table

# What a snapshot holds (DayState.snapshot); counts are since local midnight.
ACTIVITY_FEATURES = tuple(f"activity_{room}" for room in ROOM_KINDS)
SNAPSHOT_FEATURES: tuple[str, ...] = (
    *ACTIVITY_FEATURES,
    "total_activity",
    "kitchen_visits",
    "bathroom_visits",
    "night_bathroom_visits",
    "since_last_activity",
    "since_last_kitchen",
    "since_last_bathroom",
    "last_kitchen_at",
    "last_bathroom_at",
    "out_minutes",
    "out_now",
    "wake",
    "recent_activity",
)
# Daily features for data scientists (one row per local day).
DAILY_FEATURES: tuple[str, ...] = (
    "wake",
    "sleep_onset",
    "night_bathroom_visits",
    "kitchen_visits",
    "bathroom_visits",
    "out_minutes",
    "total_activity",
    *ACTIVITY_FEATURES,
)


class Event(NamedTuple):
    """One reading as the features see it: when (UTC ms), what sensor, which room, value.

    A named tuple, not a dataclass: a scoring round builds hundreds of thousands of them.
    """

    ts: int
    sensor_kind: str
    room_kind: str | None
    value: float

    def is_activity(self) -> bool:
        """Whether this reading says the resident moved (a PIR, a flush, a door...)."""
        if self.sensor_kind not in ACTIVITY_SENSORS:
            return False
        if self.sensor_kind == _POWER:
            return self.value >= POWER_ON_W
        return self.value > 0


class LocalClock:
    """UTC ms -> (local date, wall-clock minute) in one zone, fast for times in order.

    zoneinfo costs microseconds per conversion; a history has tens of thousands of
    readings. Within a local day without a clock change, the minute is plain arithmetic
    from local midnight; only days with a change go through zoneinfo reading by reading.
    """

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._day: date | None = None
        self._start = self._end = 0  # UTC ms of the cached day's midnight and the next
        self._regular = False

    def _cache(self, ts_ms: int) -> None:
        self._cache_day(datetime.fromtimestamp(ts_ms / 1000, tz=self.zone).date())

    def _cache_day(self, day: date) -> None:
        start = datetime.combine(day, time(), tzinfo=self.zone)
        end = datetime.combine(day + timedelta(days=1), time(), tzinfo=self.zone)
        self._day = day
        self._start = int(start.timestamp() * 1000)
        self._end = int(end.timestamp() * 1000)
        self._regular = self._end - self._start == 86_400_000 and start.utcoffset() == (
            end.utcoffset()
        )

    def minute(self, ts_ms: int) -> tuple[date, float]:
        """The local date and wall-clock minute of the day (0 <= m < 1440) of a UTC time."""
        if not self._start <= ts_ms < self._end:
            self._cache(ts_ms)
        assert self._day is not None
        if self._regular:
            return self._day, (ts_ms - self._start) / 60_000
        moment = datetime.fromtimestamp(ts_ms / 1000, tz=self.zone)
        return moment.date(), moment.hour * 60 + moment.minute + moment.second / 60

    def moment_ms(self, day: date, minute: float) -> int:
        """UTC ms of a wall-clock minute of a local day (24:00 is the next midnight)."""
        if day != self._day:
            # Snapshots ask for the hours of one day in a row: cache it (same numbers as
            # zoneinfo on a regular day; a day with a clock change still goes through it).
            self._cache_day(day)
        if self._regular and 0 <= minute <= 1440:
            return self._start + round(minute * 60_000)
        return moment_ms(day, minute, self.zone)


_CLOCKS: dict[str, LocalClock] = {}


def local_clock(zone: ZoneInfo) -> LocalClock:
    """A LocalClock for a zone (one per zone and process)."""
    clock = _CLOCKS.get(zone.key)
    if clock is None:
        clock = _CLOCKS[zone.key] = LocalClock(zone)
    return clock


def local_minute(ts_ms: int, zone: ZoneInfo) -> tuple[date, float]:
    """The local date and wall-clock minute of the day (0 <= m < 1440) of a UTC time."""
    return local_clock(zone).minute(ts_ms)


def moment_ms(day: date, minute: float, zone: ZoneInfo) -> int:
    """UTC ms of a wall-clock minute of a local day (24:00 is the next midnight)."""
    whole = int(minute)
    base = datetime.combine(day, time(), tzinfo=zone) if whole < 1440 else None
    if base is None:
        base = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
        whole -= 1440
    # Wall-clock arithmetic (timedelta on an aware datetime keeps the wall clock), then UTC.
    local = base + timedelta(minutes=whole)
    return int(local.timestamp() * 1000) + round((minute - int(minute)) * 60_000)


def hhmm(minute: float) -> str:
    """A minute of the day as a carer reads it: 490 -> "08:10" (1470 -> "00:30")."""
    whole = round(minute) % 1440
    return f"{whole // 60:02d}:{whole % 60:02d}"


@dataclass
class DayState:
    """What one local day looked like so far; feed it that day's events in time order."""

    day: date
    zone: ZoneInfo
    bed_in: bool | None = None  # carried over from the night before
    last_activity_ts: int | None = None
    last_kitchen_ts: int | None = None
    last_bathroom_ts: int | None = None
    door_ts: int | None = None  # the front door opened and nothing moved since
    activity: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROOM_KINDS, 0))
    total_activity: int = 0
    kitchen_visits: int = 0
    bathroom_visits: int = 0
    night_bathroom_visits: int = 0
    out_ms: int = 0
    wake: float | None = None
    sleep_onset: float | None = None
    early_sleep_onset: float | None = None  # bed entered after midnight (night owls)
    last_kitchen_minute: float | None = None
    last_activity_minute: float | None = None
    last_bathroom_minute: float | None = None
    _exit: tuple[int, float] | None = None  # a bed exit not yet confirmed as the wake-up
    _entry: tuple[int, float] | None = None  # an evening bed entry not yet confirmed
    _seen_bed: bool = False
    _first_up: float | None = None  # first activity outside bedroom/bathroom after 04:00
    _up_ts: int | None = None  # when the resident got up today (bed exit, or first up)
    _recent: deque[int] = field(default_factory=deque)
    # Time away from home, in ms, summed since the history began, and likewise the silences
    # at home longer than SILENT_AFTER_MIN; and both sums, (away, silent), when the kitchen,
    # the bathroom were last used and at the wake-up. Nobody cooks at home while out:
    # "minutes without the kitchen" counts only minutes at home.
    _out_total_ms: int = 0
    _silent_total_ms: int = 0
    _at_kitchen: tuple[int, int] = (0, 0)
    _at_bathroom: tuple[int, int] = (0, 0)
    _at_up: tuple[int, int] = (0, 0)

    def next_day(self) -> DayState:
        """A fresh state for the following day, carrying what spans midnight."""
        self._confirm(None)
        return DayState(
            day=self.day + timedelta(days=1),
            zone=self.zone,
            bed_in=self.bed_in,
            last_activity_ts=self.last_activity_ts,
            last_kitchen_ts=self.last_kitchen_ts,
            last_bathroom_ts=self.last_bathroom_ts,
            door_ts=self.door_ts,
            _recent=self._recent,
            _out_total_ms=self._out_total_ms,
            _silent_total_ms=self._silent_total_ms,
            _at_kitchen=self._at_kitchen,
            _at_bathroom=self._at_bathroom,
        )

    def add(self, event: Event, minute: float | None = None) -> None:
        """Take one reading of this day into account (readings must come in time order).

        `minute` is its local wall-clock minute, when the caller has it already.
        """
        if minute is None:
            _, minute = local_minute(event.ts, self.zone)
        self._confirm(event.ts)
        if event.sensor_kind == _BED:
            self._bed(event, minute)
            return
        if not event.is_activity():
            return
        silent = self._silence(event.ts)
        if silent:
            self._silent_total_ms += silent
        if event.sensor_kind == _DOOR:
            self._leave_or_return(event.ts)
            self.door_ts = event.ts
        else:
            self._leave_or_return(event.ts)
            self.door_ts = None
        room = event.room_kind if event.room_kind in self.activity else None
        if room is not None:
            self.activity[room] += 1
        self.total_activity += 1
        self._recent.append(event.ts)
        if room == _KITCHEN:
            if _gap_min(self.last_kitchen_ts, event.ts) >= KITCHEN_VISIT_GAP_MIN:
                self.kitchen_visits += 1
            self.last_kitchen_ts, self.last_kitchen_minute = event.ts, minute
            self._at_kitchen = (self._out_total_ms, self._silent_total_ms)
        elif room == _BATHROOM:
            if _gap_min(self.last_bathroom_ts, event.ts) >= BATHROOM_VISIT_GAP_MIN:
                self.bathroom_visits += 1
                if self.wake is None and self._exit is None and minute < WAKE_LATEST_MIN:
                    self.night_bathroom_visits += 1
            self.last_bathroom_ts, self.last_bathroom_minute = event.ts, minute
            self._at_bathroom = (self._out_total_ms, self._silent_total_ms)
        elif (
            room not in (_BEDROOM, None) and minute >= WAKE_EARLIEST_MIN and self._first_up is None
        ):
            self._first_up = minute
            if not self._seen_bed:
                self._up_ts = event.ts
                self._at_up = (self._out_total_ms, self._silent_total_ms)
        self.last_activity_ts, self.last_activity_minute = event.ts, minute

    def _silence(self, ts: int) -> int:
        """Ms of silence at home before `ts` to leave out (0 unless over SILENT_AFTER_MIN)."""
        if self.door_ts is not None or self.last_activity_ts is None:
            return 0  # out (time away counts on its own), or nothing seen yet
        gap = ts - self.last_activity_ts
        return gap if gap > SILENT_AFTER_MIN * 60_000 else 0

    def _leave_or_return(self, ts: int) -> None:
        if self.door_ts is not None and _gap_min(self.door_ts, ts) >= OUT_AFTER_MIN:
            self.out_ms += ts - max(self.door_ts, self._midnight_ms())
            self._out_total_ms += ts - self.door_ts
        if self.door_ts is not None:
            self.door_ts = None

    def _bed(self, event: Event, minute: float) -> None:
        self._seen_bed = True
        in_bed = event.value > 0
        if in_bed and self.bed_in is not True:
            if self._exit is not None and _gap_min(self._exit[0], event.ts) < WAKE_STAY_UP_MIN:
                self._exit = None  # back to bed: that was not the wake-up
            if minute >= SLEEP_EARLIEST_MIN:
                self._entry = (event.ts, minute)
            elif minute < WAKE_EARLIEST_MIN and self.early_sleep_onset is None:
                self.early_sleep_onset = minute
        elif not in_bed and self.bed_in is not False:
            if self.wake is None and WAKE_EARLIEST_MIN <= minute < WAKE_LATEST_MIN:
                self._exit = (event.ts, minute)
            if self._entry is not None and _gap_min(self._entry[0], event.ts) < 60:
                self._entry = None  # up again within the hour: not yet asleep
        self.bed_in = in_bed

    def _confirm(self, now_ts: int | None) -> None:
        """Turn a bed exit or entry that lasted long enough into the wake-up or sleep onset."""
        if self._exit is not None and (
            now_ts is None or _gap_min(self._exit[0], now_ts) >= WAKE_STAY_UP_MIN
        ):
            self._up_ts, self.wake = self._exit
            self._at_up = (self._out_total_ms, self._silent_total_ms)
            self._exit = None
        if self._entry is not None and (now_ts is None or _gap_min(self._entry[0], now_ts) >= 60):
            self.sleep_onset = self._entry[1]
            self._entry = None

    def _midnight_ms(self) -> int:
        return local_clock(self.zone).moment_ms(self.day, 0)

    def snapshot(self, minute: float) -> dict[str, float]:
        """The day's features at a wall-clock minute of it (after the events fed so far)."""
        now_ts = local_clock(self.zone).moment_ms(self.day, minute)
        self._confirm(now_ts)
        while self._recent and now_ts - self._recent[0] > RECENT_WINDOW_MIN * 60_000:
            self._recent.popleft()
        out_now = self.door_ts is not None and _gap_min(self.door_ts, now_ts) >= OUT_AFTER_MIN
        out_ms = self.out_ms
        if out_now and self.door_ts is not None:
            out_ms += now_ts - max(self.door_ts, self._midnight_ms())
        wake = self.wake
        if wake is None and not self._seen_bed and self._first_up is not None:
            wake = self._first_up  # no bed sensor: the first time up and about
        values = {f"activity_{room}": float(n) for room, n in self.activity.items()}
        values.update(
            total_activity=float(self.total_activity),
            kitchen_visits=float(self.kitchen_visits),
            bathroom_visits=float(self.bathroom_visits),
            night_bathroom_visits=float(self.night_bathroom_visits),
            since_last_activity=0.0 if out_now else _since(self.last_activity_ts, now_ts, minute),
            since_last_kitchen=self._since_up(
                self.last_kitchen_ts, self._at_kitchen, now_ts, out_now, silences=True
            ),
            since_last_bathroom=self._since_up(
                self.last_bathroom_ts, self._at_bathroom, now_ts, out_now, silences=False
            ),
            # Wall-clock minute of the last use today (NaN: none today), for the words: the
            # "since" features above leave out time away, so they cannot say when.
            last_kitchen_at=_minute_or_nan(self.last_kitchen_minute),
            last_bathroom_at=_minute_or_nan(self.last_bathroom_minute),
            out_minutes=out_ms / 60_000,
            out_now=1.0 if out_now else 0.0,
            wake=float("nan") if wake is None else wake,
            recent_activity=float(len(self._recent)),
        )
        return values

    def _since_up(
        self,
        last_ts: int | None,
        at_last: tuple[int, int],
        now_ts: int,
        out_now: bool,
        *,
        silences: bool,
    ) -> float:
        """Minutes at home since `last_ts`, counted from the wake-up at most (0 before it).

        A kitchen unused all night says nothing; unused since getting up three hours ago does.
        Time away does not count: lunch out is not a skipped meal. With `silences` (the
        kitchen's), nor do silences longer than SILENT_AFTER_MIN (the one going on
        included): a hub that was off is not a skipped meal. `at_last`: the sums (away,
        silent) at `last_ts`.
        """
        if self._up_ts is None:
            return 0.0
        if last_ts is not None and last_ts >= self._up_ts:
            since, (out_before, silent_before) = last_ts, at_last
        else:
            since, (out_before, silent_before) = self._up_ts, self._at_up
        away = self._out_total_ms - out_before
        if silences:
            away += self._silent_total_ms - silent_before
        if out_now and self.door_ts is not None:
            away += now_ts - self.door_ts
        elif silences and not out_now:
            away += self._silence(now_ts)
        return max(0.0, (now_ts - since - away) / 60_000)


def _minute_or_nan(minute: float | None) -> float:
    return float("nan") if minute is None else minute


def _gap_min(earlier: int | None, later: int) -> float:
    return float("inf") if earlier is None else (later - earlier) / 60_000


def _since(last_ts: int | None, now_ts: int, minute: float) -> float:
    # Nothing at all seen yet: count from the start of the day, not from forever.
    if last_ts is None:
        return minute
    return max(0.0, (now_ts - last_ts) / 60_000)


def group_by_day(events: Iterable[Event], zone: ZoneInfo) -> dict[date, list[Event]]:
    """Events (in any order) grouped by local day, each day sorted by time."""
    return {day: [e for e, _ in pairs] for day, pairs in _by_day(events, zone).items()}


def _by_day(events: Iterable[Event], zone: ZoneInfo) -> dict[date, list[tuple[Event, float]]]:
    clock = local_clock(zone)
    days: dict[date, list[tuple[Event, float]]] = {}
    for event in sorted(events, key=lambda e: e.ts):
        day, minute = clock.minute(event.ts)
        days.setdefault(day, []).append((event, minute))
    return days


@dataclass(frozen=True)
class DayRecord:
    """One history day: its hourly snapshots (index h = at hh:00, h = 24 at midnight)."""

    day: date
    hourly: list[dict[str, float]]
    daily: dict[str, float]


def history_days(
    events: Iterable[Event], zone: ZoneInfo, *, complete_only: bool = True
) -> Iterator[DayRecord]:
    """Hourly snapshots and daily features of every day of a history, oldest first.

    With `complete_only`, the first day (its night started before the history) and days
    without a single reading (the hub was off) are left out: a model must not learn them.
    """
    days = _by_day(events, zone)
    if not days:
        return
    ordered = sorted(days)
    state: DayState | None = None
    pending: tuple[date, list[dict[str, float]], DayState] | None = None
    current = ordered[0]
    while current <= ordered[-1]:
        state = DayState(day=current, zone=zone) if state is None else state.next_day()
        day_events = days.get(current, [])
        hourly: list[dict[str, float]] = [state.snapshot(0)]
        hour = 1
        for event, minute in day_events:
            while hour <= 24 and hour * 60 <= minute:
                hourly.append(state.snapshot(hour * 60))
                hour += 1
            state.add(event, minute)
        while hour <= 24:
            hourly.append(state.snapshot(hour * 60))
            hour += 1
        if pending is not None:
            yield _record(*pending, next_state=state)
        skip = complete_only and (current == ordered[0] or not day_events)
        pending = None if skip else (current, hourly, state)
        current += timedelta(days=1)
    if pending is not None and not complete_only:
        yield _record(*pending, next_state=None)


def _record(
    day: date, hourly: list[dict[str, float]], state: DayState, *, next_state: DayState | None
) -> DayRecord:
    final = hourly[-1]
    onset = state.sleep_onset
    if onset is None and next_state is not None and next_state.early_sleep_onset is not None:
        onset = 1440 + next_state.early_sleep_onset
    daily = {name: final[name] for name in DAILY_FEATURES if name in final}
    daily["sleep_onset"] = float("nan") if onset is None else onset
    return DayRecord(day=day, hourly=hourly, daily=daily)


def hour_of_week(day: date, hour: int) -> int:
    """Index 0..167 of a local hour of the week (Monday 00:00 is 0)."""
    return day.weekday() * 24 + hour


def hourly_activity(events: Iterable[Event], zone: ZoneInfo) -> dict[tuple[date, int], int]:
    """Activity readings per (local day, local hour): the raw of the hour-of-week table."""
    counts: dict[tuple[date, int], int] = {}
    for event in events:
        if event.is_activity():
            day, minute = local_minute(event.ts, zone)
            key = (day, int(minute // 60))
            counts[key] = counts.get(key, 0) + 1
    return counts
