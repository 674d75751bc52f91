"""A day at home without the kitchen, hours longer than any history day: a skipped meal.

The 10-90% spread of "minutes at home without the kitchen" is wide around dinner (dinner
wanders), so the routine model alone let such a day score under the alert line. Beyond
the longest stretch of the history each minute weighs by the scale's floor.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import orjson
import pytest

from sst_ai_training.fit import fit_model
from sst_core.features import Event, history_days
from sst_core.routine_model import (
    EXTREME_MIN_DAYS,
    SCALE_FLOORS,
    ArtifactError,
    RoutineModel,
    deviations,
    risk,
)
from tests.ai_training.test_features import LONDON, at, days_of, ordinary_day

DAY = date(2026, 3, 25)


def _history(days: int) -> RoutineModel:
    usual = [e for d in range(days + 1) for e in ordinary_day(DAY - timedelta(days=days + 2 - d))]
    return fit_model(list(history_days(usual, LONDON)), resident_id=1)


def _skipped_meals() -> dict[str, float]:
    """20:00 of a day at home: breakfast at 07:45, then the living room, no lunch or dinner."""
    events = [
        Event(at(DAY - timedelta(days=1), "22:40"), "bed", "bedroom", 1.0),
        Event(at(DAY, "07:05"), "bed", "bedroom", 0.0),
        Event(at(DAY, "07:45"), "motion", "kitchen", 1.0),
        *[
            Event(at(DAY, f"{h:02d}:{m:02d}"), "motion", "living", 1.0)
            for h in range(8, 21)
            for m in (10, 40)
        ],
        *ordinary_day(DAY + timedelta(days=1)),
    ]
    return days_of(events)[DAY].hourly[20]


def test_the_longest_stretch_of_the_history_is_kept_only_for_a_long_history() -> None:
    model = _history(EXTREME_MIN_DAYS + 2)
    assert model.extremes is not None
    longest = model.extremes["since_last_kitchen"]
    # Ordinary days: dinner at 18:30, then nothing moves until 22:00: at 19:00 30 min, at
    # 20:00 90 min, at 21:00 none (a stillness of over 90 minutes is left out).
    assert longest[20] == pytest.approx(90, abs=0.1)
    assert _history(EXTREME_MIN_DAYS - 2).extremes is None
    # The artifact keeps it; a malformed table is refused.
    assert RoutineModel.from_json(model.to_json()) == model
    doc = orjson.loads(model.to_json())
    doc["extremes"]["since_last_kitchen"] = longest[:24]
    with pytest.raises(ArtifactError, match="longest-stretch"):
        RoutineModel.from_json(orjson.dumps(doc))


def test_a_day_at_home_without_the_kitchen_weighs_beyond_the_longest_stretch() -> None:
    model = _history(EXTREME_MIN_DAYS + 2)
    assert model.extremes is not None
    without = dataclasses.replace(model, extremes=None)
    snap = _skipped_meals()
    assert snap["since_last_kitchen"] == pytest.approx(735, abs=0.1)
    centre, scale = model.scored_hourly["since_last_kitchen"][20]
    longest = model.extremes["since_last_kitchen"][20]
    expected_z = (longest - centre) / scale + (735 - longest) / SCALE_FLOORS["since_last_kitchen"]
    _, parts = deviations(model, snap, day=DAY, minute=20 * 60)
    kitchen = next(p for p in parts if p.feature == "since_last_kitchen")
    assert kitchen.contribution == pytest.approx((expected_z - 1) ** 2)
    _, parts_before = deviations(without, snap, day=DAY, minute=20 * 60)
    before = next(p for p in parts_before if p.feature == "since_last_kitchen")
    assert kitchen.contribution > before.contribution
    assert risk(model, snap, day=DAY, minute=20 * 60).score >= 75
    # Within the longest stretch nothing changes: an ordinary evening scores as before.
    ordinary = days_of([e for d in (-1, 0, 1) for e in ordinary_day(DAY + timedelta(days=d))])
    for hour in range(25):
        snap = ordinary[DAY].hourly[hour]
        assert deviations(model, snap, day=DAY, minute=hour * 60.0) == deviations(
            without, snap, day=DAY, minute=hour * 60.0
        )
