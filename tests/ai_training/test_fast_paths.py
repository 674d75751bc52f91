"""The vectorised training paths give the numbers the one-by-one reference gives.

Reference: tests/ai_training/reference_fit.py (fit.py before vectorising: scikit-learn's
RobustScaler, `deviations` and `risk` per day-hour) and the per-resident history read
(`pipeline._records`). Equality is exact (==, not approx): the vectorised code does each
floating-point operation of the scalar code in the same order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sklearn.preprocessing import RobustScaler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sst_ai_training import fit
from sst_ai_training.batch import (
    FIELDS,
    DayTable,
    SnapshotBatch,
    deviation_totals,
    risk_scores,
    robust_fit,
)
from sst_ai_training.pipeline import _histories, _records, chunks, train_chunk
from sst_ai_training.settings import TrainingSettings
from sst_ai_training.trend import fit_trend
from sst_core.features import DayRecord, history_days, hour_of_week
from sst_core.routine_model import RoutineModel, deviations, risk
from tests.ai_training import reference_features, reference_fit
from tests.factories import make_home
from tests.routine_history import KINDS, history_events, write_history

ZONES = ("Europe/London", "America/New_York", "Asia/Seoul")
FIRST = date(2026, 9, 10)  # spans the end of summer time in London and New York
DAYS = 61


@dataclasses.dataclass
class _Home:
    """What history_events needs of a home (no database: the sensors get made-up ids)."""

    resident_id: int
    timezone: str
    sensors: dict[str, int]


def _simulated(zone: str, seed: int) -> list[DayRecord]:
    home = _Home(1, zone, {key: i for i, key in enumerate(KINDS)})
    events = history_events(home, FIRST, DAYS, seed=seed)  # type: ignore[arg-type]
    return list(history_days(events, ZoneInfo(zone)))


@pytest.fixture(scope="module")
def histories() -> dict[str, list[DayRecord]]:
    """Two months of simulated days in each of three zones (a clock change among them)."""
    return {zone: _simulated(zone, seed) for seed, zone in enumerate(ZONES, start=1)}


def test_robust_fit_is_robust_scalers_fit(histories: dict[str, list[DayRecord]]) -> None:
    rng = np.random.default_rng(7)
    x = rng.gamma(2.0, 30.0, size=(80, 12))
    x[:, 3] = 5.0  # constant: scale 1, as RobustScaler makes it
    x[rng.random(80) < 0.3, 5] = np.nan  # gaps, as the pooled features have
    x[:, 7] = np.nan  # nothing at all (no bed sensor: no wake-up)
    real = np.array(
        [[snap["since_last_kitchen"] for snap in rec.hourly] for rec in histories[ZONES[0]]]
    )
    for matrix in (x, real):
        with warnings.catch_warnings():  # the all-NaN column: RobustScaler warns, and so be it
            warnings.simplefilter("ignore", RuntimeWarning)
            scaler = RobustScaler(quantile_range=(10.0, 90.0)).fit(matrix)
        centre, scale = robust_fit(matrix, (10.0, 90.0))
        np.testing.assert_array_equal(centre, scaler.center_)
        np.testing.assert_array_equal(scale, scaler.scale_)


def test_fit_and_evaluation_equal_the_reference(histories: dict[str, list[DayRecord]]) -> None:
    for zone, records in histories.items():
        fast = fit.fit_model(records, resident_id=3)
        slow = reference_fit.fit_model(records, resident_id=3)
        assert fast == slow, zone
        assert fit.evaluate(records, threshold=75) == reference_fit.evaluate(records, threshold=75)
        # A short history and a mixed one (the population prior) too.
        assert fit.fit_model(records[:9], resident_id=3) == reference_fit.fit_model(
            records[:9], resident_id=3
        )
    mixed = sorted((r for recs in histories.values() for r in recs[::4]), key=lambda r: r.day)
    assert fit.fit_model(mixed, resident_id=None, prior="population") == (
        reference_fit.fit_model(mixed, resident_id=None, prior="population")
    )
    assert fit.evaluate(mixed, threshold=60) == reference_fit.evaluate(mixed, threshold=60)


def _strict(model: RoutineModel) -> RoutineModel:
    """The model with every scale shrunk: ordinary hours deviate, so totals are not all 0.

    The longest stretches are halved too, so that many snapshots go beyond them.
    """
    assert model.extremes is not None
    return dataclasses.replace(
        model,
        hourly={f: [(c, s / 8) for c, s in v] for f, v in model.hourly.items()},
        daily={f: (c, s / 8) for f, (c, s) in model.daily.items()},
        dispersion=model.dispersion / 4,
        extremes={f: [x / 2 for x in v] for f, v in model.extremes.items()},
    )


def test_totals_and_scores_equal_deviations_and_risk(
    histories: dict[str, list[DayRecord]],
) -> None:
    records = histories["America/New_York"]
    model = reference_fit.fit_model(records[:40], resident_id=1)
    snapshots: list[tuple[dict[str, float], date, float]] = []
    for rec in records[40:]:
        for hour in range(25):
            snapshots.append((rec.hourly[hour], rec.day, hour * 60.0))
            # Between the hours, out of the home, not up yet, a still afternoon.
            odd = dict(rec.hourly[hour], recent_activity=0.0)
            snapshots.append((odd, rec.day, hour * 60 + 17.5))
            snapshots.append((dict(odd, out_now=1.0, out_minutes=95.0), rec.day, hour * 60.0))
            snapshots.append((dict(odd, wake=math.nan), rec.day, hour * 60.0 + 1))
            still = {f: odd[f] + 240 if f.startswith("since_") else odd[f] for f in odd}
            snapshots.append((still, rec.day, hour * 60.0))
    batch = SnapshotBatch(
        np.array([[snap[f] for f in FIELDS] for snap, _, _ in snapshots]),
        np.array([minute for _, _, minute in snapshots]),
        np.array([hour_of_week(day, 0) for _, day, _ in snapshots]),
    )
    for scored in (model, _strict(model), dataclasses.replace(model, calibration=7.25)):
        expected = [deviations(scored, s, day=d, minute=m)[0] for s, d, m in snapshots]
        totals = deviation_totals(scored, batch)
        assert totals.tolist() == expected
        assert sum(t > 0 for t in expected) > len(expected) // 10  # not a test of zeros
        scores = [risk(scored, s, day=d, minute=m).score for s, d, m in snapshots]
        assert risk_scores(scored, batch).tolist() == scores
        assert len(set(scores)) > 10


def test_history_days_equals_the_reference_features() -> None:
    # Fresh simulated days (not the module's: those were made with the code under test).
    for seed, zone in enumerate(ZONES, start=4):
        home = _Home(1, zone, {key: i for i, key in enumerate(KINDS)})
        events = history_events(home, FIRST, DAYS, seed=seed)  # type: ignore[arg-type]
        for complete_only in (True, False):
            fast = list(history_days(events, ZoneInfo(zone), complete_only=complete_only))
            slow = list(
                reference_features.history_days(
                    [reference_features.Event(*e) for e in events],
                    ZoneInfo(zone),
                    complete_only=complete_only,
                )
            )
            assert len(fast) >= DAYS - 2
            assert _same(fast, slow), zone  # type: ignore[arg-type]


def test_day_table_hours_are_the_records_snapshots(
    histories: dict[str, list[DayRecord]],
) -> None:
    records = histories["Asia/Seoul"][:5]
    batch = DayTable.of(records).hours(1, 24)
    assert batch.values.shape == (5 * 24, len(FIELDS))
    row = 2 * 24 + 6  # day 2, 07:00
    assert batch.minute[row] == 7 * 60
    assert batch.week_start[row] == hour_of_week(records[2].day, 0)
    for i, name in enumerate(FIELDS):
        value = records[2].hourly[7][name]
        assert batch.values[row, i] == value or (
            math.isnan(value) and math.isnan(batch.values[row, i])
        )


def test_chunks_cover_every_resident_once() -> None:
    ids = list(range(1, 1001))
    parts = chunks(ids, 2)
    assert [r for part in parts for r in part] == ids
    assert max(len(p) for p in parts) == 25 and len(parts) == 40
    assert chunks([5, 6, 7], 2) == [[5], [6], [7]]
    assert chunks([], 2) == []


async def test_chunk_read_equals_per_resident_read(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    homes = [await make_home(sessionmaker, timezone=zone) for zone in ZONES]
    first = date(2026, 10, 1)  # London and New York change clocks in the window
    for seed, home in enumerate(homes, start=1):
        await write_history(database_url, home, first, 40, seed=seed)
    settings = TrainingSettings(
        _env_file=None,
        object_store="local",
        object_store_dir=tmp_path / "objects",
        train_history_days=40,
    )
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC) - timedelta(days=1)
    end = start + timedelta(days=43)
    ids = [h.resident_id for h in homes]
    missing = max(ids) + 1000
    together = await _histories([*ids, missing], start, end, settings)
    for rid in ids:
        alone = await _records(rid, start, end, settings)
        assert len(alone) >= 38
        got = together[rid]
        assert not isinstance(got, Exception)
        assert _same(got, alone)
    assert isinstance(together[missing], LookupError)
    # The whole chunk trains; the resident who does not exist fails alone, with the reason.
    results = await asyncio.to_thread(train_chunk, [ids[0], missing, ids[2]], start, end, settings)
    assert [r.resident_id for r in results] == [ids[0], missing, ids[2]]
    assert [r.status for r in results] == ["trained", "failed", "trained"]
    assert results[1].message == f"LookupError: resident {missing} does not exist"
    first_history = together[ids[0]]
    assert not isinstance(first_history, Exception)
    assert results[0].metrics == {
        **reference_fit.evaluate(first_history, threshold=75),
        "days": len(first_history),
        "calibration": reference_fit.fit_model(first_history, resident_id=ids[0]).calibration,
        "trend_threshold": trend_threshold(first_history),
    }


def trend_threshold(records: list[DayRecord]) -> float | None:
    """The trend watch's threshold training records with a resident's model."""
    trend = fit_trend(records)
    return None if trend is None else trend.threshold


def _same(a: list[DayRecord], b: list[DayRecord]) -> bool:
    """Records equal, NaN equal to NaN (a day without a wake-up, say)."""

    def norm(records: list[DayRecord]) -> list[object]:
        return [
            (
                r.day,
                [{k: None if math.isnan(v) else v for k, v in s.items()} for s in r.hourly],
                {k: None if math.isnan(v) else v for k, v in r.daily.items()},
            )
            for r in records
        ]

    return norm(a) == norm(b)
