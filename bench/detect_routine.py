"""The routine model's part of `make bench-detect`: train on normal history, score a period.

Training is the real training code on the features training uses
(sst_core.features.history_days, then sst_ai_training.fit.evaluate and fit_model, as
sst_ai_training.pipeline.train_resident does after reading the history from PostgreSQL).
Scoring is the real inference code (sst_ai_inference.routine.score_one) every
`routine_interval_s` of the home's clock, on the readings inference would fetch (the last
FETCH_HOURS), with the silence rule and the raise/clear hysteresis of
sst_ai_inference.routine (routine_max_silence_min, routine_alert_score,
routine_clear_score, their defaults from InferenceSettings). Not through PostgreSQL,
Redis or MQTT: it measures what the model decides, not the pipeline.
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sst_ai_inference.routine import LoadedModel, score_one
from sst_ai_inference.routine_readings import FETCH_HOURS
from sst_ai_inference.settings import InferenceSettings
from sst_ai_inference.timeline import SensorInfo
from sst_ai_inference.trend_watch import DAY_ALERT_KINDS
from sst_ai_training.fit import evaluate, fit_model
from sst_ai_training.trend import fit_trend
from sst_core.features import FEATURE_SENSORS, Event, history_days, local_clock, local_minute
from sst_core.routine_model import RoutineModel
from sst_core.texts import english
from sst_core.trend import TrendState, complete_days, explanation, judge_days


@dataclass(frozen=True)
class RoutineAlert:
    """A routine alert the model would raise: when, its score (a trend's: its sum), words."""

    decided_at: datetime
    score: int
    explanation: str
    kind: str = "routine_deviation"  # or "gradual_decline" (the trend watch)


def feature_events(
    readings: list[tuple[str, int, float]], infos: dict[str, SensorInfo]
) -> list[Event]:
    """The readings the routine features read, as training loads them (oldest first)."""
    events = [
        Event(ts, infos[key].kind, infos[key].room_kind, value)
        for key, ts, value in readings
        if infos[key].kind in FEATURE_SENSORS
    ]
    events.sort(key=lambda e: e.ts)
    return events


def train(
    events: list[Event], zone: ZoneInfo, *, resident_id: int, threshold: int
) -> tuple[RoutineModel, dict[str, Any]]:
    """Fit a resident's model on its history; the held-out metrics the promotion gate reads."""
    records = list(history_days(events, zone))
    metrics = evaluate(records, threshold=threshold)
    model = fit_model(records, resident_id=resident_id)
    return dataclasses.replace(model, trend=fit_trend(records)), metrics


def trend_alerts(
    model: RoutineModel,
    events: list[Event],
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    *,
    alerted_at: list[datetime],
) -> list[RoutineAlert]:
    """Gradual-decline alerts inference's daily watch (trend_watch.py) raises over a period.

    Each day from `start` is judged at the round of the next local midnight, as the watch
    does, left out when a day alert was decided on it (`alerted_at`).
    """
    if model.trend is None:
        return []
    clock = local_clock(zone)
    first, _ = local_minute(int(start.timestamp() * 1000), zone)
    last, _ = local_minute(int(end.timestamp() * 1000) - 1, zone)
    end_ms = int(end.timestamp() * 1000)
    records = complete_days([e for e in events if e.ts < end_ms], zone, first, last)
    skip = {local_minute(int(at.timestamp() * 1000), zone)[0] for at in alerted_at}
    _, alerts = judge_days(model.trend, TrendState(), records, first=first, skip=skip)
    return [
        RoutineAlert(
            datetime.fromtimestamp(clock.moment_ms(day + timedelta(days=1), 0) / 1000, tz=UTC),
            round(run.total),
            english(explanation(model.trend, run)),
            kind="gradual_decline",
        )
        for day, run in alerts
    ]


def day_alert_times(kinds_and_times: list[tuple[str, datetime]]) -> list[datetime]:
    """When the day alerts the trend watch leaves days out for were decided."""
    return [at for kind, at in kinds_and_times if kind in DAY_ALERT_KINDS]


def score_period(
    model: RoutineModel,
    events: list[Event],
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    settings: InferenceSettings,
    *,
    seen: list[int],
) -> tuple[list[RoutineAlert], int]:
    """Every routine alert raised scoring from `start` to `end`; and how many scores.

    `seen` is the time (UTC ms, sorted) of every reading of the home, thermometers
    included: inference's silence rule looks at any reading, the features at fewer.
    """
    loaded = LoadedModel(id=1, version=1, model=model)
    times = [e.ts for e in events]
    every = timedelta(seconds=settings.routine_interval_s)
    silence_ms = settings.routine_max_silence_min * 60_000
    fetch_ms = FETCH_HOURS * 3_600_000
    raised = False
    alerts: list[RoutineAlert] = []
    scored = 0
    now = start
    while now < end:
        now_ms = int(now.timestamp() * 1000)
        lo = bisect.bisect_left(times, now_ms - fetch_ms)
        hi = bisect.bisect_right(times, now_ms)
        last = bisect.bisect_right(seen, now_ms)
        # A home silent for routine_max_silence_min is not scored (the hub-offline alert's).
        if last and now_ms - seen[last - 1] <= silence_ms:
            result = score_one(model.resident_id or 0, loaded, events[lo:hi], zone, now)
            scored += 1
            assert result.score is not None
            if result.score < settings.routine_clear_score:
                raised = False
            elif result.score >= settings.routine_alert_score and not raised:
                raised = True
                alerts.append(RoutineAlert(now, result.score, result.explanation))
        now += every
    return alerts, scored


def utc(moment: datetime) -> datetime:
    """A moment in UTC (for the JSON)."""
    return moment.astimezone(UTC)
