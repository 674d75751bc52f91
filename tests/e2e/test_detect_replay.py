"""`make bench-detect`'s replay raises the labelled alerts through the real processes.

Two simulated homes, two days each: a fall (the pendant worn) in one, wandering out of the
front door at night in the other. Their readings go over MQTT to the real gateway and
inference processes on private stores (bench/detect_stack.py), with inference's windowed
rules on the driven clock (bench/detect_replay.py). The alerts read back from PostgreSQL
must catch both events at the right simulated time, and be the very alerts the rules' own
code decides in-process on the same readings (bench/detect_direct.py).
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from detect_direct import home, run_rules  # noqa: E402
from detect_replay import ReplayHome, replay  # noqa: E402
from detect_scoring import Tally  # noqa: E402
from detect_stack import HomeSpec, Platform  # noqa: E402

from sst_core.thresholds import RuleName  # noqa: E402
from sst_devices.profiles import PROFILES, Anomaly, LabelledLife, labelled_life  # noqa: E402

pytestmark = pytest.mark.e2e

ZONE = "Europe/Berlin"
FIRST = date(2024, 10, 1)
DAYS = 2


def life_with(profile: str, serial: str, anomaly: Anomaly) -> tuple[LabelledLife, HomeSpec]:
    """Two days of a home whose second day holds `anomaly` (the first seed that draws it)."""
    sim, _ = home(serial, ZONE)
    for seed in range(1, 500):
        life = labelled_life(
            sim, PROFILES[profile], FIRST, DAYS, seed=seed, anomaly_chance=1.0, harmless_chance=0
        )
        kinds = [label.kind for label in life.labels]
        pendant = any(key == "fall-1" and value >= 1 for key, _, value in life.readings)
        if kinds == [anomaly] and (anomaly != Anomaly.FALL or pendant):
            wake = round(PROFILES[profile].wake_mean / 15) / 4
            return life, HomeSpec(f"{profile}-0", serial, ZONE, wake)
    raise AssertionError(f"no seed draws {anomaly} for {profile}")


def test_replay_through_the_real_processes_raises_the_fall_and_the_night_exit() -> None:
    fall_life, fall_spec = life_with("early_riser", "replay-fall", Anomaly.FALL)
    door_life, door_spec = life_with("night_owl", "replay-door", Anomaly.NIGHT_WANDERING)
    homes = []
    for life, spec in ((fall_life, fall_spec), (door_life, door_spec)):
        _, infos = home(spec.serial, ZONE)
        homes.append(ReplayHome(spec, {k: i.kind for k, i in infos.items()}, life))
    zone = ZoneInfo(ZONE)
    start = datetime.combine(FIRST, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    end = start + timedelta(days=DAYS)
    platform = Platform(tag=f"test{int(time.time())}", routine_interval_s=0)
    raised, stats = asyncio.run(
        replay(platform, homes, start=start, end=end, step=timedelta(hours=1), model=False)
    )

    assert stats.steps == DAYS * 24
    assert stats.dead_letters == 0
    assert stats.readings_published == len(fall_life.readings) + len(door_life.readings)
    fall_home, door_home = homes
    # The fall: the pendant's reading raises it at the reading's own (simulated) time.
    fall_label = fall_life.labels[0]
    pendant_at = next(
        datetime.fromtimestamp(ts / 1000, tz=UTC)
        for key, ts, value in fall_life.readings
        if key == "fall-1" and value >= 1
    )
    falls = [a for a in raised[fall_home.resident_id] if a.kind == "fall"]
    assert [a.decided_at for a in falls] == [pendant_at]
    assert fall_label.start <= pendant_at <= fall_label.start + timedelta(minutes=1)
    # The night exit: judged on the driven clock's 5-minute grid, 20 min after the door at
    # the earliest, while she is still out.
    door_label = door_life.labels[0]
    exits = [a for a in raised[door_home.resident_id] if a.kind == "night_exit"]
    assert len(exits) == 1
    judged = exits[0].decided_at
    assert door_label.start + timedelta(minutes=20) <= judged <= door_label.end
    assert (judged - start).total_seconds() % 300 == 0
    # Scored as the bench scores: both caught, nothing else raised.
    tally = Tally()
    tally.add("early_riser", fall_life.labels, raised[fall_home.resident_id])
    tally.add("night_owl", door_life.labels, raised[door_home.resident_id])
    figures = tally.figures(1, DAYS)
    assert figures["per_anomaly"]["fall"]["sensitivity"] == 1.0
    assert figures["per_anomaly"]["night_wandering"]["sensitivity"] == 1.0
    # The same decisions as the rules' own code on the same readings, in-process.
    for replayed_home in homes:
        _, infos = home(replayed_home.spec.serial, ZONE)
        overrides = {RuleName.NO_WAKE_UP: {"wake_hour": replayed_home.spec.wake_hour}}
        expected, _ = run_rules(
            replayed_home.life.readings,
            infos,
            zone,
            start,
            end,
            timedelta(minutes=5),
            overrides,
        )
        got = raised[replayed_home.resident_id]
        assert sorted((a.kind, a.decided_at) for a in got) == sorted(
            (a.kind, a.decided_at) for a in expected
        ), replayed_home.spec.name
