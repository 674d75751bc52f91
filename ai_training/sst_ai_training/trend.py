"""Fitting the gradual-decline detector (sst_core.trend) on a resident's training days.

Each feature's centre and scale are its median and 10-90% spread over the days (as the
routine model's, in standard-deviation units); the threshold is the highest the CUSUM
reached over those same days, with a margin, and never below TREND_MIN_THRESHOLD: the
resident's own ordinary weeks, harmless changes included, stay under it.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from datetime import timedelta

import numpy as np

from sst_core.features import DayRecord
from sst_core.trend import (
    TREND_DIRECTIONS,
    TREND_SCALE_FLOORS,
    TrendModel,
    cusum_path,
    day_features,
    day_window,
    feature_z,
)

TREND_MIN_DAYS = 28  # fewer training days: no trend detector (the routine model still runs)
TREND_MIN_THRESHOLD = 9.0
TREND_MARGIN = 1.25  # the threshold is at least this times the training days' highest CUSUM
# The 10th to 90th percentile of a normal variable spans 2.563 standard deviations.
NORMAL_SPREAD = 2.563
COMBINED_SCALE_FLOOR = 0.2


def fit_trend(records: Sequence[DayRecord]) -> TrendModel | None:
    """The trend detector's numbers from complete training days (None: too few days)."""
    if len(records) < TREND_MIN_DAYS:
        return None
    wake = _median([r.daily["wake"] for r in records], 420.0)
    sleep = _median([r.daily["sleep_onset"] for r in records], 1350.0)
    window = day_window(wake, sleep)
    # A provisional model holds the window and usual bedtime the features read.
    model = TrendModel(
        features=dict.fromkeys(TREND_DIRECTIONS, (0.0, 1.0)),
        window=window,
        combined=(0.0, 1.0),
        threshold=1.0,
        training_max=0.0,
        usual_sleep=sleep,
    )
    days = [
        day_features(r, model, before=p if p and p.day == r.day - timedelta(days=1) else None)
        for p, r in zip([None, *records], records, strict=False)
    ]
    features = {
        name: _centre_scale([d[name] for d in days], TREND_SCALE_FLOORS[name])
        for name in TREND_DIRECTIONS
    }
    model = dataclasses.replace(model, features=features)
    means = [sum(zs.values()) / len(zs) for d in days if (zs := feature_z(model, d))]
    # Centred on the mean, not the median: the clipping is lopsided (a good day counts
    # less than a bad one), so ordinary days lean above their median, and the CUSUM's
    # allowance must be measured from where ordinary days lean on average.
    _, scale = _centre_scale(means, COMBINED_SCALE_FLOOR)
    combined = (float(np.mean(means)) if means else 0.0, scale)
    model = dataclasses.replace(model, combined=combined)
    highest = max(cusum_path(model, days), default=0.0)
    threshold = max(TREND_MIN_THRESHOLD, TREND_MARGIN * highest)
    return dataclasses.replace(model, threshold=threshold, training_max=highest)


def _finite(values: Sequence[float]) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    return x[np.isfinite(x)]


def _median(values: Sequence[float], default: float) -> float:
    x = _finite(values)
    return float(np.median(x)) if len(x) else default


def _centre_scale(values: Sequence[float], floor: float) -> tuple[float, float]:
    x = _finite(values)
    if len(x) == 0:
        return 0.0, floor
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.percentile(x, (10.0, 90.0))
    scale = float(high - low) / NORMAL_SPREAD
    return float(np.median(x)), max(floor, scale if math.isfinite(scale) else floor)
