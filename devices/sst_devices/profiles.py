"""Resident profiles and labelled months of life, for evaluating detection (`make bench-detect`).

A profile is how a resident lives (sst_devices.life.Profile: wake and bed times, night trips
to the toilet, outings, pace). `labelled_life` draws months of days for a home and injects,
on some days, an anomaly that must be caught (a fall, a long inactivity, wandering out of
the door at night, a prolonged bathroom stay, skipped meals, a gradual decline) or a
harmless change that must not alert (a visitor, a day out, a late night), and returns the
readings with the labels: what happened, from when to when, in UTC.

Deterministic: the same home, profile, dates and seed give the same readings and labels.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sst_core.domain import RoomKind, SensorKind
from sst_devices.life import (
    AWAY,
    LEAVE,
    OUT,
    REST,
    RETURN,
    SITTING,
    SLEEP,
    STILL,
    Profile,
    Reading,
    SimHome,
    Stay,
    day_rng,
    plan_day,
    plan_readings,
)

PROFILES: dict[str, Profile] = {
    "early_riser": Profile(
        name="early_riser",
        wake_mean=5.75 * 60,
        wake_range=(5 * 60, 7 * 60),
        bedtime_mean=21.25 * 60,
        bedtime_range=(20.5 * 60, 22.5 * 60),
    ),
    "night_owl": Profile(
        name="night_owl",
        wake_mean=8.5 * 60,
        wake_range=(7.5 * 60, 9.5 * 60),
        bedtime_mean=23.5 * 60,
        bedtime_range=(22.5 * 60, 23 * 60 + 55),
    ),
    "night_bathroom": Profile(
        name="night_bathroom",
        night_trip_weights=(0.05, 0.2, 0.35, 0.3, 0.1),
    ),
    "often_out": Profile(name="often_out", outing_chance=0.95, outing_minutes=(90, 240)),
    "frail": Profile(name="frail", pace=1.5, still_factor=0.6, outing_chance=0.15),
}


class Anomaly(StrEnum):
    """Something a carer must hear about."""

    FALL = "fall"
    LONG_INACTIVITY = "long_inactivity"
    NIGHT_WANDERING = "night_wandering"
    PROLONGED_BATHROOM = "prolonged_bathroom"
    SKIPPED_MEALS = "skipped_meals"
    GRADUAL_DECLINE = "gradual_decline"


class Harmless(StrEnum):
    """A change of routine that must not alert anyone."""

    VISITOR = "visitor"
    DAY_OUT = "day_out"
    LATE_NIGHT = "late_night"


DAY_EVENTS: tuple[Anomaly, ...] = tuple(a for a in Anomaly if a != Anomaly.GRADUAL_DECLINE)


@dataclass(frozen=True)
class Label:
    """One injected event: what, whether it must alert, and when (UTC)."""

    kind: str
    harmful: bool
    start: datetime
    end: datetime


@dataclass
class LabelledLife:
    """Readings of a home over some days, in time order, with the injected events."""

    readings: list[Reading]
    labels: list[Label]


def _cut(plan: list[Stay], start: float, end: float, inserted: list[Stay]) -> list[Stay]:
    """The plan with [start, end) replaced by `inserted` (stays around it trimmed)."""
    out: list[Stay] = []
    for stay in plan:
        if stay.end <= start or stay.start >= end:
            out.append(stay)
            continue
        if stay.start < start:
            out.append(replace(stay, end=start))
        if stay.end > end:
            out.append(replace(stay, start=end))
    out.extend(inserted)
    return sorted(out, key=lambda s: s.start)


def _place_at(plan: list[Stay], minute: float) -> str:
    for stay in plan:
        if stay.start <= minute < stay.end:
            return stay.place
    return RoomKind.LIVING


def _awake_span(plan: list[Stay]) -> tuple[float, float]:
    awake = [s for s in plan if s.activity != SLEEP]
    return awake[0].start, awake[-1].end


class _Day:
    """One day being made: its plan, extra readings, labels (in local minutes)."""

    def __init__(self, home: SimHome, day: date, profile: Profile, rng: random.Random) -> None:
        self.home, self.day, self.profile, self.rng = home, day, profile, rng
        self.plan = plan_day(rng, profile)
        self.extra: list[tuple[str, float, float]] = []
        self.labels: list[tuple[str, bool, float, float]] = []

    def anomaly(self, kind: Anomaly, pick: random.Random) -> None:
        u = pick.uniform
        up, down = _awake_span(self.plan)
        if kind == Anomaly.FALL:
            at = u(up + 60, down - 90)
            place = _place_at(self.plan, at)
            place = RoomKind.LIVING if place in (OUT, RoomKind.ENTRANCE) else place
            lying = u(120, 300)  # found and helped up after this long
            self.plan = _cut(self.plan, at, at + lying, [Stay(at, at + lying, place, STILL)])
            if pick.random() < 0.8 and (pendant := self.home.find(SensorKind.FALL_DETECTOR)):
                self.extra.append((pendant, at + 0.1, 1.0))  # the pendant was worn
            self.labels.append((kind, True, at, at + lying))
        elif kind == Anomaly.LONG_INACTIVITY:
            at, minutes = u(10 * 60, 14 * 60), u(240, 360)
            self.plan = _cut(
                self.plan, at, at + minutes, [Stay(at, at + minutes, RoomKind.LIVING, SITTING)]
            )
            self.labels.append((kind, True, at, at + minutes))
        elif kind == Anomaly.NIGHT_WANDERING:
            at, minutes = u(60, 4 * 60), u(45, 120)
            walk = [
                Stay(at, at + 1.5, RoomKind.ENTRANCE, LEAVE),
                Stay(at + 1.5, at + 1.5 + minutes, OUT, AWAY),
                Stay(at + 1.5 + minutes, at + 3 + minutes, RoomKind.ENTRANCE, RETURN),
            ]
            self.plan = _cut(self.plan, at, at + 3 + minutes, walk)
            self.labels.append((kind, True, at, at + 3 + minutes))
        elif kind == Anomaly.PROLONGED_BATHROOM:
            at, minutes = u(up + 30, down - 150), u(70, 150)
            self.plan = _cut(
                self.plan, at, at + minutes, [Stay(at, at + minutes, RoomKind.BATHROOM, REST)]
            )
            self.labels.append((kind, True, at, at + minutes))
        elif kind == Anomaly.SKIPPED_MEALS:
            meals = [s for s in self.plan if s.place == RoomKind.KITCHEN and s.start > up + 90]
            for meal in meals:
                self.plan = _cut(
                    self.plan,
                    meal.start,
                    meal.end,
                    [replace(meal, place=RoomKind.LIVING, activity=REST)],
                )
            self.labels.append((kind, True, up, down))

    def harmless(self, kind: Harmless, pick: random.Random) -> None:
        u = pick.uniform
        if kind == Harmless.VISITOR:
            at, minutes = u(14 * 60, 17 * 60), u(60, 150)
            door = self.home.find(SensorKind.DOOR, RoomKind.ENTRANCE)
            if door:
                for moment in (at, at + minutes):
                    self.extra += [(door, moment, 1.0), (door, moment + 0.3, 0.0)]
            rooms = [RoomKind.KITCHEN, RoomKind.LIVING, RoomKind.BATHROOM]
            m = at + 1
            while m < at + minutes:  # the visitor moves about too
                if key := self.home.find(SensorKind.MOTION, pick.choice(rooms)):
                    self.extra.append((key, m, 1.0))
                m += u(4, 12)
            self.labels.append((kind, False, at, at + minutes))
        elif kind == Harmless.DAY_OUT:
            up, _ = _awake_span(self.plan)
            leave = max(up + 90, u(9.5 * 60, 10.5 * 60))
            back = u(18 * 60, 20 * 60)
            trip = [
                Stay(leave, leave + 1.5, RoomKind.ENTRANCE, LEAVE),
                Stay(leave + 1.5, back, OUT, AWAY),
                Stay(back, back + 1.5, RoomKind.ENTRANCE, RETURN),
            ]
            self.plan = _cut(self.plan, leave, back + 1.5, trip)
            self.labels.append((kind, False, leave, back + 1.5))
        elif kind == Harmless.LATE_NIGHT:
            # Up until nearly midnight in the living room; the next day starts later.
            bed = [s for s in self.plan if s.activity == SLEEP][-1]
            late = 23 * 60 + 50
            if bed.start < late:
                self.plan = _cut(
                    self.plan,
                    bed.start,
                    late,
                    [Stay(bed.start, late, RoomKind.LIVING, REST)],
                )
            self.labels.append((kind, False, bed.start, 24 * 60 + 12 * 60))

    def readings(self) -> list[Reading]:
        made = list(plan_readings(self.home, self.day, self.plan, self.rng, self.profile))
        midnight = datetime.combine(self.day, time(), tzinfo=ZoneInfo(self.home.timezone))
        for key, minute, value in self.extra:
            ts = int((midnight + timedelta(minutes=minute)).timestamp() * 1000)
            made.append((key, ts, value))
        return sorted(set(made), key=lambda r: (r[1], r[0]))


def declined(profile: Profile, progress: float) -> Profile:
    """The profile `progress` (0..1) into a gradual decline: slower, later, rarely out."""
    return replace(
        profile,
        wake_mean=profile.wake_mean + 50 * progress,
        pace=profile.pace * (1 + 0.6 * progress),
        still_factor=profile.still_factor * (1 - 0.4 * progress),
        outing_chance=profile.outing_chance * (1 - 0.8 * progress),
    )


def labelled_life(
    home: SimHome,
    profile: Profile,
    first: date,
    days: int,
    seed: int,
    *,
    anomaly_chance: float = 0.15,
    harmless_chance: float = 0.2,
    decline_days: int = 0,
) -> LabelledLife:
    """`days` of a home's life from `first`, with labelled injected events.

    Each day has an anomaly with `anomaly_chance`, else a harmless change with
    `harmless_chance`; the last `decline_days` days are a gradual decline (one label).
    A day after a late night starts an hour and a half later.
    """
    pick = random.Random(f"events:{seed}:{home.hub_serial}")
    zone = ZoneInfo(home.timezone)
    readings: list[Reading] = []
    labels: list[Label] = []
    late_before = False
    for offset in range(days):
        day = first + timedelta(days=offset)
        today = profile
        if decline_days and offset >= days - decline_days:
            today = declined(profile, (offset - (days - decline_days) + 1) / decline_days)
        if late_before:
            today = replace(today, wake_mean=today.wake_mean + 90)
        made = _Day(home, day, today, day_rng(home, day, seed))
        late_before = False
        roll = pick.random()
        if offset > 0 and roll < anomaly_chance:
            made.anomaly(pick.choice(DAY_EVENTS), pick)
        elif offset > 0 and roll < anomaly_chance + harmless_chance:
            change = pick.choice(list(Harmless))
            made.harmless(change, pick)
            late_before = change == Harmless.LATE_NIGHT
        readings.extend(made.readings())
        midnight = datetime.combine(day, time(), tzinfo=zone)
        for kind, harmful, start, end in made.labels:
            labels.append(
                Label(
                    kind,
                    harmful,
                    (midnight + timedelta(minutes=start)).astimezone(UTC),
                    (midnight + timedelta(minutes=end)).astimezone(UTC),
                )
            )
    if decline_days:
        began = datetime.combine(first + timedelta(days=days - decline_days), time(), tzinfo=zone)
        ended = datetime.combine(first + timedelta(days=days), time(), tzinfo=zone)
        labels.append(
            Label(Anomaly.GRADUAL_DECLINE, True, began.astimezone(UTC), ended.astimezone(UTC))
        )
    return LabelledLife(readings=readings, labels=labels)


def iter_profiles() -> Iterator[Profile]:
    """Every named profile, in a stable order."""
    return iter(PROFILES.values())
