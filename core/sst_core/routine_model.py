"""A resident's routine model as plain numbers, and today's risk score with its reasons.

Training (sst_ai_training, scikit-learn) fits the numbers; this module, shared with
inference, turns them into a 0-100 risk score and the top deviations in words. The
artifact is JSON, not a pickle: loading a model from object storage never runs code, and
inference needs neither numpy nor scikit-learn.

The model, per resident (or the population prior when their history is too short):

* for each scored feature and local hour of the day, a robust centre and scale (median
  and inter-quartile range, scikit-learn's RobustScaler) of that feature at that hour
  over the history's days; wake time and night bathroom visits use the whole day's;
* expected activity per room kind and hour of the week (Monday 00-01 ... Sunday 23-24),
  shrunk towards the same hour on other days, and its over-dispersion;
* a calibration: the deviation total the 99.5th percentile of ordinary day-hours reached;
* for "minutes at home without the kitchen", the longest stretch any history day had at
  each hour (and the hour either side): beyond it, each further minute weighs as if the
  scale were its floor. The 10-90% spread is wide at dinner time (dinner wanders by an hour),
  which let a whole day at home without lunch or dinner score under the alert line; a
  stretch hours longer than any of the last months is what a skipped meal looks like.

Each feature's deviation counts only in the worrying direction (less activity, a later
wake-up, longer without movement, more night-time bathroom visits), beyond one scale:
`max(0, z - 1)^2`. The total over features maps onto 0-100 through the calibration, so
50 is "as unusual as the most unusual 0.5% of this resident's ordinary hours".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any, Literal

import orjson

from sst_core.features import FEATURE_VERSION, RECENT_WINDOW_MIN, hhmm, hour_of_week
from sst_core.texts import Text, english, phrase
from sst_core.texts_en import WEEKDAYS as WEEKDAYS
from sst_core.trend import TrendError, TrendModel

ARTIFACT_FORMAT = "sst-routine-model"
Prior = Literal["own", "population"]

# Scored features of the hourly snapshots: +1 when more is worrying, -1 when less is.
HOURLY_DIRECTIONS: dict[str, int] = {
    "total_activity": -1,
    "activity_kitchen": -1,
    "kitchen_visits": -1,
    "activity_bathroom": -1,
    "since_last_activity": 1,
    "since_last_kitchen": 1,
    "since_last_bathroom": 1,
}
DAILY_DIRECTIONS: dict[str, int] = {"wake": 1, "night_bathroom_visits": 1}
# The smallest scale a feature is allowed: a routine that never varies must not make a
# two-minute difference look like a crisis.
SCALE_FLOORS: dict[str, float] = {
    "since_last_activity": 20.0,
    "since_last_kitchen": 45.0,
    "since_last_bathroom": 45.0,
    "wake": 30.0,
    "night_bathroom_visits": 1.0,
}
# Features scored against the longest stretch of the history (see the module docstring),
# kept only for a history of at least EXTREME_MIN_DAYS days: fewer make a shaky maximum.
EXTREME_FEATURES: tuple[str, ...] = ("since_last_kitchen",)
EXTREME_MIN_DAYS = 28
COUNT_SCALE_FLOOR = 2.0
COUNT_SCALE_FRACTION = 0.25  # ... and at least a quarter of the usual count
MIN_CALIBRATION = 6.0
RECENT_MIN_EXPECTED = 6.0  # the hour-of-week term speaks only when activity is expected


class ArtifactError(ValueError):
    """A model artifact that cannot be used (corrupt, wrong format or feature version)."""


@dataclass(frozen=True)
class RoutineModel:
    """The fitted numbers of one resident's routine (or of the population prior)."""

    resident_id: int | None
    prior: Prior
    days: int
    hourly: dict[str, list[tuple[float, float]]]  # feature -> 25 (centre, scale), h = 0..24
    daily: dict[str, tuple[float, float]]
    hour_of_week: list[float]  # 168 expected activity readings per hour, all rooms
    dispersion: float
    calibration: float
    feature_version: int = FEATURE_VERSION
    metadata: dict[str, Any] = field(default_factory=dict)
    # The gradual-decline detector's numbers (sst_core.trend); None for the population
    # prior, a short history, or an artifact trained before the detector existed.
    trend: TrendModel | None = None
    # feature -> 25 longest values seen at h = 0..24 (EXTREME_FEATURES); None: not used
    # (a short history, or an artifact trained before it existed).
    extremes: dict[str, list[float]] | None = None

    def to_json(self) -> bytes:
        """The artifact: this model as JSON, with its format and feature version."""
        return orjson.dumps(
            {
                "format": ARTIFACT_FORMAT,
                "feature_version": self.feature_version,
                "resident_id": self.resident_id,
                "prior": self.prior,
                "days": self.days,
                "hourly": self.hourly,
                "daily": self.daily,
                "hour_of_week": self.hour_of_week,
                "dispersion": self.dispersion,
                "calibration": self.calibration,
                "metadata": self.metadata,
                "trend": None if self.trend is None else self.trend.to_dict(),
                "extremes": self.extremes,
            },
            option=orjson.OPT_SERIALIZE_NUMPY,
        )

    @classmethod
    def from_json(cls, raw: bytes) -> RoutineModel:
        """Read an artifact; ArtifactError says what is wrong with a bad one."""
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ArtifactError(f"not a model artifact (invalid JSON: {exc})") from exc
        if not isinstance(doc, dict) or doc.get("format") != ARTIFACT_FORMAT:
            raise ArtifactError("not a model artifact (no 'format: sst-routine-model')")
        if doc.get("feature_version") != FEATURE_VERSION:
            raise ArtifactError(
                f"feature version {doc.get('feature_version')!r} does not match this "
                f"code's {FEATURE_VERSION}; retrain the model"
            )
        try:
            model = cls(
                resident_id=doc["resident_id"],
                prior=doc["prior"],
                days=int(doc["days"]),
                hourly={k: [(float(c), float(s)) for c, s in v] for k, v in doc["hourly"].items()},
                daily={k: (float(v[0]), float(v[1])) for k, v in doc["daily"].items()},
                hour_of_week=[float(x) for x in doc["hour_of_week"]],
                dispersion=float(doc["dispersion"]),
                calibration=float(doc["calibration"]),
                metadata=dict(doc.get("metadata") or {}),
                trend=None if doc.get("trend") is None else TrendModel.from_dict(doc["trend"]),
                extremes=(
                    None
                    if doc.get("extremes") is None
                    else {k: [float(x) for x in v] for k, v in doc["extremes"].items()}
                ),
            )
        except TrendError as exc:
            raise ArtifactError(f"model artifact has bad trend numbers: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"model artifact is incomplete or malformed: {exc!r}") from exc
        model.check()
        return model

    @cached_property
    def scored_hourly(self) -> dict[str, list[tuple[float, float]]]:
        """The hourly (centre, scale) tables with each scale floored (see floor_scale)."""
        return {
            feature: [(c, floor_scale(feature, c, s)) for c, s in self.hourly[feature]]
            for feature in HOURLY_DIRECTIONS
        }

    def check(self) -> None:
        """Raise ArtifactError unless every table has the shape and values scoring needs."""
        missing = set(HOURLY_DIRECTIONS) - set(self.hourly)
        missing |= set(DAILY_DIRECTIONS) - set(self.daily)
        if missing:
            raise ArtifactError(f"model artifact lacks features {sorted(missing)}")
        if any(len(v) != 25 for v in self.hourly.values()) or len(self.hour_of_week) != 168:
            raise ArtifactError("model artifact tables have the wrong length")
        extremes = self.extremes or {}
        if set(extremes) - set(EXTREME_FEATURES) or any(len(v) != 25 for v in extremes.values()):
            raise ArtifactError("model artifact has malformed longest-stretch tables")
        numbers = [x for v in self.hourly.values() for pair in v for x in pair]
        numbers += [x for v in extremes.values() for x in v]
        numbers += [x for pair in self.daily.values() for x in pair]
        numbers += [*self.hour_of_week, self.dispersion, self.calibration]
        if not all(math.isfinite(x) for x in numbers) or self.calibration <= 0:
            raise ArtifactError("model artifact holds non-finite or non-positive numbers")
        if self.prior not in ("own", "population"):
            raise ArtifactError(f"model artifact has an unknown prior {self.prior!r}")


@dataclass(frozen=True)
class Deviation:
    """One way today differs from the routine, with its share of the score and its words."""

    feature: str
    contribution: float
    text: Text

    @property
    def words(self) -> str:
        """The deviation in English."""
        return english(self.text)


@dataclass(frozen=True)
class RiskScore:
    """Today's risk score 0-100 for a resident, and why."""

    score: int
    deviations: list[Deviation]
    prior: Prior
    out_now: bool

    def explanation(self, *, days: int, top: int = 3) -> str:
        """The top deviations in plain words (and a note when the prior is the population's)."""
        return english(self.explanation_text(days=days, top=top))

    def explanation_text(self, *, days: int, top: int = 3) -> Text:
        """`explanation` as a structured text: each of the top deviations is its own Text."""
        parts = [d.text for d in self.deviations[:top]]
        why = (
            phrase("routine.deviations", deviations=parts) if parts else phrase("routine.ordinary")
        )
        if self.prior == "population":
            why = phrase("routine.population", why=why, days=days)
        return why


def _z(value: float, centre: float, scale: float, direction: int) -> float:
    return direction * (value - centre) / scale


def extreme_z(value: float, centre: float, scale: float, longest: float, floor: float) -> float:
    """The z of a stretch (more is worrying) that may exceed the history's longest.

    Up to `longest` it is the usual (value - centre) / scale; every minute beyond it counts
    1 / floor. training's batch.contributions computes the same in the same order.
    """
    if value <= longest:
        return (value - centre) / scale
    return (longest - centre) / scale + (value - longest) / floor


def _contribution(z: float) -> float:
    return max(0.0, z - 1.0) ** 2


def floor_scale(feature: str, centre: float, scale: float) -> float:
    """The scale a feature is scored with: at least its floor (see SCALE_FLOORS)."""
    if feature in SCALE_FLOORS:
        return max(scale, SCALE_FLOORS[feature])
    return max(scale, COUNT_SCALE_FLOOR, COUNT_SCALE_FRACTION * abs(centre))


def expected_recent(model: RoutineModel, day: date, minute: float) -> float:
    """Activity the hour-of-week table expects in the RECENT_WINDOW_MIN before `minute`."""
    total, end = 0.0, minute
    start = minute - RECENT_WINDOW_MIN
    hour = math.floor(start / 60)
    while hour * 60 < end:
        lo, hi = max(start, hour * 60), min(end, (hour + 1) * 60)
        index = (hour_of_week(day, 0) + hour) % 168
        total += model.hour_of_week[index] * (hi - lo) / 60
        hour += 1
    return total


def deviations(
    model: RoutineModel, snapshot: dict[str, float], *, day: date, minute: float
) -> tuple[float, list[Deviation]]:
    """The deviation total of a snapshot taken at `minute` of `day`, and its parts."""
    hour = min(24, max(0, math.floor(minute / 60)))
    out_now = snapshot["out_now"] > 0
    parts: list[Deviation] = []
    # Time out of the home (a day out) is not a worry in itself: expect activity only for
    # the share of the waking day spent at home.
    awake_since = snapshot["wake"] if not math.isnan(snapshot["wake"]) else 6 * 60.0
    awake = max(60.0, minute - awake_since)
    at_home = max(0.0, 1.0 - snapshot["out_minutes"] / awake)
    if not out_now:
        tables = model.scored_hourly
        extremes = model.extremes or {}
        for feature, direction in HOURLY_DIRECTIONS.items():
            centre, scale = tables[feature][hour]
            if direction < 0:
                centre *= at_home
            if feature in extremes:
                longest = extremes[feature][hour]
                z = extreme_z(snapshot[feature], centre, scale, longest, SCALE_FLOORS[feature])
            else:
                z = _z(snapshot[feature], centre, scale, direction)
            if (c := _contribution(z)) > 0:
                parts.append(Deviation(feature, c, _words(feature, snapshot, centre, minute)))
        expected = expected_recent(model, day, minute) * at_home
        observed = snapshot["recent_activity"]
        if expected >= RECENT_MIN_EXPECTED:
            spread = math.sqrt(expected + model.dispersion * expected**2)
            z = (expected - observed) / max(spread, 1.0)
            if (c := _contribution(z)) > 0:
                words = phrase(
                    "routine.recent_activity",
                    observed=round(observed),
                    expected=round(expected),
                    weekday=day.weekday(),
                )
                parts.append(Deviation("recent_activity", c, words))
    centre, scale = model.daily["wake"]
    scale = floor_scale("wake", centre, scale)
    wake = snapshot["wake"]
    if math.isnan(wake) and minute > centre:
        wake_z = _z(minute, centre, scale, 1)
        words = phrase("routine.not_up", now=hhmm(minute), usual=hhmm(centre))
    elif not math.isnan(wake):
        wake_z = _z(wake, centre, scale, 1)
        words = phrase("routine.got_up", time=hhmm(wake), usual=hhmm(centre))
    else:
        wake_z = 0.0
    if (c := _contribution(wake_z)) > 0:
        parts.append(Deviation("wake", c, words))
    centre, scale = model.daily["night_bathroom_visits"]
    night = snapshot["night_bathroom_visits"]
    z = _z(night, centre, floor_scale("night_bathroom_visits", centre, scale), 1)
    if (c := _contribution(z)) > 0:
        words = phrase("routine.night_bathroom_visits", visits=round(night), usual=round(centre))
        parts.append(Deviation("night_bathroom_visits", c, words))
    parts.sort(key=lambda d: d.contribution, reverse=True)
    return sum(d.contribution for d in parts), parts


def risk(model: RoutineModel, snapshot: dict[str, float], *, day: date, minute: float) -> RiskScore:
    """Today's risk score 0-100 from a snapshot taken at `minute` of local `day`."""
    total, parts = deviations(model, snapshot, day=day, minute=minute)
    return RiskScore(
        score=to_score(total, model.calibration),
        deviations=parts,
        prior=model.prior,
        out_now=snapshot["out_now"] > 0,
    )


def to_score(total: float, calibration: float) -> int:
    """A deviation total on the 0-100 scale (calibration maps to 50)."""
    return round(100 * total / (total + calibration))


def _words(feature: str, snap: dict[str, float], centre: float, minute: float) -> Text:
    now = hhmm(minute)
    if feature == "since_last_activity":
        return phrase(
            "routine.since_last_activity",
            since=hhmm(minute - snap["since_last_activity"]),
            for_min=round(snap["since_last_activity"]),
            usual_min=round(centre),
        )
    if feature in ("since_last_kitchen", "kitchen_visits", "activity_kitchen"):
        last = snap.get("last_kitchen_at", math.nan)
        if snap["kitchen_visits"] == 0 or math.isnan(last):
            head = phrase("routine.kitchen_none_today")
        else:
            head = phrase("routine.kitchen_since", time=hhmm(last))
        if feature == "since_last_kitchen":
            return phrase(
                "routine.since_last_kitchen",
                head=head,
                at_home=_at_home(snap, "since_last_kitchen"),
                usual_min=round(centre),
            )
        return phrase(f"routine.{feature}", head=head, usual=round(centre), now=now)
    if feature == "since_last_bathroom":
        if snap["bathroom_visits"] == 0:
            return phrase("routine.no_bathroom_today", now=now, usual_min=round(centre))
        last = snap.get("last_bathroom_at", math.nan)
        at_home = _at_home(snap, "since_last_bathroom")
        if math.isnan(last):
            return phrase(
                "routine.since_last_bathroom_earlier", at_home=at_home, usual_min=round(centre)
            )
        return phrase(
            "routine.since_last_bathroom",
            since=hhmm(last),
            at_home=at_home,
            usual_min=round(centre),
        )
    if feature == "activity_bathroom":
        return phrase(
            "routine.activity_bathroom",
            count=round(snap["activity_bathroom"]),
            now=now,
            usual=round(centre),
        )
    return phrase(
        "routine.total_activity", count=round(snap["total_activity"]), now=now, usual=round(centre)
    )


def _at_home(snap: dict[str, float], feature: str) -> Text | None:
    """How much of a stretch was spent at home, said only when the resident went out today."""
    if snap["out_minutes"] > 0:
        return phrase("routine.at_home", for_min=round(snap[feature]))
    return None
