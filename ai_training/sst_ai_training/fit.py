"""Fitting a routine model, and evaluating it on held-out days.

The numbers fitted here are those sst_core.routine_model scores with (see its docstring
for the model). Evaluation holds out the most recent days, fits on the rest and reports
how often an ordinary held-out day would have raised an alert, and how often two
synthetic emergencies made from those same days would have been caught.

Centres and scales are scikit-learn's RobustScaler's, computed in closed form over all
columns at once (batch.robust_fit); the calibration and the evaluation score every
day-hour in one array (batch.py). tests/ai_training/reference_fit.py keeps the
one-by-one version, and the tests check that both give the same numbers.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from sst_ai_training.batch import (
    COLUMN,
    DayTable,
    SnapshotBatch,
    deviation_totals,
    risk_scores,
    robust_fit,
)
from sst_core.features import DayRecord
from sst_core.routine_model import (
    DAILY_DIRECTIONS,
    EXTREME_FEATURES,
    EXTREME_MIN_DAYS,
    HOURLY_DIRECTIONS,
    MIN_CALIBRATION,
    Prior,
    RoutineModel,
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
    return fit_table(DayTable.of(records), resident_id=resident_id, prior=prior)


def fit_table(table: DayTable, *, resident_id: int | None, prior: Prior = "own") -> RoutineModel:
    """fit_model on days already laid out as arrays (evaluation reuses one table)."""
    records = table.records
    n_days, n_features = len(records), len(HOURLY)
    # Median and 10-90% spread of each feature at each hour, over the days.
    hourly = table.hourly[:, :, [COLUMN[f] for f in HOURLY]].reshape(n_days, -1)
    centre_flat, scale_flat = robust_fit(hourly, QUANTILE_RANGE)
    centre = centre_flat.reshape(25, n_features).copy()
    scale = scale_flat.reshape(25, n_features).copy()
    # "Minutes since the kitchen" hinges on when meals fall, which wanders by an hour:
    # learn those features from the hour before and after too (one fit: the pooled
    # columns, padded with NaN at the day's ends, which the quantiles leave out).
    pooled_idx = [i for i, f in enumerate(HOURLY) if f in POOLED]
    by_hour = hourly.reshape(n_days, 25, n_features)[:, :, pooled_idx]
    padded = np.full((n_days, 27, len(pooled_idx)), np.nan)
    padded[:, 1:26, :] = by_hour
    stacked = np.concatenate([padded[:, k : k + 25, :] for k in range(3)], axis=0)
    pooled_centre, pooled_scale = robust_fit(stacked.reshape(3 * n_days, -1), QUANTILE_RANGE)
    centre[:, pooled_idx] = pooled_centre.reshape(25, len(pooled_idx))
    scale[:, pooled_idx] = pooled_scale.reshape(25, len(pooled_idx))
    extremes = None
    if n_days >= EXTREME_MIN_DAYS:
        # The longest stretch of each day at the hour and the hour either side (the pooled
        # columns again), over all days.
        pooled_names = [HOURLY[i] for i in pooled_idx]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
            longest = np.nanmax(stacked, axis=0)
        columns = [pooled_names.index(f) for f in EXTREME_FEATURES]
        if np.isfinite(longest[:, columns]).all():
            extremes = {
                f: [float(x) for x in longest[:, c]]
                for f, c in zip(EXTREME_FEATURES, columns, strict=True)
            }
    daily_x = np.array([[rec.daily[f] for f in DAILY] for rec in records], dtype=float)
    daily_centre, daily_scale = robust_fit(daily_x, QUANTILE_RANGE)
    # A resident without a bed sensor may have no wake-up times: typical values stand in.
    daily = {
        f: (
            _finite(daily_centre[i], 420.0 if f == "wake" else 0.0),
            _finite(daily_scale[i], 1.0),
        )
        for i, f in enumerate(DAILY)
    }
    table_of_week, dispersion = _hour_of_week(table)
    model = RoutineModel(
        resident_id=resident_id,
        prior=prior,
        days=n_days,
        hourly={
            f: [(float(centre[h, i]), float(scale[h, i])) for h in range(25)]
            for i, f in enumerate(HOURLY)
        },
        daily=daily,
        hour_of_week=table_of_week,
        dispersion=dispersion,
        calibration=1.0,
        extremes=extremes,
    )
    totals = deviation_totals(model, table.hours(1, 24))
    calibration = max(MIN_CALIBRATION, float(np.percentile(totals, CALIBRATION_QUANTILE)))
    return dataclasses.replace(model, calibration=calibration)


def _finite(value: float, default: float) -> float:
    return float(value) if math.isfinite(value) else default


def _hour_of_week(table: DayTable) -> tuple[list[float], float]:
    """Expected activity per hour of the week, shrunk to the same hour on other days."""
    total = table.hourly[:, :, COLUMN["total_activity"]]
    counts = total[:, 1:] - total[:, :-1]
    weekdays = table.week_start // 24
    by_hour = counts.mean(axis=0)
    week = np.zeros((7, 24))
    for weekday in range(7):
        rows = counts[weekdays == weekday]
        week[weekday] = (rows.sum(axis=0) + SHRINK_DAYS * by_hour) / (len(rows) + SHRINK_DAYS)
    expected = week[weekdays]
    excess = ((counts - expected) ** 2 - expected).sum()
    dispersion = max(0.0, float(excess / max((expected**2).sum(), 1e-9)))
    return [float(x) for x in week.reshape(168)], dispersion


SINCE = ("since_last_activity", "since_last_kitchen", "since_last_bathroom")


def _inactive_from(table: DayTable, start_hour: int, hours: int) -> SnapshotBatch:
    """A synthetic emergency: nothing moves after `start_hour`; scored `hours` later."""
    values = table.hourly[:, start_hour, :].copy()
    for feature in SINCE:
        values[:, COLUMN[feature]] += hours * 60
    values[:, COLUMN["recent_activity"]] = 0.0
    values[:, COLUMN["out_now"]] = 0.0
    minute = np.full(len(values), (start_hour + hours) * 60.0)
    return SnapshotBatch(values, minute, table.week_start)


def _not_up(table: DayTable, at_hour: int) -> SnapshotBatch:
    """A synthetic emergency: the resident never got up; scored at `at_hour`."""
    values = table.hourly[:, 4, :].copy()
    for feature in SINCE:
        values[:, COLUMN[feature]] += (at_hour - 4) * 60
    values[:, COLUMN["recent_activity"]] = 0.0
    values[:, COLUMN["wake"]] = np.nan
    return SnapshotBatch(values, np.full(len(values), at_hour * 60.0), table.week_start)


def evaluate(records: Sequence[DayRecord], *, threshold: int) -> dict[str, Any]:
    """Fit on all but the last days, score those; false alerts and synthetic detections."""
    return evaluate_table(DayTable.of(records), threshold=threshold)


def evaluate_table(table: DayTable, *, threshold: int) -> dict[str, Any]:
    """evaluate on days already laid out as arrays."""
    n_days = len(table.records)
    held = max(MIN_HELD_OUT, round(n_days * HELD_OUT_SHARE))
    train, test = table.slice(None, -held), table.slice(-held, None)
    if len(train.records) < 2:
        return {"held_out_days": 0, "note": "too few days to hold any out"}
    model = fit_table(train, resident_id=None)
    n_test = len(test.records)
    day_max = risk_scores(model, test.hours(1, 24)).reshape(n_test, 24).max(axis=1)
    inactive = risk_scores(model, _inactive_from(test, 10, 3))
    not_up = risk_scores(model, _not_up(test, 10))
    false_days = int((day_max >= threshold).sum())
    return {
        "held_out_days": n_test,
        "threshold": threshold,
        "false_alert_days": false_days,
        "false_alert_rate": false_days / n_test,
        "max_score_median": float(np.median(day_max)),
        "max_score_p95": float(np.percentile(day_max, 95)),
        "sensitivity_inactive_3h": int((inactive >= threshold).sum()) / n_test,
        "sensitivity_not_up_by_10": int((not_up >= threshold).sum()) / n_test,
    }
