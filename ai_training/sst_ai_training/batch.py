"""Routine-model arithmetic over many snapshots at once (numpy), for training.

Training scores every hour of every history day (the calibration, the held-out
evaluation): thousands of `sst_core.routine_model.deviations` calls per resident. The
functions here compute the same totals and scores for a whole array of snapshots in a
few numpy operations, doing each floating-point operation in the order the scalar code
does (same formulas, positive contributions summed largest first, as `deviations` sums
its sorted parts), so the results are the same numbers, not merely close ones
(tests/ai_training/test_fast_paths.py compares them with the scalar code).

Inference keeps the scalar code: it scores one snapshot per resident and needs words.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sst_core.features import DayRecord, hour_of_week
from sst_core.routine_model import (
    HOURLY_DIRECTIONS,
    RECENT_MIN_EXPECTED,
    RECENT_WINDOW_MIN,
    SCALE_FLOORS,
    RoutineModel,
    floor_scale,
)

Floats = NDArray[np.float64]
# The snapshot fields scoring reads, in the column order of SnapshotBatch.values.
FIELDS: tuple[str, ...] = (
    *HOURLY_DIRECTIONS,
    "out_now",
    "out_minutes",
    "wake",
    "recent_activity",
    "night_bathroom_visits",
)
COLUMN = {name: i for i, name in enumerate(FIELDS)}


@dataclass(frozen=True)
class SnapshotBatch:
    """Snapshots to score: values (n, len(FIELDS)), each one's minute and local day."""

    values: Floats
    minute: Floats
    week_start: NDArray[np.int64]  # hour_of_week(day, 0) of each snapshot's day

    def column(self, name: str) -> Floats:
        """One field of every snapshot."""
        return self.values[:, COLUMN[name]]


@dataclass(frozen=True)
class DayTable:
    """History days as arrays: hourly[d, h, f] is FIELDS[f] of day d at hh:00 (h = 0..24)."""

    records: Sequence[DayRecord]
    hourly: Floats
    week_start: NDArray[np.int64]

    @classmethod
    def of(cls, records: Sequence[DayRecord]) -> DayTable:
        """Lay out the fields scoring reads of every record's 25 snapshots."""
        hourly = np.array(
            [[[snap[f] for f in FIELDS] for snap in rec.hourly] for rec in records],
            dtype=float,
        ).reshape(len(records), 25, len(FIELDS))
        week_start = np.array([hour_of_week(rec.day, 0) for rec in records], dtype=np.int64)
        return cls(records=records, hourly=hourly, week_start=week_start)

    def slice(self, start: int | None, stop: int | None) -> DayTable:
        """The days [start:stop] (as a list slice)."""
        part = slice(start, stop)
        return DayTable(self.records[part], self.hourly[part], self.week_start[part])

    def hours(self, first: int = 1, last: int = 24) -> SnapshotBatch:
        """Every day's snapshots at hours first..last, day by day, as a batch."""
        n_hours = last - first + 1
        values = self.hourly[:, first : last + 1, :].reshape(-1, len(FIELDS))
        minute = np.tile(np.arange(first, last + 1, dtype=float) * 60, len(self.records))
        return SnapshotBatch(values, minute, np.repeat(self.week_start, n_hours))


def robust_fit(x: Floats, quantile_range: tuple[float, float]) -> tuple[Floats, Floats]:
    """Centre and scale of each column, exactly as scikit-learn's RobustScaler fits them.

    RobustScaler takes np.nanmedian over the columns and np.nanpercentile column by column
    (a Python loop); np.percentile over a column without NaN is the same computation, so
    only columns holding a NaN go one by one. Scales below 10 eps become 1, as there.
    """
    with warnings.catch_warnings():
        # A column of NaN only (no bed sensor: no wake-up) gives NaN, as RobustScaler does.
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        centre = np.nanmedian(x, axis=0)
        quantiles = np.empty((2, x.shape[1]))
        has_nan = np.isnan(x).any(axis=0)
        if (~has_nan).any():
            quantiles[:, ~has_nan] = np.percentile(x[:, ~has_nan], quantile_range, axis=0)
        for column in np.flatnonzero(has_nan):
            quantiles[:, column] = np.nanpercentile(x[:, column], quantile_range)
    scale = quantiles[1] - quantiles[0]
    scale[scale < 10 * np.finfo(scale.dtype).eps] = 1.0
    return centre, scale


def _square(x: Floats) -> Floats:
    """x ** 2 as Python computes it for a float (libm's pow, which is not always x * x)."""
    return np.fromiter((v**2 for v in x.tolist()), dtype=float, count=len(x))


def _contribution(z: Floats) -> Floats:
    # max(0.0, z - 1.0) ** 2 of the scalar code (a NaN z contributes nothing there too).
    # Most snapshots deviate nowhere: only the positive excesses are squared.
    excess = z - 1.0
    result = np.zeros(len(z))
    positive = np.flatnonzero(excess > 0.0)
    result[positive] = _square(excess[positive])
    return result


def _expected_recent(model: RoutineModel, batch: SnapshotBatch) -> Floats:
    """routine_model.expected_recent for every snapshot (the same hour-by-hour sum)."""
    table = np.asarray(model.hour_of_week, dtype=float)
    end = batch.minute
    start = end - RECENT_WINDOW_MIN
    first_hour = np.floor(start / 60)
    total = np.zeros(len(end))
    # The window spans at most RECENT_WINDOW_MIN / 60 + 1 clock hours.
    for step in range(RECENT_WINDOW_MIN // 60 + 1):
        hour = first_hour + step
        inside = hour * 60 < end
        lo = np.maximum(start, hour * 60)
        hi = np.minimum(end, (hour + 1) * 60)
        index = (batch.week_start + hour.astype(np.int64)) % 168
        total = np.where(inside, total + table[index] * (hi - lo) / 60, total)
    return total


def contributions(model: RoutineModel, batch: SnapshotBatch) -> Floats:
    """Each snapshot's deviation contributions (n, features): zeros where none."""
    minute = batch.minute
    hour = np.clip(np.floor(minute / 60), 0, 24).astype(np.int64)
    out_now = batch.column("out_now") > 0
    wake = batch.column("wake")
    awake_since = np.where(np.isnan(wake), 6 * 60.0, wake)
    awake = np.maximum(60.0, minute - awake_since)
    at_home = np.maximum(0.0, 1.0 - batch.column("out_minutes") / awake)
    parts = []
    tables = model.scored_hourly
    extremes = model.extremes or {}
    for feature, direction in HOURLY_DIRECTIONS.items():
        centre_scale = np.asarray(tables[feature], dtype=float)
        centre, scale = centre_scale[hour, 0], centre_scale[hour, 1]
        if direction < 0:
            centre = centre * at_home
        value = batch.column(feature)
        z = direction * (value - centre) / scale
        if feature in extremes:  # routine_model.extreme_z, term by term
            longest = np.asarray(extremes[feature], dtype=float)[hour]
            beyond = (longest - centre) / scale + (value - longest) / SCALE_FLOORS[feature]
            z = np.where(value <= longest, z, beyond)
        parts.append(np.where(out_now, 0.0, _contribution(z)))
    expected = _expected_recent(model, batch) * at_home
    spread = np.sqrt(expected + model.dispersion * _square(expected))
    z = (expected - batch.column("recent_activity")) / np.maximum(spread, 1.0)
    speaks = ~out_now & (expected >= RECENT_MIN_EXPECTED)
    parts.append(np.where(speaks, _contribution(z), 0.0))
    centre, scale = model.daily["wake"]
    scale = floor_scale("wake", centre, scale)
    late = np.isnan(wake) & (minute > centre)
    wake_z = np.where(late, (minute - centre) / scale, (wake - centre) / scale)
    wake_z = np.where(np.isnan(wake) & ~late, 0.0, wake_z)
    parts.append(_contribution(wake_z))
    centre, scale = model.daily["night_bathroom_visits"]
    scale = floor_scale("night_bathroom_visits", centre, scale)
    parts.append(_contribution((batch.column("night_bathroom_visits") - centre) / scale))
    return np.stack(parts, axis=1)


def deviation_totals(model: RoutineModel, batch: SnapshotBatch) -> Floats:
    """`deviations(...)[0]` of every snapshot: contributions summed largest first."""
    ordered = -np.sort(-contributions(model, batch), axis=1)
    total = np.zeros(len(ordered))
    for column in ordered.T:
        total = total + column
    return total


def risk_scores(model: RoutineModel, batch: SnapshotBatch) -> NDArray[np.int64]:
    """`risk(...).score` of every snapshot (0-100; halves round to even, as round() does)."""
    total = deviation_totals(model, batch)
    return np.rint(100 * total / (total + model.calibration)).astype(np.int64)
