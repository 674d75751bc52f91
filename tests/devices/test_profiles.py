"""Resident profiles and labelled lives for the detection benchmark."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sst_core.domain import RoomKind
from sst_devices.life import SimHome, SimSensor, day_readings
from sst_devices.profiles import PROFILES, Anomaly, Harmless, labelled_life
from tests.factories import STANDARD_LAYOUT

SENSORS = tuple(
    SimSensor(key, kind, room_kind, room_name)
    for room_name, room_kind, sensors in STANDARD_LAYOUT
    for key, kind in sensors
)
ZONE = "Europe/Berlin"
FIRST = date(2024, 9, 2)
HOME = SimHome(hub_serial="profile-hub", timezone=ZONE, sensors=SENSORS)


def _local_minutes(ts: int) -> float:
    local = datetime.fromtimestamp(ts / 1000, tz=ZoneInfo(ZONE))
    return local.hour * 60 + local.minute


def _first_kitchen(profile_name: str) -> float:
    """Median local minute of the first kitchen movement over four weeks."""
    firsts = []
    for i in range(28):
        readings = day_readings(HOME, FIRST + timedelta(days=i), 3, PROFILES[profile_name])
        firsts.append(min(_local_minutes(ts) for k, ts, _ in readings if k == "kitchen-motion"))
    return statistics.median(firsts)


def _count(profile_name: str, key: str, before_minute: float = 24 * 60) -> float:
    total = 0
    for i in range(28):
        readings = day_readings(HOME, FIRST + timedelta(days=i), 3, PROFILES[profile_name])
        total += sum(1 for k, ts, _ in readings if k == key and _local_minutes(ts) < before_minute)
    return total / 28


def test_profiles_live_as_their_names_say() -> None:
    assert _first_kitchen("early_riser") + 90 < _first_kitchen("night_owl")
    night_trips = _count("night_bathroom", "bathroom-motion", before_minute=5 * 60)
    assert night_trips > 1.5 * _count("early_riser", "bathroom-motion", before_minute=5 * 60)
    assert _count("often_out", "front-door") > 2 * _count("frail", "front-door")
    assert _count("frail", "living-motion") < _count("often_out", "living-motion") * 1.5


def test_labelled_life_is_deterministic_and_its_labels_are_true() -> None:
    life = labelled_life(HOME, PROFILES["frail"], FIRST, 60, seed=5, decline_days=14)
    again = labelled_life(HOME, PROFILES["frail"], FIRST, 60, seed=5, decline_days=14)
    assert life.readings == again.readings and life.labels == again.labels
    assert life.readings == sorted(life.readings, key=lambda r: (r[1], r[0]))
    assert len({(k, ts) for k, ts, _ in life.readings}) == len(life.readings)

    kinds = {label.kind for label in life.labels}
    assert {Anomaly.FALL, Anomaly.LONG_INACTIVITY, Anomaly.NIGHT_WANDERING} <= kinds
    assert {Harmless.VISITOR, Harmless.DAY_OUT} & kinds
    assert all(label.harmful == (label.kind in set(Anomaly)) for label in life.labels)
    [decline] = [label for label in life.labels if label.kind == Anomaly.GRADUAL_DECLINE]
    # 14 local days (one of them 25 h long: the clocks go back on 27 October).
    local_start, local_end = (t.astimezone(ZoneInfo(ZONE)) for t in (decline.start, decline.end))
    assert (local_start.date(), local_end.date()) == (FIRST + timedelta(46), FIRST + timedelta(60))
    assert local_start.hour == local_end.hour == 0

    def during(label_start: datetime, label_end: datetime) -> list[tuple[str, int, float]]:
        lo, hi = label_start.timestamp() * 1000, label_end.timestamp() * 1000
        return [r for r in life.readings if lo <= r[1] < hi]

    motion = {s.key for s in SENSORS if s.kind == "motion"}
    for label in life.labels:
        inside = during(label.start + timedelta(minutes=1), label.end - timedelta(minutes=1))
        if label.kind == Anomaly.LONG_INACTIVITY:
            assert not [r for r in inside if r[0] in motion], label
        if label.kind == Anomaly.NIGHT_WANDERING:
            doors = [r for r in during(label.start, label.end) if r[0] == "front-door"]
            assert [v for _, _, v in doors][:1] == [1.0], label  # she opened the door
            hour = label.start.astimezone(ZoneInfo(ZONE)).hour
            assert 1 <= hour < 4
            assert not [r for r in inside if r[0] in motion]
        if label.kind == Anomaly.PROLONGED_BATHROOM:
            rooms = {r[0] for r in inside if r[0] in motion}
            assert rooms <= {"bathroom-motion"}, label
    assert all(label.start.tzinfo is UTC for label in life.labels)
    assert RoomKind.BATHROOM  # the standard flat has one (the fall detector's room)
