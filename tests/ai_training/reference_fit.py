"""The slow reference: fit.py as it was before training was vectorised (kept verbatim).

test_fast_paths.py checks that the vectorised fit, calibration and evaluation give the
same numbers as this: scikit-learn's RobustScaler, and `deviations`/`risk` called for
every day-hour one by one. Do not "optimise" this file: its slowness is the point. The
longest-stretch tables (`extremes`, added after vectorising) are written here as plain loops.

Fitting a routine model with scikit-learn, and evaluating it on held-out days.

The numbers fitted here are those sst_core.routine_model scores with (see its docstring
for the model). Evaluation holds out the most recent days, fits on the rest and reports
how often an ordinary held-out day would have raised an alert, and how often two
synthetic emergencies made from those same days would have been caught.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.preprocessing import RobustScaler

from sst_core.features import DayRecord
from sst_core.routine_model import (
    DAILY_DIRECTIONS,
    EXTREME_FEATURES,
    EXTREME_MIN_DAYS,
    HOURLY_DIRECTIONS,
    MIN_CALIBRATION,
    Prior,
    RoutineModel,
    deviations,
    risk,
)

HOURLY = tuple(HOURLY_DIRECTIONS)
DAILY = tuple(DAILY_DIRECTIONS)
SHRINK_DAYS = 3.0  # an hour-of-week cell counts as this many days of the same hour overall
CALIBRATION_QUANTILE = 99.5
# Spread from the 10th to the 90th percentile (about 2.6 standard deviations of a normal
# variable): daily life is heavy-tailed, and the inter-quartile range alone cries wolf.
QUANTILE_RANGE = (10.0, 90.0)
POOLED = ("since_last_activity", "since_last_kitchen", "since_last_bathroom")
HELD_OUT_SHARE = 0.2
MIN_HELD_OUT = 3


def fit_model(
    records: Sequence[DayRecord], *, resident_id: int | None, prior: Prior = "own"
) -> RoutineModel:
    """Fit a routine model on complete history days (at least two)."""
    if len(records) < 2:
        raise ValueError(f"a routine model needs at least 2 complete days, got {len(records)}")
    n_days, n_features = len(records), len(HOURLY)
    # One RobustScaler over (day, hour x feature): median and IQR of each feature at each hour.
    hourly = np.array(
        [[rec.hourly[h][f] for h in range(25) for f in HOURLY] for rec in records], dtype=float
    )
    scaler = RobustScaler(quantile_range=QUANTILE_RANGE).fit(hourly)
    centre = scaler.center_.reshape(25, n_features).copy()
    scale = scaler.scale_.reshape(25, n_features).copy()
    # "Minutes since the kitchen" hinges on when meals fall, which wanders by an hour:
    # learn those features from the hour before and after too (one fit: the pooled
    # columns, padded with NaN at the day's ends, which RobustScaler leaves out).
    pooled_idx = [i for i, f in enumerate(HOURLY) if f in POOLED]
    by_hour = hourly.reshape(n_days, 25, n_features)[:, :, pooled_idx]
    padded = np.full((n_days, 27, len(pooled_idx)), np.nan)
    padded[:, 1:26, :] = by_hour
    stacked = np.concatenate([padded[:, k : k + 25, :] for k in range(3)], axis=0)
    pooled = RobustScaler(quantile_range=QUANTILE_RANGE).fit(stacked.reshape(3 * n_days, -1))
    centre[:, pooled_idx] = pooled.center_.reshape(25, len(pooled_idx))
    scale[:, pooled_idx] = pooled.scale_.reshape(25, len(pooled_idx))
    daily_x = np.array([[rec.daily[f] for f in DAILY] for rec in records], dtype=float)
    daily_scaler = RobustScaler(quantile_range=QUANTILE_RANGE).fit(daily_x)
    # A resident without a bed sensor may have no wake-up times: typical values stand in.
    daily = {
        f: (
            _finite(daily_scaler.center_[i], 420.0 if f == "wake" else 0.0),
            _finite(daily_scaler.scale_[i], 1.0),
        )
        for i, f in enumerate(DAILY)
    }
    table, dispersion = _hour_of_week(records)
    model = RoutineModel(
        resident_id=resident_id,
        prior=prior,
        days=n_days,
        hourly={
            f: [(float(centre[h, i]), float(scale[h, i])) for h in range(25)]
            for i, f in enumerate(HOURLY)
        },
        daily=daily,
        hour_of_week=table,
        dispersion=dispersion,
        calibration=1.0,
        extremes=_extremes(records),
    )
    totals = [
        deviations(model, rec.hourly[h], day=rec.day, minute=h * 60)[0]
        for rec in records
        for h in range(1, 25)
    ]
    calibration = max(MIN_CALIBRATION, float(np.percentile(totals, CALIBRATION_QUANTILE)))
    return dataclasses.replace(model, calibration=calibration)


def _extremes(records: Sequence[DayRecord]) -> dict[str, list[float]] | None:
    """Per feature and hour, the largest value any day had at that hour or the next to it."""
    if len(records) < EXTREME_MIN_DAYS:
        return None
    tables: dict[str, list[float]] = {}
    for feature in EXTREME_FEATURES:
        longest = []
        for h in range(25):
            values = [
                rec.hourly[k][feature] for rec in records for k in (h - 1, h, h + 1) if 0 <= k <= 24
            ]
            longest.append(float(max(values)))
        tables[feature] = longest
    return tables


def _finite(value: float, default: float) -> float:
    return float(value) if math.isfinite(value) else default


def _hour_of_week(records: Sequence[DayRecord]) -> tuple[list[float], float]:
    """Expected activity per hour of the week, shrunk to the same hour on other days."""
    counts = np.array(
        [
            [
                rec.hourly[h + 1]["total_activity"] - rec.hourly[h]["total_activity"]
                for h in range(24)
            ]
            for rec in records
        ],
        dtype=float,
    )
    weekdays = np.array([rec.day.weekday() for rec in records])
    by_hour = counts.mean(axis=0)
    table = np.zeros((7, 24))
    for weekday in range(7):
        rows = counts[weekdays == weekday]
        table[weekday] = (rows.sum(axis=0) + SHRINK_DAYS * by_hour) / (len(rows) + SHRINK_DAYS)
    expected = table[weekdays]
    excess = ((counts - expected) ** 2 - expected).sum()
    dispersion = max(0.0, float(excess / max((expected**2).sum(), 1e-9)))
    return [float(x) for x in table.reshape(168)], dispersion


def _inactive_from(rec: DayRecord, start_hour: int, hours: int) -> tuple[dict[str, float], int]:
    """A synthetic emergency: nothing moves after `start_hour`; scored `hours` later."""
    snap = dict(rec.hourly[start_hour])
    for feature in ("since_last_activity", "since_last_kitchen", "since_last_bathroom"):
        snap[feature] += hours * 60
    snap["recent_activity"] = 0.0
    snap["out_now"] = 0.0
    return snap, (start_hour + hours) * 60


def _not_up(rec: DayRecord, at_hour: int) -> tuple[dict[str, float], int]:
    """A synthetic emergency: the resident never got up; scored at `at_hour`."""
    snap = dict(rec.hourly[4])
    for feature in ("since_last_activity", "since_last_kitchen", "since_last_bathroom"):
        snap[feature] += (at_hour - 4) * 60
    snap["recent_activity"] = 0.0
    snap["wake"] = float("nan")
    return snap, at_hour * 60


def evaluate(records: Sequence[DayRecord], *, threshold: int) -> dict[str, Any]:
    """Fit on all but the last days, score those; false alerts and synthetic detections."""
    held = max(MIN_HELD_OUT, round(len(records) * HELD_OUT_SHARE))
    train, test = records[:-held], records[-held:]
    if len(train) < 2:
        return {"held_out_days": 0, "note": "too few days to hold any out"}
    model = fit_model(train, resident_id=None)
    day_max = []
    for rec in test:
        scores = [
            risk(model, rec.hourly[h], day=rec.day, minute=h * 60).score for h in range(1, 25)
        ]
        day_max.append(max(scores))
    inactive = [
        risk(model, snap, day=rec.day, minute=minute).score
        for rec in test
        for snap, minute in [_inactive_from(rec, 10, 3)]
    ]
    not_up = [
        risk(model, snap, day=rec.day, minute=minute).score
        for rec in test
        for snap, minute in [_not_up(rec, 10)]
    ]
    false_days = sum(1 for score in day_max if score >= threshold)
    return {
        "held_out_days": len(test),
        "threshold": threshold,
        "false_alert_days": false_days,
        "false_alert_rate": false_days / len(test),
        "max_score_median": float(np.median(day_max)),
        "max_score_p95": float(np.percentile(day_max, 95)),
        "sensitivity_inactive_3h": sum(s >= threshold for s in inactive) / len(test),
        "sensitivity_not_up_by_10": sum(s >= threshold for s in not_up) / len(test),
    }
