"""The gradual-decline detector: a decline is caught; an ordinary noisy month, a single bad
day and days without data are not; the sum starts again after an alert; inference's daily
watch judges each day once, leaves out days already alerted on, and says why."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_ai_inference.alerts import raise_alert
from sst_ai_inference.directory import Directory
from sst_ai_inference.rules import draft_alert
from sst_ai_inference.trend_watch import TREND_KEY, TrendWatcher
from sst_ai_training.fit import fit_model
from sst_ai_training.trend import TREND_MIN_THRESHOLD, fit_trend
from sst_backend.seed import STANDARD_LAYOUT
from sst_core.domain import AlertKind, Severity
from sst_core.features import DayRecord, Event, history_days
from sst_core.routine_model import ArtifactError, RoutineModel
from sst_core.texts import AlertText, english, phrase
from sst_core.trend import (
    DAY_CLIP,
    DRIFT,
    TREND_DIRECTIONS,
    TrendModel,
    TrendState,
    complete_days,
    day_features,
    explanation,
    judge_days,
    step,
)
from sst_devices.life import SimHome, SimSensor
from sst_devices.profiles import PROFILES, Anomaly, labelled_life
from tests.ai_inference.conftest import alerts_of
from tests.factories import HomeFixture, make_home
from tests.routine_history import history_events, local_midnight, write_history

ZONE = ZoneInfo("Europe/Berlin")
FIRST = date(2024, 9, 1)
KINDS = {key: (kind, room_kind) for _, room_kind, keys in STANDARD_LAYOUT for key, kind in keys}


def sim(serial: str) -> SimHome:
    sensors = tuple(
        SimSensor(key, kind, room_kind, room)
        for room, room_kind, keys in STANDARD_LAYOUT
        for key, kind in keys
    )
    return SimHome(hub_serial=serial, timezone=ZONE.key, sensors=sensors)


def events_of(readings: list[tuple[str, int, float]]) -> list[Event]:
    return sorted(
        (Event(ts, *KINDS[key], value) for key, ts, value in readings), key=lambda e: e.ts
    )


def trained(home: SimHome, profile: str, seed: int) -> tuple[TrendModel, list[Event]]:
    """The trend numbers fitted on 90 ordinary days (harmless changes included)."""
    history = labelled_life(
        home, PROFILES[profile], FIRST - timedelta(days=90), 90, seed=seed, anomaly_chance=0.0
    )
    past = events_of(history.readings)
    model = fit_trend(list(history_days(past, ZONE)))
    assert model is not None
    return model, past


def period(past: list[Event], readings: list[tuple[str, int, float]], days: int) -> list[DayRecord]:
    return complete_days(past + events_of(readings), ZONE, FIRST, FIRST + timedelta(days=days - 1))


def model_of(threshold: float = 10.0) -> TrendModel:
    """Hand-made numbers: every feature centred at 0 with scale 1, a mean z of 0 +- 1."""
    return TrendModel(
        features=dict.fromkeys(TREND_DIRECTIONS, (0.0, 1.0)),
        window=(9, 20),
        combined=(0.0, 1.0),
        threshold=threshold,
        training_max=2.0,
    )


def worrying(z: float) -> dict[str, float]:
    """A day whose every feature leans the worrying way by `z` scales."""
    return {name: direction * z for name, direction in TREND_DIRECTIONS.items()}


@pytest.mark.parametrize("profile", ["night_owl", "frail"])
def test_a_gradual_decline_is_caught_in_its_weeks_and_not_before(profile: str) -> None:
    home = sim(f"trend-{profile}")
    model, past = trained(home, profile, seed=7)
    life = labelled_life(home, PROFILES[profile], FIRST, 42, seed=8, decline_days=21)
    decline = next(lb for lb in life.labels if lb.kind == Anomaly.GRADUAL_DECLINE)
    skip = {lb.start.astimezone(ZONE).date() for lb in life.labels if lb.harmful}
    _, alerts = judge_days(
        model, TrendState(), period(past, life.readings, 42), first=FIRST, skip=skip
    )
    assert alerts, "the decline was not caught"
    assert all(day >= decline.start.astimezone(ZONE).date() for day, _ in alerts), alerts
    _, run = alerts[0]
    words = english(explanation(model, run))
    assert run.run_days >= 3 and run.total >= model.threshold
    assert any(w in words for w in ("getting up at", "moving about", "kitchen")), words


@pytest.mark.parametrize("seed", [21, 22])
def test_an_ordinary_noisy_month_with_harmless_changes_does_not_alert(seed: int) -> None:
    home = sim("trend-ordinary")
    model, past = trained(home, "often_out", seed=seed)
    # Twice the bench's share of harmless changes: late nights, days out, visitors.
    life = labelled_life(
        home,
        PROFILES["often_out"],
        FIRST,
        30,
        seed=seed + 100,
        harmless_chance=0.4,
        anomaly_chance=0.0,
    )
    assert {lb.kind for lb in life.labels} >= {"late_night", "day_out"}
    state, alerts = judge_days(
        model, TrendState(), period(past, life.readings, 30), first=FIRST, skip=set()
    )
    assert alerts == []
    assert state.total < model.threshold


def test_the_threshold_comes_from_the_training_days() -> None:
    model, _ = trained(sim("trend-threshold"), "early_riser", seed=3)
    assert model.threshold >= TREND_MIN_THRESHOLD
    assert model.threshold >= 1.25 * model.training_max
    assert model.window[0] < model.window[1]
    assert all(scale > 0 for _, scale in model.features.values())


def test_a_single_very_bad_day_cannot_alert_alone() -> None:
    model = model_of()
    state = TrendState()
    for z in [0.0] * 10 + [50.0] + [0.0] * 12:  # a day in bed, nothing in the kitchen...
        judged = step(model, state, worrying(z))
        assert judged.alert is None
        state = judged.state
    # One day adds at most DAY_CLIP - DRIFT, far below the threshold; ordinary days drain
    # it by DRIFT each.
    assert model.threshold > DAY_CLIP - DRIFT
    assert state.total == 0.0


def test_the_sum_starts_again_from_zero_after_an_alert() -> None:
    model = model_of(threshold=10.0)
    state = TrendState()
    alerts = []
    for day in range(8):
        judged = step(model, state, worrying(3.0))  # each day adds 3 - DRIFT
        state = judged.state
        if judged.alert is not None:
            alerts.append((day, judged.alert))
    # 2.75 a day: 11.0 on the 4th day alerts; from zero again, the 8th day alerts again.
    assert [day for day, _ in alerts] == [3, 7]
    assert alerts[0][1].run_days == 4 and alerts[0][1].total == pytest.approx(11.0)
    assert state == TrendState()
    assert english(explanation(model, alerts[0][1]))


def test_days_without_data_change_nothing_and_gaps_do_not_crash() -> None:
    model = model_of()
    state = step(model, TrendState(), worrying(2.0)).state
    nothing = dict.fromkeys(TREND_DIRECTIONS, math.nan)
    assert step(model, state, nothing).state == state
    assert step(model, state, {}).state == state
    # Ten days of a month without a single reading (the hub was off): no record, no alert.
    home = sim("trend-gap")
    trend, past = trained(home, "night_bathroom", seed=5)
    life = labelled_life(home, PROFILES["night_bathroom"], FIRST, 30, seed=6, anomaly_chance=0.0)
    gap_from = int(local_midnight(FIRST + timedelta(days=10), ZONE.key).timestamp() * 1000)
    gap_to = int(local_midnight(FIRST + timedelta(days=20), ZONE.key).timestamp() * 1000)
    kept = [r for r in life.readings if not gap_from <= r[1] < gap_to]
    records = period(past, kept, 30)
    assert len(records) == 21  # the 20 days with readings, and the evening before the first
    assert {r.day for r in records}.isdisjoint(FIRST + timedelta(days=d) for d in range(10, 20))
    _, alerts = judge_days(trend, TrendState(), records, first=FIRST, skip=set())
    assert alerts == []
    # A garbled kept state is a fresh start, not a crash.
    assert TrendState.from_dict({"total": "x"}) == TrendState()


def test_the_artifact_carries_the_trend_and_older_ones_still_load() -> None:
    home = sim("trend-artifact")
    trend, past = trained(home, "early_riser", seed=9)
    records = list(history_days(past, ZONE))
    model = dataclasses.replace(fit_model(records, resident_id=4), trend=trend)
    assert RoutineModel.from_json(model.to_json()) == model
    doc = orjson.loads(model.to_json())
    del doc["trend"]  # an artifact trained before the decline watch: loads, not watched
    assert RoutineModel.from_json(orjson.dumps(doc)).trend is None
    doc["trend"] = {"features": {}, "window": [9, 20]}
    with pytest.raises(ArtifactError, match="trend"):
        RoutineModel.from_json(orjson.dumps(doc))
    day = day_features(records[1], trend, before=records[0])
    assert set(day) == set(TREND_DIRECTIONS)


# -- inference's daily watch, on PostgreSQL and Redis ------------------------------------

TODAY = date(2026, 11, 10)


async def test_the_daily_watch_judges_each_day_once_and_only_with_trend_numbers(
    database_url: str,
    engine: AsyncEngine,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home = await make_home(sessionmaker, timezone="Asia/Seoul")
    base, trend = fitted(home)
    await write_history(database_url, home, TODAY - timedelta(days=3), 3)
    models = {home.resident_id: dataclasses.replace(base, trend=trend)}
    watcher = watcher_of(engine, redis, models)
    now = local_midnight(TODAY, home.timezone) + timedelta(minutes=10)
    # An ordinary day: judged, kept, no alert (one day can never reach the threshold).
    assert await watcher.watch([home.resident_id], now) == []
    kept = orjson.loads(await kept_state(redis, home.resident_id))
    assert kept["day"] == (TODAY - timedelta(days=1)).isoformat()
    assert TrendState.from_dict(kept["state"]).total < trend.threshold
    # The same day is not judged twice, by this process or another.
    assert await watcher.watch([home.resident_id], now + timedelta(minutes=10)) == []
    assert orjson.loads(await kept_state(redis, home.resident_id)) == kept
    # Without trend numbers (an artifact trained before the watch) nobody is watched.
    models[home.resident_id] = base
    assert await watcher.watch([home.resident_id], now + timedelta(days=1)) == []
    assert orjson.loads(await kept_state(redis, home.resident_id)) == kept
    assert await alerts_of(engine, home.resident_id) == []


async def test_a_leaning_day_raises_an_explained_alert_unless_a_day_alert_covered_it(
    database_url: str,
    engine: AsyncEngine,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home = await make_home(sessionmaker, timezone="Asia/Seoul")
    fallen = await make_home(sessionmaker, timezone="Asia/Seoul")
    base, trend = fitted(home)
    # Numbers under which an ordinary day leans the worrying way past the threshold: the
    # usual wake-up four hours earlier, a low threshold (this test only).
    features = dict(trend.features)
    wake_centre, wake_scale = features["wake"]
    features["wake"] = (wake_centre - 240.0, wake_scale)
    leaning = dataclasses.replace(trend, features=features, combined=(-1.0, 0.2), threshold=0.5)
    models = {}
    for who in (home, fallen):
        await write_history(database_url, who, TODAY - timedelta(days=2), 2)
        models[who.resident_id] = dataclasses.replace(
            base, resident_id=who.resident_id, trend=leaning
        )
    yesterday_noon = local_midnight(TODAY, home.timezone) - timedelta(hours=12)
    fall = draft_alert(
        resident_id=fallen.resident_id,
        kind=AlertKind.FALL,
        severity=Severity.CRITICAL,
        words=AlertText(
            title=phrase("plain", text="Fall"), explanation=phrase("plain", text="A fall")
        ),
        sensor_id=None,
        room=None,
        at=yesterday_noon,
    )
    await raise_alert(engine=engine, redis=redis, draft=fall, facility_id=fallen.facility_id)
    watcher = watcher_of(engine, redis, models)
    now = local_midnight(TODAY, home.timezone) + timedelta(minutes=5)
    assert await watcher.watch([home.resident_id, fallen.resident_id], now) == [home.resident_id]
    (alert,) = await alerts_of(engine, home.resident_id)
    assert alert["kind"] == "gradual_decline" and alert["severity"] == "medium"
    assert "may be slowly declining" in alert["title"]
    assert "getting up at" in alert["explanation"], alert["explanation"]
    assert alert["text"]["explanation"]["key"] == "alert.gradual_decline.explanation"
    kept = orjson.loads(await kept_state(redis, home.resident_id))
    assert kept["state"]["total"] == 0.0  # from zero again after the alert
    # The fallen resident's day was left out: the carer heard about that day already.
    assert [a["kind"] for a in await alerts_of(engine, fallen.resident_id)] == ["fall"]


def fitted(home: HomeFixture) -> tuple[RoutineModel, TrendModel]:
    """A routine model and trend numbers fitted on five simulated weeks before TODAY."""
    zone = ZoneInfo(home.timezone)
    records = list(history_days(history_events(home, TODAY - timedelta(days=40), 38), zone))
    trend = fit_trend(records)
    assert trend is not None
    return fit_model(records, resident_id=home.resident_id), trend


def watcher_of(engine: AsyncEngine, redis: Redis, models: dict[int, RoutineModel]) -> TrendWatcher:
    return TrendWatcher(
        engine=engine, redis=redis, directory=Directory(engine), own_model=models.get
    )


async def kept_state(redis: Redis, resident_id: int) -> bytes:
    """The watch's kept state of a resident (it must be there)."""
    raw = await redis.hget(TREND_KEY, str(resident_id))
    assert isinstance(raw, bytes)
    return raw


def test_the_words_name_only_changes_for_the_worse() -> None:
    model = model_of()
    # Out more than usual on average, though the lopsided days summed to a positive lean.
    run = TrendState(
        total=10.0,
        run_days=5,
        sums={"out_minutes": 50.0, "wake": 15.0},
        counts={"out_minutes": 5, "wake": 5},
        z_sums={"out_minutes": 4.0, "wake": 3.0},
    )
    words = english(explanation(model, run))
    assert "out " not in words and "getting up at 00:03" in words, words
    # No feature worse on average: the alert still says why, in words.
    run = TrendState(
        total=10.0,
        run_days=5,
        sums={"out_minutes": 50.0},
        counts={"out_minutes": 5},
        z_sums={"out_minutes": 4.0},
    )
    words = english(explanation(model, run))
    assert words == "several habits each a little off, none far from usual on its own", words
