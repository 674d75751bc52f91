"""A slow trend over days: the gradual-decline detector shared by training and inference.

The routine model (routine_model.py) asks "is today unusual?"; a decline over weeks is
made of days that are each ordinary enough. This asks "have the days been drifting the
worrying way?": for each complete day, a few daily features that worsen in a decline
(getting up later, moving about less at home, less in the kitchen, more night-time
bathroom visits, going out less), each as a z-score against the resident's own training
days (median and 10-90% spread, the routine model's robust scale), clipped so that one
bad day (a late night, a day in bed) cannot carry the sum alone, averaged, and
standardised again by how that average varied over the training days. A one-sided CUSUM
adds each day's excess over `drift` and never goes below zero; it alerts when it reaches
a threshold chosen in training from the training days themselves (so that ordinary weeks
do not reach it), and starts again from zero after an alert.

Pure Python: training fits the numbers (sst_ai_training.trend) with numpy; inference
judges one day at a time with these functions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sst_core.features import DayRecord, Event, group_by_day, hhmm, history_days
from sst_core.texts import Text, phrase

# Features and the direction that worries: +1 when more is worrying, -1 when less is.
TREND_DIRECTIONS: dict[str, int] = {
    "wake": 1,
    "day_activity_rate": -1,
    "kitchen_activity_rate": -1,
    "night_bathroom_visits": 1,
    "out_minutes": -1,
}
# One day's deviation of one feature counts at most Z_CLIP scales the worrying way, and
# at most Z_FLOOR the reassuring way: a day out must not cancel a week of later mornings.
Z_CLIP = 3.0
Z_FLOOR = -1.5
DAY_CLIP = 3.0  # ... and one day's combined lean at most this many spreads
DRIFT = 0.25  # the CUSUM's allowance, in spreads: smaller drifts than this stay at zero
LATE_NIGHT_MIN = 60.0  # to bed this much later than usual: the next wake-up is not judged
MIN_AT_HOME_MIN = 360.0  # less time at home in the day window (a day out): no rates that day
# Scales are floored like the routine model's: a routine that never varies must not make a
# small change look like a decline.
TREND_SCALE_FLOORS: dict[str, float] = {
    "wake": 20.0,
    "day_activity_rate": 0.5,
    "kitchen_activity_rate": 0.25,
    "night_bathroom_visits": 1.0,
    "out_minutes": 30.0,
}


class TrendError(ValueError):
    """Trend numbers in an artifact that cannot be used."""


@dataclass(frozen=True)
class TrendModel:
    """The fitted numbers of one resident's trend detector."""

    features: dict[str, tuple[float, float]]  # feature -> (centre, scale) over training days
    window: tuple[int, int]  # local hours [start, end) over which activity rates are taken
    combined: tuple[float, float]  # centre and scale of a training day's mean z
    threshold: float  # the CUSUM alerts at this
    training_max: float  # the highest CUSUM over the training days (for the record)
    usual_sleep: float = 1350.0  # the usual sleep onset, local minute (past 1440: after 00:00)

    def to_dict(self) -> dict[str, Any]:
        """The numbers as JSON-ready values (part of the routine model's artifact)."""
        return {
            "features": {k: list(v) for k, v in self.features.items()},
            "window": list(self.window),
            "combined": list(self.combined),
            "threshold": self.threshold,
            "training_max": self.training_max,
            "usual_sleep": self.usual_sleep,
        }

    @classmethod
    def from_dict(cls, doc: Any) -> TrendModel:
        """Read the numbers back; TrendError says what is wrong."""
        try:
            model = cls(
                features={k: (float(v[0]), float(v[1])) for k, v in doc["features"].items()},
                window=(int(doc["window"][0]), int(doc["window"][1])),
                combined=(float(doc["combined"][0]), float(doc["combined"][1])),
                threshold=float(doc["threshold"]),
                training_max=float(doc["training_max"]),
                usual_sleep=float(doc["usual_sleep"]),
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise TrendError(f"trend numbers are incomplete or malformed: {exc!r}") from exc
        model.check()
        return model

    def check(self) -> None:
        """Raise TrendError unless the numbers are complete, finite and positive."""
        if set(self.features) != set(TREND_DIRECTIONS):
            raise TrendError(f"trend numbers cover {sorted(self.features)}")
        numbers = [x for pair in self.features.values() for x in pair]
        numbers += [*self.combined, self.threshold, self.training_max, self.usual_sleep]
        if not all(math.isfinite(x) for x in numbers):
            raise TrendError("trend numbers hold non-finite values")
        scales = [s for _, s in self.features.values()] + [self.combined[1], self.threshold]
        if min(scales) <= 0 or not 0 <= self.window[0] < self.window[1] <= 24:
            raise TrendError("trend numbers hold a non-positive scale or an empty window")


def day_window(wake_centre: float, sleep_centre: float) -> tuple[int, int]:
    """Hours of the day whose activity rate is compared: usually awake, well inside it."""
    start = min(12, math.ceil(wake_centre / 60) + 1) if math.isfinite(wake_centre) else 9
    end = math.floor(sleep_centre / 60) - 1 if math.isfinite(sleep_centre) else 20
    return start, max(start + 4, min(end, 23))


def day_features(
    record: DayRecord, model: TrendModel, *, before: DayRecord | None = None
) -> dict[str, float]:
    """The trend's features of one complete day (NaN: not known that day).

    `before` is the day before (its evening at least): after a late night, a late
    wake-up is no sign of decline, and that day's wake time is left out.
    """
    window = model.window
    start, end = (record.hourly[h] for h in window)
    at_home = (window[1] - window[0]) * 60 - (end["out_minutes"] - start["out_minutes"])
    rate = kitchen = math.nan
    if at_home >= MIN_AT_HOME_MIN:
        # Movements per hour at home: a day out is not less active, only elsewhere.
        rate = (end["total_activity"] - start["total_activity"]) * 60 / at_home
        kitchen = (end["activity_kitchen"] - start["activity_kitchen"]) * 60 / at_home
    wake = record.daily["wake"]
    onset = math.nan if before is None else before.daily["sleep_onset"]
    if math.isfinite(onset) and onset > model.usual_sleep + LATE_NIGHT_MIN:
        wake = math.nan
    return {
        "wake": wake,
        "day_activity_rate": rate,
        "kitchen_activity_rate": kitchen,
        "night_bathroom_visits": record.daily["night_bathroom_visits"],
        "out_minutes": record.daily["out_minutes"],
    }


def feature_z(model: TrendModel, features: Mapping[str, float]) -> dict[str, float]:
    """Each known feature's worrying deviation in scales, clipped to [Z_FLOOR, Z_CLIP]."""
    out = {}
    for name, direction in TREND_DIRECTIONS.items():
        value = features.get(name, math.nan)
        if not math.isfinite(value):
            continue
        centre, scale = model.features[name]
        z = direction * (value - centre) / scale
        out[name] = max(Z_FLOOR, min(Z_CLIP, z))
    return out


def day_score(model: TrendModel, features: Mapping[str, float]) -> float | None:
    """How far one day leans the worrying way, in the training days' spread (None: no data)."""
    zs = feature_z(model, features)
    if not zs:
        return None
    centre, scale = model.combined
    lean = (sum(zs.values()) / len(zs) - centre) / scale
    return max(-DAY_CLIP, min(DAY_CLIP, lean))


@dataclass(frozen=True)
class TrendState:
    """The CUSUM of one resident, and what the run since it was last at zero looked like."""

    total: float = 0.0
    run_days: int = 0  # days since the sum was last at zero
    sums: dict[str, float] = field(default_factory=dict)  # raw feature totals over the run
    counts: dict[str, int] = field(default_factory=dict)
    z_sums: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (inference keeps it in Redis)."""
        return {
            "total": self.total,
            "run_days": self.run_days,
            "sums": self.sums,
            "counts": self.counts,
            "z_sums": self.z_sums,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TrendState:
        """Read a state back (a malformed one is a fresh start)."""
        try:
            return cls(
                total=float(doc["total"]),
                run_days=int(doc["run_days"]),
                sums={k: float(v) for k, v in doc["sums"].items()},
                counts={k: int(v) for k, v in doc["counts"].items()},
                z_sums={k: float(v) for k, v in doc["z_sums"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return cls()


@dataclass(frozen=True)
class TrendStep:
    """One day judged: the new state, and the run that crossed the threshold (or None)."""

    state: TrendState
    alert: TrendState | None = None


def step(model: TrendModel, state: TrendState, features: Mapping[str, float]) -> TrendStep:
    """Add one complete day to the CUSUM; alert (and start again from zero) at the threshold.

    A day without any known feature (no data) leaves the state as it was.
    """
    score = day_score(model, features)
    if score is None:
        return TrendStep(state)
    total = max(0.0, state.total + score - DRIFT)
    if total == 0.0:
        return TrendStep(TrendState())
    zs = feature_z(model, features)
    run = TrendState(
        total=total,
        run_days=state.run_days + 1,
        sums=_add(state.sums, {k: features[k] for k in zs}),
        counts=_add(state.counts, dict.fromkeys(zs, 1)),
        z_sums=_add(state.z_sums, zs),
    )
    if total >= model.threshold:
        return TrendStep(TrendState(), alert=run)
    return TrendStep(run)


def cusum_path(model: TrendModel, days: Sequence[Mapping[str, float]]) -> list[float]:
    """The CUSUM after each day, without alerting or resetting (training's calibration)."""
    total, path = 0.0, []
    for features in days:
        score = day_score(model, features)
        if score is not None:
            total = max(0.0, total + score - DRIFT)
        path.append(total)
    return path


def _add(into: Mapping[str, Any], more: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(into)
    for key, value in more.items():
        out[key] = out.get(key, 0) + value
    return out


def explanation(model: TrendModel, run: TrendState, *, top: int = 3) -> Text:
    """Why the trend alerted, in words: the run's most worrying features."""
    ranked = sorted(run.z_sums.items(), key=lambda kv: kv[1], reverse=True)
    # Said only when the run's average itself lies the worrying way of the usual: a
    # lopsided feature (out 0 min most days, hours on some) can lean without doing so.
    parts = [_words(model, run, name) for name, z in ranked if z > 0 and _worse(model, run, name)]
    # Each feature a little, none the worrying way on average over the run: say that much
    # rather than nothing (an alert always says why).
    parts = parts[:top] or [phrase("trend.together")]
    return phrase("trend.explanation", changes=parts)


def _worse(model: TrendModel, run: TrendState, name: str) -> bool:
    mean = run.sums[name] / run.counts[name]
    return TREND_DIRECTIONS[name] * (mean - model.features[name][0]) > 0


def _words(model: TrendModel, run: TrendState, name: str) -> Text:
    mean = run.sums[name] / run.counts[name]
    usual = model.features[name][0]
    if name == "wake":
        return phrase("trend.wake", mean=hhmm(mean), usual=hhmm(usual))
    if name == "night_bathroom_visits":
        return phrase("trend.night_bathroom_visits", mean=round(mean, 1), usual=round(usual, 1))
    if name == "out_minutes":
        return phrase("trend.out_minutes", mean_min=round(mean), usual_min=round(usual))
    less = round(100 * (1 - mean / usual)) if usual > 0 else 0
    return phrase(f"trend.{name}", percent=less)


def complete_days(
    events: Iterable[Event], zone: ZoneInfo, first: date, last: date
) -> list[DayRecord]:
    """DayRecords of the days first - 1 .. last that have readings.

    Pass the evening before `first` too: its record (partial, the evening only) says when
    the resident went to bed, which judging `first` reads. A day without a single reading
    (the hub was off) is left out: no data is not a decline.
    """
    events = list(events)
    with_readings = set(group_by_day(events, zone))
    since = first - timedelta(days=1)
    return [
        record
        for record in history_days(events, zone, complete_only=False)
        if since <= record.day <= last and record.day in with_readings
    ]


def judge_days(
    model: TrendModel,
    state: TrendState,
    records: Iterable[DayRecord],
    *,
    first: date,
    skip: set[date],
) -> tuple[TrendState, list[tuple[date, TrendState]]]:
    """Feed the days from `first` in order; the state after them and the alerts raised.

    Records before `first` are only read as the day before. Days in `skip` (a day alert
    was already raised on them: the carer heard about that day) are left out; a slow
    trend is made of days each ordinary enough.
    """
    alerts = []
    before: DayRecord | None = None
    for record in records:
        previous, before = before, record
        if record.day < first or record.day in skip:
            continue
        if previous is not None and previous.day != record.day - timedelta(days=1):
            previous = None
        judged = step(model, state, day_features(record, model, before=previous))
        state = judged.state
        if judged.alert is not None:
            alerts.append((record.day, judged.alert))
    return state, alerts
