"""`make bench-detect --direct`: the rules' and the models' own code, in-process (fast).

The hard rules' code (instant rules on every reading, windowed rules with their hysteresis
every `--step-min` minutes of the home's clock) and the routine model (bench/detect_routine.py)
judge the simulated readings directly, not through MQTT -> gateway -> PostgreSQL ->
inference: what the rules and models decide, not the pipeline (the default replay,
bench/detect_replay.py, goes through it).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from detect_routine import day_alert_times, feature_events, score_period, train, trend_alerts
from detect_scoring import DECLINE, ROUTINE, Raised, Tally, score

from sst_ai_inference.hysteresis import Action, RuleState, step
from sst_ai_inference.rules import HARD_RULES
from sst_ai_inference.settings import InferenceSettings
from sst_ai_inference.timeline import Event, HomeView, SensorInfo
from sst_ai_inference.windowed import WINDOWED_RULES, FixedWakeTimes
from sst_ai_training.settings import TrainingSettings
from sst_backend.seed import STANDARD_LAYOUT
from sst_core.features import FEATURE_VERSION
from sst_core.thresholds import RuleName, effective_params
from sst_devices.life import SimHome, SimSensor
from sst_devices.profiles import PROFILES, labelled_life

LOOKBACK = timedelta(hours=26)


def home(serial: str, zone: str) -> tuple[SimHome, dict[str, SensorInfo]]:
    """The standard flat, and the rules' view of its sensors."""
    sensors = tuple(
        SimSensor(key, kind, room_kind, room_name)
        for room_name, room_kind, keys in STANDARD_LAYOUT
        for key, kind in keys
    )
    infos = {
        s.key: SensorInfo(i + 1, s.kind, s.room_kind, s.room_name) for i, s in enumerate(sensors)
    }
    return SimHome(hub_serial=serial, timezone=zone, sensors=sensors), infos


def run_rules(
    readings: list[tuple[str, int, float]],
    infos: dict[str, SensorInfo],
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    every: timedelta,
    overrides: dict[RuleName, dict[str, Any]],
) -> tuple[list[Raised], int]:
    """Every alert the rules raise over the readings; and how many judgements were made."""
    events = [
        Event(
            datetime.fromtimestamp(ts / 1000, tz=UTC),
            infos[key].sensor_id,
            infos[key].kind,
            infos[key].room_kind,
            infos[key].room_name,
            value,
        )
        for key, ts, value in readings
    ]
    raised: list[Raised] = []
    for event in events:  # instant rules: on the reading
        for hard in HARD_RULES:
            if event.sensor_kind == hard.sensor_kind and event.value >= hard.threshold:
                raised.append(Raised(hard.alert_kind.value, event.at, event.at))
    params = {rule: effective_params(rule, overrides.get(rule)) for rule in RuleName}
    wake = FixedWakeTimes()
    states = {rule.kind: RuleState() for rule in WINDOWED_RULES}
    judged = 0
    times = [e.at for e in events]
    lo = hi = 0
    day = start
    while day < end:  # one view per day keeps each judgement's work small
        day_end = min(day + timedelta(days=1), end)
        while lo < len(times) and times[lo] <= day - LOOKBACK:
            lo += 1
        while hi < len(times) and times[hi] <= day_end:
            hi += 1
        view = HomeView(
            resident_id=1,
            resident_name="the resident",
            timezone=zone,
            events=events[lo:hi],
            sensors=list(infos.values()),
            hub_online=True,
        )
        t = day
        while t < day_end:
            for rule in WINDOWED_RULES:
                finding = rule.judge(view, t, params[rule.params], wake)
                new, action = step(states[rule.kind], finding, t, rule.clear_hold)
                states[rule.kind] = new
                if action == Action.RAISE:
                    raised.append(Raised(rule.kind.value, finding.episode_at or t, t))
                judged += 1
            t += every
        day = day_end
    return raised, judged


def direct(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """The three layers judged in-process; the figures and the routine alerts' words."""
    zone = ZoneInfo(args.zone)
    first = date(2024, 9, 1)  # across the October DST change
    every = timedelta(minutes=args.step_min)
    settings = InferenceSettings()
    threshold = TrainingSettings().train_alert_threshold
    tallies = {"hard_rules": Tally(), "routine_model": Tally(), "rules_and_model": Tally()}
    harmless: dict[str, int] = defaultdict(int)
    training: dict[str, Any] = {}
    routine_alerts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    decline_control: dict[str, int] = defaultdict(int)
    judged = scores = 0
    started = time.perf_counter()
    rules_s = model_s = train_s = 0.0
    for name, profile in PROFILES.items():
        for n in range(args.residents):
            sim, infos = home(f"bench-{name}-{n}", args.zone)
            seed = args.seed + n + 1
            life = labelled_life(sim, profile, first, args.days, seed=seed, decline_days=21)
            start = datetime.combine(first, datetime.min.time(), tzinfo=zone).astimezone(UTC)
            end = start + timedelta(days=args.days)
            began = time.perf_counter()
            # What staff would enter for the resident: the usual wake time (rounded to the
            # quarter hour); every other threshold stays at its default.
            overrides = {RuleName.NO_WAKE_UP: {"wake_hour": round(profile.wake_mean / 15) / 4}}
            raised, count = run_rules(life.readings, infos, zone, start, end, every, overrides)
            rules_s += time.perf_counter() - began
            judged += count
            tallies["hard_rules"].add(name, life.labels, raised)
            for label in life.labels:
                if not label.harmful:
                    harmless[label.kind] += 1
            if args.no_model:
                continue
            # The normal history before the labelled period: ordinary days and harmless
            # changes, no anomaly (another seed, so no day repeats the labelled period's).
            history = labelled_life(
                sim,
                profile,
                first - timedelta(days=args.history_days),
                args.history_days,
                seed=1000 + args.seed + n,
                anomaly_chance=0.0,
            )
            began = time.perf_counter()
            resident_id = len(training) + 1
            past = feature_events(history.readings, infos)
            model, metrics = train(past, zone, resident_id=resident_id, threshold=threshold)
            train_s += time.perf_counter() - began
            training[f"{name}-{n}"] = {
                "days": model.days,
                "calibration": round(model.calibration, 2),
                "held_out_false_alert_rate": round(metrics.get("false_alert_rate", 0.0), 3),
            }
            began = time.perf_counter()
            events = past + feature_events(life.readings, infos)
            seen = sorted(ts for _, ts, _ in history.readings + life.readings)
            alerts, count = score_period(model, events, zone, start, end, settings, seen=seen)
            model_s += time.perf_counter() - began
            scores += count
            by_model = [Raised(ROUTINE, a.decided_at, a.decided_at) for a in alerts]
            # The trend watch leaves out days a rule or the routine model alerted on.
            alerted = day_alert_times([(r.kind, r.decided_at) for r in raised + by_model])
            trend = trend_alerts(model, events, zone, start, end, alerted_at=alerted)
            by_model += [Raised(a.kind, a.decided_at, a.decided_at) for a in trend]
            alerts += trend
            tallies["routine_model"].add(name, life.labels, by_model)
            tallies["rules_and_model"].add(name, life.labels, raised + by_model)
            # Control: the same life without the decline. Routine alerts none of the day
            # anomalies explains, over the decline's weeks, show what chance alone raises.
            control = labelled_life(sim, profile, first, args.days, seed=seed)
            decline = next(lb for lb in life.labels if lb.kind == DECLINE)
            events = past + feature_events(control.readings, infos)
            began = time.perf_counter()
            seen = sorted(ts for _, ts, _ in history.readings + control.readings)
            chance, count = score_period(
                model, events, zone, decline.start, end, settings, seen=seen
            )
            # The lives are the same before the decline: so are their alerts; after it,
            # the control's own rules and routine alerts leave days out of its trend.
            control_rules, _ = run_rules(
                control.readings, infos, zone, decline.start, end, every, overrides
            )
            before = [
                (r.kind, r.decided_at) for r in raised + by_model if r.decided_at < decline.start
            ]
            alerted = day_alert_times(
                before
                + [(r.kind, r.decided_at) for r in control_rules]
                + [(ROUTINE, a.decided_at) for a in chance]
            )
            chance_trend = trend_alerts(model, events, zone, start, end, alerted_at=alerted)
            chance += [a for a in chance_trend if a.decided_at >= decline.start]
            model_s += time.perf_counter() - began
            scores += count
            unexplained = score(
                [*control.labels, decline],
                [Raised(a.kind, a.decided_at, a.decided_at) for a in chance],
            )
            decline_control[DECLINE if unexplained["caught"].get(DECLINE) else "none"] += 1
            # ... and by the trend watch alone (its own alert kind)
            decline_control["by_trend"] += any(a.decided_at >= decline.start for a in chance_trend)
            routine_alerts[f"{name}-{n}"] = [
                {
                    "at": a.decided_at.isoformat(),
                    "kind": a.kind,
                    "score": a.score,
                    "why": a.explanation,
                }
                for a in alerts
            ]
    layers = ["hard_rules"] if args.no_model else list(tallies)
    figures: dict[str, Any] = {
        "benchmark": "detect",
        "mode": "direct",
        "version": (
            "direct: hard rules and routine models through their own code in-process "
            "(not the MQTT -> gateway -> inference path)"
        ),
        "profiles": list(PROFILES),
        "residents": len(PROFILES) * args.residents,
        "days_per_resident": args.days,
        "seed": args.seed,
        "history_days": None if args.no_model else args.history_days,
        "step_min": args.step_min,
        "routine_interval_s": None if args.no_model else settings.routine_interval_s,
        "feature_version": FEATURE_VERSION,
        "zone": args.zone,
        "harmless_changes": dict(harmless),
        **{layer: tallies[layer].figures(args.residents, args.days) for layer in layers},
        "training": training,
        "decline_control": (
            None
            if args.no_model
            else {
                "residents": decline_control[DECLINE] + decline_control["none"],
                "caught_without_a_decline": decline_control[DECLINE],
                "of_which_by_the_trend_watch": decline_control["by_trend"],
                "note": (
                    "the same lives without the decline: a routine alert over those weeks "
                    "that no day anomaly explains would have counted as catching it"
                ),
            }
        ),
        "judgements_per_s": round(judged / rules_s) if rules_s else None,
        "scores_per_s": round(scores / model_s) if model_s else None,
        "training_s": round(train_s, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
    return figures, routine_alerts
