"""A plausible day of a resident living alone, as the sensor readings their hub would send.

Pure and deterministic: the same home, local date and seed give the same readings, so
tests and benchmarks can reason about them and the simulator can cut any time window out
of a day. Everything is planned in the home's local wall-clock time (a day runs from local
midnight to local midnight) and stamped in UTC epoch milliseconds.

The day: asleep in bed until the wake time (little motion, maybe a bathroom visit), a
morning routine (bedroom -> bathroom -> kitchen, with the kettle), stays across rooms,
lunch and dinner in the kitchen, perhaps tea, perhaps an outing through the front door,
an evening routine, then bed. Motion sensors report sparsely, as PIRs with a hold-off do;
bed and chair report changes plus a half-hourly state; temperature every five minutes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sst_core.domain import RoomKind, SensorKind

Reading = tuple[str, int, float]  # (sensor key, ts in epoch ms, value), as HubAgent sends
DAY_MINUTES = 24 * 60
OUT = "out"
MOTION_HOLD_OFF_MS = 60_000  # a PIR reports at most once a minute

# activities
SLEEP, TOILET, WASH, DRESS = "sleep", "toilet", "wash", "dress"
BREAKFAST, MEAL, TEA, REST, CHORES = "breakfast", "meal", "tea", "rest", "chores"
LEAVE, AWAY, RETURN = "leave", "away", "return"
STILL = "still"  # lying on the floor, or too unwell to move: no sensor sees anything
SITTING = "sitting"  # in the chair, not moving (unwell): the chair says so, no motion

# (room, activity, shortest, longest minutes, weight): how the free hours of a day go
FREE_STAYS = (
    (RoomKind.LIVING, REST, 20.0, 90.0, 0.5),
    (RoomKind.KITCHEN, CHORES, 10.0, 25.0, 0.15),
    (RoomKind.BATHROOM, TOILET, 3.0, 8.0, 0.12),
    (RoomKind.BEDROOM, CHORES, 10.0, 30.0, 0.1),
    (RoomKind.HALL, CHORES, 2.0, 5.0, 0.05),
)


@dataclass(frozen=True)
class SimSensor:
    """A sensor of a simulated home: the hub's key, its kind and its room's kind."""

    key: str
    kind: str
    room_kind: str | None = None
    room_name: str | None = None


@dataclass(frozen=True)
class SimHome:
    """A hub and what the simulator needs to make up its resident's life."""

    hub_serial: str
    timezone: str
    sensors: tuple[SimSensor, ...]
    resident_name: str | None = None

    def find(self, kind: str, room_kind: str | None = None) -> str | None:
        """Key of the first sensor of a kind (in a kind of room, if given)."""
        for sensor in self.sensors:
            if sensor.kind == kind and (room_kind is None or sensor.room_kind == room_kind):
                return sensor.key
        return None


@dataclass(frozen=True)
class Profile:
    """How a resident lives: habits the day planner draws from (minutes after midnight).

    The default is the simulator's usual resident; sst_devices.profiles names others
    (early riser, night owl, ...). Only the numbers differ, never the random draws, so a
    profile with the default numbers makes exactly the default days.
    """

    name: str = "usual"
    wake_mean: float = 7 * 60
    wake_sd: float = 25
    wake_range: tuple[float, float] = (5.5 * 60, 9 * 60)
    bedtime_mean: float = 22.5 * 60
    bedtime_sd: float = 30
    bedtime_range: tuple[float, float] = (21 * 60, 23 * 60 + 40)
    night_trip_weights: tuple[float, ...] = (0.3, 0.5, 0.2)  # 0, 1, 2... trips
    outing_chance: float = 0.6
    outing_minutes: tuple[float, float] = (45, 150)
    pace: float = 1.0  # > 1: every routine takes longer
    still_factor: float = 1.0  # < 1: fewer movements a PIR sees while in a room


USUAL = Profile()


@dataclass(frozen=True)
class Stay:
    """Where the resident is, doing what, in minutes after local midnight."""

    start: float
    end: float
    place: str  # a RoomKind, or OUT
    activity: str


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def plan_day(rng: random.Random, profile: Profile = USUAL) -> list[Stay]:
    """The resident's whereabouts over one local day, back to back from 00:00 to 24:00."""
    p = profile
    wake = _clip(rng.gauss(p.wake_mean, p.wake_sd), *p.wake_range)
    bedtime = _clip(rng.gauss(p.bedtime_mean, p.bedtime_sd), *p.bedtime_range)
    stays: list[Stay] = []

    def add(place: str, activity: str, start: float, minutes: float) -> float:
        stays.append(Stay(start, start + minutes, place, activity))
        return start + minutes

    # The night: asleep, with 0-2 trips to the bathroom.
    t = 0.0
    trips = rng.choices(range(len(p.night_trip_weights)), weights=p.night_trip_weights)[0]
    for trip in sorted(rng.uniform(60, wake - 40) for _ in range(trips)):
        if trip > t + 10:
            add(RoomKind.BEDROOM, SLEEP, t, trip - t)
            t = add(RoomKind.BATHROOM, TOILET, trip, rng.uniform(3, 7) * p.pace)
    add(RoomKind.BEDROOM, SLEEP, t, wake - t)

    # The morning routine.
    t = add(RoomKind.BEDROOM, DRESS, wake, rng.uniform(5, 12) * p.pace)
    t = add(RoomKind.BATHROOM, WASH, t, rng.uniform(10, 20) * p.pace)
    t = add(RoomKind.KITCHEN, BREAKFAST, t, rng.uniform(20, 35) * p.pace)

    # Fixed points of the day; free stays fill the time between them.
    evening = bedtime - rng.uniform(30, 45)
    fixed: list[tuple[float, str]] = [(rng.gauss(12.5 * 60, 20), "lunch")]
    fixed.append((rng.gauss(18.5 * 60, 20), "dinner"))
    if rng.random() < 0.5:
        fixed.append((rng.gauss(15.5 * 60, 30), "tea"))
    if rng.random() < p.outing_chance:
        fixed.append((rng.uniform(9.5 * 60, 15 * 60), "outing"))
    fixed = sorted(f for f in fixed if t < f[0] < evening)

    while t < evening:
        if fixed and t >= fixed[0][0] - 1:
            _, what = fixed.pop(0)
            if what == "outing":
                t = add(RoomKind.ENTRANCE, LEAVE, t, rng.uniform(1, 2))
                t = add(OUT, AWAY, t, rng.uniform(*p.outing_minutes))
                t = add(RoomKind.ENTRANCE, RETURN, t, rng.uniform(1, 2))
            elif what == "tea":
                t = add(RoomKind.KITCHEN, TEA, t, rng.uniform(10, 15))
            else:
                t = add(RoomKind.KITCHEN, MEAL, t, rng.uniform(30, 45 if what == "lunch" else 60))
            fixed = [f for f in fixed if f[0] > t]  # an outing may swallow a snack
            continue
        until = fixed[0][0] if fixed else evening
        room, activity, shortest, longest, _ = rng.choices(
            FREE_STAYS, weights=[s[4] for s in FREE_STAYS]
        )[0]
        minutes = min(rng.uniform(shortest, longest), until - t)
        if until - t - minutes < 3:  # no crumbs of a minute before a fixed point
            minutes = until - t
        t = add(room, activity, t, max(minutes, 0.5))

    # The evening routine, then bed until midnight (the next day starts asleep).
    t = add(RoomKind.BATHROOM, WASH, t, rng.uniform(10, 15) * p.pace)
    t = add(RoomKind.BEDROOM, DRESS, t, rng.uniform(5, 10) * p.pace)
    t = min(t, DAY_MINUTES - 5)
    add(RoomKind.BEDROOM, SLEEP, t, DAY_MINUTES - t)
    return stays


def _stay_readings(
    home: SimHome, stay: Stay, rng: random.Random, still_factor: float = 1.0
) -> Iterator[tuple[str, float, float]]:
    """(key, minute, value) of what one stay makes the sensors report."""
    u = rng.uniform
    if stay.activity == STILL:
        return
    if stay.activity == SITTING:
        if chair := home.find(SensorKind.CHAIR, stay.place):
            yield chair, stay.start + u(0.5, 2), 1.0
        return
    motion = home.find(SensorKind.MOTION, stay.place)
    if motion and stay.activity == SLEEP:
        m = stay.start + u(20, 90)  # turning over now and then
        while m < stay.end:
            if rng.random() < 0.5:
                yield motion, m, 1.0
            m += u(40, 100)
    elif motion and stay.place != OUT:
        yield motion, stay.start + u(0.1, 0.7), 1.0
        still = 0.35 if stay.activity == REST else 0.7  # sitting still does not trigger a PIR
        still *= still_factor
        m = stay.start + u(3, 8)
        while m < stay.end:
            if rng.random() < still:
                yield motion, m, 1.0
            m += u(3, 8)
    if stay.activity == SLEEP and (bed := home.find(SensorKind.BED, stay.place)):
        if stay.start > 0:  # at midnight the resident was already in bed
            yield bed, stay.start + u(0.2, 1.5), 1.0
        if stay.end < DAY_MINUTES:
            yield bed, stay.end - u(0.1, 0.5), 0.0
    if stay.activity == REST and (chair := home.find(SensorKind.CHAIR, stay.place)):
        yield chair, stay.start + u(0.5, 2), 1.0
        yield chair, stay.end - u(0.2, 1), 0.0
    toilet = home.find(SensorKind.TOILET, stay.place)
    flushes = {TOILET: 0.9, WASH: 0.6}.get(stay.activity, 0.0)
    if toilet and flushes and rng.random() < flushes:
        yield toilet, stay.end - u(0.2, 1), 1.0
    kettle_chance = {BREAKFAST: 0.95, TEA: 0.9, MEAL: 0.3}.get(stay.activity, 0.0)
    kettle = home.find(SensorKind.POWER, RoomKind.KITCHEN)
    if kettle and stay.place == RoomKind.KITCHEN and rng.random() < kettle_chance:
        on = stay.start + u(2, 5)
        yield kettle, on, float(round(rng.gauss(2000, 60)))
        yield kettle, on + u(3, 4), 0.0
    door = home.find(SensorKind.DOOR, RoomKind.ENTRANCE) or home.find(SensorKind.DOOR)
    if door and stay.activity in (LEAVE, RETURN):
        opened = stay.end - u(0.2, 0.5) if stay.activity == LEAVE else stay.start + u(0, 0.1)
        yield door, opened, 1.0
        yield door, opened + u(0.1, 0.3), 0.0


def _state_readings(
    home: SimHome, plan: list[Stay], rng: random.Random
) -> Iterator[tuple[str, float, float]]:
    """Periodic reports: bed state every 30 minutes, temperature every 5."""
    sleeping = [(s.start, s.end) for s in plan if s.activity == SLEEP]
    beds = [s.key for s in home.sensors if s.kind == SensorKind.BED]
    for m in range(0, DAY_MINUTES, 30):
        in_bed = any(start <= m < end for start, end in sleeping)
        for key in beds:
            yield key, m + 0.12, 1.0 if in_bed else 0.0
    thermometers = [s for s in home.sensors if s.kind == SensorKind.TEMPERATURE]
    for m in range(0, DAY_MINUTES, 5):
        # Warmest mid-afternoon, coolest before dawn.
        daily = 1.2 * math.sin(2 * math.pi * (m / 60 - 9) / 24)
        for index, sensor in enumerate(thermometers):
            value = 20.8 + daily + 0.3 * index + rng.gauss(0, 0.12)
            yield sensor.key, m + 0.05 + 0.01 * index, round(value, 1)


@lru_cache(maxsize=4096)
def day_readings(
    home: SimHome, day: date, seed: int, profile: Profile = USUAL
) -> tuple[Reading, ...]:
    """Every reading of one local day of a home, in time order."""
    rng = day_rng(home, day, seed)
    return plan_readings(home, day, plan_day(rng, profile), rng, profile)


def day_rng(home: SimHome, day: date, seed: int) -> random.Random:
    """The random draws of one day of one home (the same day is always the same)."""
    return random.Random(f"{seed}:{home.hub_serial}:{day.isoformat()}")


def plan_readings(
    home: SimHome, day: date, plan: list[Stay], rng: random.Random, profile: Profile = USUAL
) -> tuple[Reading, ...]:
    """The readings a day's plan makes the home's sensors send, in time order."""
    zone = ZoneInfo(home.timezone)
    midnight = datetime.combine(day, time(), tzinfo=zone)
    start_ms = _ms(midnight)
    end_ms = _ms(datetime.combine(day + timedelta(days=1), time(), tzinfo=zone))
    raw = [r for stay in plan for r in _stay_readings(home, stay, rng, profile.still_factor)]
    raw.extend(_state_readings(home, plan, rng))
    readings: dict[tuple[str, int], Reading] = {}
    for key, minute, value in raw:
        # Wall-clock arithmetic in the home's zone, then UTC: local times stay local on
        # days when the clocks change.
        ts = _ms(midnight + timedelta(minutes=minute)) + rng.randrange(1000)
        if start_ms <= ts < end_ms:
            readings.setdefault((key, ts), (key, ts, value))  # (sensor, time) is unique
    motion = {s.key for s in home.sensors if s.kind == SensorKind.MOTION}
    return tuple(_hold_off(sorted(readings.values(), key=lambda r: (r[1], r[0])), motion))


def _hold_off(readings: list[Reading], motion: set[str]) -> Iterator[Reading]:
    """Drop motion reports a PIR would not send: within its hold-off of the previous one."""
    last: dict[str, int] = {}
    for reading in readings:
        key, ts, _ = reading
        if key in motion:
            if ts - last.get(key, -MOTION_HOLD_OFF_MS) < MOTION_HOLD_OFF_MS:
                continue
            last[key] = ts
        yield reading


def readings_between(home: SimHome, start_ms: int, end_ms: int, seed: int) -> list[Reading]:
    """Readings of a home with start_ms <= ts < end_ms, across as many days as needed."""
    if end_ms <= start_ms:
        return []
    zone = ZoneInfo(home.timezone)
    day = datetime.fromtimestamp(start_ms / 1000, tz=zone).date()
    last = datetime.fromtimestamp((end_ms - 1) / 1000, tz=zone).date()
    out: list[Reading] = []
    while day <= last:
        out.extend(r for r in day_readings(home, day, seed) if start_ms <= r[1] < end_ms)
        day += timedelta(days=1)
    return out


def _ms(moment: datetime) -> int:
    return math.floor(moment.timestamp() * 1000)
