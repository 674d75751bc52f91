"""The simulator's day generator: schema-valid, local-time routines, sparse motion."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from sst_core.messages import MAX_READINGS_PER_MESSAGE, ReadingIn, TelemetryIn
from sst_devices.hub_agent import telemetry_payload
from sst_devices.life import SimHome, SimSensor, day_readings, readings_between
from tests.factories import STANDARD_LAYOUT

SENSORS = tuple(
    SimSensor(key, kind, room_kind, room_name)
    for room_name, room_kind, sensors in STANDARD_LAYOUT
    for key, kind in sensors
)
WEEK = [date(2024, 5, 6) + timedelta(days=i) for i in range(7)]
ZONES = ["Asia/Seoul", "America/New_York"]


def make(zone: str, serial: str = "sim-hub-1") -> SimHome:
    return SimHome(hub_serial=serial, timezone=zone, sensors=SENSORS)


def local(ts_ms: int, zone: str) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz=ZoneInfo(zone))


@pytest.mark.parametrize("zone", ZONES)
def test_readings_are_schema_valid_and_sendable(zone: str) -> None:
    home = make(zone)
    readings = [r for day in WEEK for r in day_readings(home, day, seed=7)]
    assert readings
    for start in range(0, len(readings), MAX_READINGS_PER_MESSAGE):
        batch = readings[start : start + MAX_READINGS_PER_MESSAGE]
        message = TelemetryIn.model_validate_json(telemetry_payload(batch))
        assert [(r.sensor, r.ts, r.value) for r in message.readings] == batch
    keys = {s.key for s in SENSORS}
    assert {key for key, _, _ in readings} <= keys
    assert all(isinstance(ReadingIn(sensor=k, ts=t, value=v), ReadingIn) for k, t, v in readings)
    # The gateway stores (sensor, time) once: the generator never repeats one.
    assert len({(k, t) for k, t, _ in readings}) == len(readings)


@pytest.mark.parametrize("zone", ZONES)
def test_in_bed_at_night_and_up_in_the_afternoon_in_home_time(zone: str) -> None:
    home = make(zone)
    night, afternoon = [], []
    for day in WEEK:
        for key, ts, value in day_readings(home, day, seed=3):
            moment = local(ts, zone)
            if key != "bed-pressure" or moment.date() != day:
                continue
            if 0 <= moment.hour < 5:
                night.append(value)
            elif 13 <= moment.hour < 17:
                afternoon.append(value)
    # Half-hourly state: 10 per night; a trip to the bathroom may take a slot.
    assert len(night) >= 70
    assert sum(night) / len(night) >= 0.9
    assert afternoon and set(afternoon) == {0.0}


def test_the_same_day_is_lived_at_local_not_utc_hours() -> None:
    seoul = day_readings(make("Asia/Seoul"), WEEK[0], seed=3)
    new_york = day_readings(make("America/New_York"), WEEK[0], seed=3)
    # Same seed and serial, same plan: identical local clock times, 13 hours apart in UTC.
    seoul_local = [(k, local(t, "Asia/Seoul").strftime("%H:%M")) for k, t, _ in seoul]
    ny_local = [(k, local(t, "America/New_York").strftime("%H:%M")) for k, t, _ in new_york]
    assert seoul_local == ny_local
    assert new_york[0][1] - seoul[0][1] == pytest.approx(13 * 3600 * 1000, abs=1000)


@pytest.mark.parametrize("zone", ZONES)
def test_morning_kettle_and_flushes_follow_the_routine(zone: str) -> None:
    home = make(zone)
    mornings_with_kettle = 0
    for day in WEEK:
        readings = day_readings(home, day, seed=11)
        kettle_on = [local(t, zone) for k, t, v in readings if k == "kettle-plug" and v > 0]
        if any(5 <= m.hour < 10 for m in kettle_on):
            mornings_with_kettle += 1
        assert all(1500 < v < 2500 for k, _, v in readings if k == "kettle-plug" and v > 0)
        assert any(k == "toilet-flush" for k, _, _ in readings)
    assert mornings_with_kettle >= 5


@pytest.mark.parametrize("zone", ZONES)
def test_motion_is_sparse_and_quiet_at_night(zone: str) -> None:
    home = make(zone)
    for day in WEEK:
        readings = day_readings(home, day, seed=5)
        motion = [(k, t) for k, t, _ in readings if k.endswith("-motion")]
        assert 30 <= len(motion) <= 250, len(motion)
        by_sensor: dict[str, list[int]] = defaultdict(list)
        for key, ts in motion:
            by_sensor[key].append(ts)
        for times in by_sensor.values():
            assert all(b - a >= 60_000 for a, b in pairwise(times))
        at_night = [t for _, t in motion if 1 <= local(t, zone).hour < 5]
        assert len(at_night) <= 10


def test_door_opens_and_closes_in_pairs() -> None:
    home = make("Asia/Seoul")
    outings = 0
    for day in WEEK:
        door = [v for k, _, v in day_readings(home, day, seed=2) if k == "front-door"]
        assert door == [1.0, 0.0] * (len(door) // 2)
        outings += len(door) // 4  # leave (open, close) and return (open, close)
    assert outings >= 2


def test_any_window_is_the_same_life() -> None:
    home = make("Asia/Seoul")
    start = int(datetime(2024, 5, 6, 20, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)
    middle, end = start + 7 * 3_600_000 + 123, start + 30 * 3_600_000
    whole = readings_between(home, start, end, seed=9)
    assert whole == readings_between(home, start, middle, 9) + readings_between(
        home, middle, end, 9
    )
    assert [t for _, t, _ in whole] == sorted(t for _, t, _ in whole)
    assert all(start <= t < end for _, t, _ in whole)
    assert readings_between(home, end, start, 9) == []
    assert whole != readings_between(home, start, end, seed=10)


def test_temperature_every_five_minutes_even_on_a_short_dst_day() -> None:
    zone = "America/New_York"
    day = date(2024, 3, 10)  # clocks go forward: a 23-hour day
    readings = day_readings(make(zone), day, seed=1)
    start = datetime(2024, 3, 10, tzinfo=ZoneInfo(zone)).timestamp() * 1000
    end = datetime(2024, 3, 11, tzinfo=ZoneInfo(zone)).timestamp() * 1000
    assert all(start <= t < end for _, t, _ in readings)
    temps = [v for k, _, v in readings if k == "living-temp"]
    assert len(temps) >= 23 * 12 - 1
    assert all(17 < v < 25 for v in temps)


def test_a_home_with_few_sensors_still_lives() -> None:
    home = SimHome("sim-hub-small", "Europe/Paris", (SimSensor("pir", "motion", None, None),))
    readings = day_readings(home, WEEK[0], seed=1)
    # A motion sensor without a room belongs to no room's stays: nothing to report.
    assert readings == ()
    bedroom_only = SimHome(
        "sim-hub-bed", "Europe/Paris", (SimSensor("bed", "bed", "bedroom", "Bedroom"),)
    )
    assert {k for k, _, _ in day_readings(bedroom_only, WEEK[0], seed=1)} == {"bed"}
