"""`make bench-detect`: hard rules and routine models on labelled simulated months.

For each resident profile of sst_devices.profiles (early riser, night owl, frequent night
bathroom, often out, frail), draws months of life for a standard flat with injected
anomalies and harmless changes, and scores the alerts raised against the labels
(bench/detect_scoring.py): sensitivity and time to detect per anomaly kind, false alerts per
resident per 30 days, for the hard rules alone, the routine model alone and both.

Two modes, same lives (same seeds), same scoring:

* **replay** (the default): the labelled period goes through the real path. Private
  PostgreSQL, Redis and Mosquitto, the real `sst-hub-gateway` and `sst-ai-inference`
  processes, one hub agent per home publishing its readings over MQTT (QoS 1), the normal
  history first and the real `sst-train train --all --promote` on it, then the labelled
  period with inference's windowed rules and routine rounds on a clock the replay drives
  (bench/detect_replay.py says why driven). The alerts are read back from PostgreSQL.
  `--no-model`: the hard rules alone (no history, routine rounds off, hour steps).
* **direct** (`--direct`, fast): the rules' and the models' own code in-process
  (bench/detect_direct.py); no pipeline.

An anomaly is caught when an alert of a kind that fits it (any routine deviation fits) is
decided between its start and its end + 2 h; time to detect is from its start to that
decision (in simulated time). Any other alert is a false alert. Prints one JSON line and
writes bench/results/detect.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from detect_direct import direct, home
from detect_replay import ReplayHome, replay
from detect_scoring import MODEL_KINDS, Raised, Tally
from detect_stack import HomeSpec, Platform

from sst_ai_inference.settings import InferenceSettings
from sst_core.features import FEATURE_VERSION
from sst_devices.profiles import PROFILES, labelled_life

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "detect.json"
FIRST = date(2024, 9, 1)  # across the October DST change
# The replay's default (its last 21 days are the gradual decline) keeps `make bench-detect`
# near a quarter of an hour on the shared 2-core machine; BENCH_ARGS scale it.
REPLAY_DAYS = 30
DIRECT_DAYS = 60


def replay_homes(args: argparse.Namespace, *, first: date = FIRST) -> list[ReplayHome]:
    """The lives of the direct mode (same profiles, seeds and dates), to replay."""
    homes = []
    for name, profile in PROFILES.items():
        for n in range(args.residents):
            serial = f"bench-{name}-{n}"
            sim, infos = home(serial, args.zone)
            life = labelled_life(sim, profile, first, args.days, seed=n + 1, decline_days=21)
            history = None
            if not args.no_model:
                history = labelled_life(
                    sim,
                    profile,
                    first - timedelta(days=args.history_days),
                    args.history_days,
                    seed=1000 + n,
                    anomaly_chance=0.0,
                )
            spec = HomeSpec(f"{name}-{n}", serial, args.zone, round(profile.wake_mean / 15) / 4)
            kinds = {key: info.kind for key, info in infos.items()}
            homes.append(ReplayHome(spec, kinds, life, history))
    return homes


def replayed(args: argparse.Namespace) -> dict[str, Any]:
    """The labelled period through MQTT -> gateway -> PostgreSQL -> inference; the figures."""
    zone = ZoneInfo(args.zone)
    start = datetime.combine(FIRST, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    end = start + timedelta(days=args.days)
    settings = InferenceSettings()
    interval = 0.0 if args.no_model else settings.routine_interval_s
    step = timedelta(minutes=args.replay_step_min)
    homes = replay_homes(args)
    platform = Platform(tag=f"{int(time.time())}", routine_interval_s=interval)
    platform.windowed_every_s = args.step_min * 60
    raised, stats = asyncio.run(
        replay(platform, homes, start=start, end=end, step=step, model=not args.no_model)
    )
    tallies = {"hard_rules": Tally(), "routine_model": Tally(), "rules_and_model": Tally()}
    harmless: dict[str, int] = defaultdict(int)
    for replayed_home in homes:
        name = replayed_home.spec.name.rsplit("-", 1)[0]
        labels = replayed_home.life.labels
        alerts: list[Raised] = raised.get(replayed_home.resident_id, [])
        rules = [a for a in alerts if a.kind not in MODEL_KINDS]
        tallies["hard_rules"].add(name, labels, rules)
        tallies["routine_model"].add(name, labels, [a for a in alerts if a.kind in MODEL_KINDS])
        tallies["rules_and_model"].add(name, labels, alerts)
        for label in labels:
            if not label.harmful:
                harmless[label.kind] += 1
    layers = ["hard_rules"] if args.no_model else list(tallies)
    return {
        "benchmark": "detect",
        "mode": "replay",
        "version": (
            "replay: MQTT (QoS 1) -> sst-hub-gateway -> PostgreSQL/Redis -> sst-ai-inference "
            "processes, windowed rules and routine rounds on a driven clock"
        ),
        "profiles": list(PROFILES),
        "residents": len(homes),
        "days_per_resident": args.days,
        "history_days": None if args.no_model else args.history_days,
        "step_min": args.step_min,
        "replay_step_min": step.total_seconds() / 60,
        "routine_interval_s": None if args.no_model else interval,
        "feature_version": FEATURE_VERSION,
        "zone": args.zone,
        "harmless_changes": dict(harmless),
        **{layer: tallies[layer].figures(args.residents, args.days) for layer in layers},
        "training": stats.training,
        "replay": stats.figures(),
        "seconds": stats.total_s,
    }


def main() -> None:
    """Run the benchmark and print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days",
        type=int,
        default=None,
        help=f"labelled days per resident (default {REPLAY_DAYS}; {DIRECT_DAYS} with --direct)",
    )
    parser.add_argument("--residents", type=int, default=1, help="residents per profile")
    parser.add_argument(
        "--step-min", type=float, default=5.0, help="minutes between windowed judgements"
    )
    parser.add_argument("--zone", default="Europe/Berlin", help="the homes' time zone")
    parser.add_argument(
        "--history-days",
        type=int,
        default=90,
        help="normal history (harmless changes, no anomaly) the routine model trains on",
    )
    parser.add_argument("--no-model", action="store_true", help="the hard rules alone")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="direct: added to every life's seed (other lives: tune on one, report another)",
    )
    parser.add_argument(
        "--direct",
        action="store_true",
        help="in-process, the rules' and models' own code (fast; not the real path)",
    )
    parser.add_argument(
        "--replay-step-min",
        type=float,
        default=60.0,
        help="replay: minutes the driven clock moves per step, a whole number of routine "
        "intervals (each one a round)",
    )
    args = parser.parse_args()
    if args.days is None:
        args.days = DIRECT_DAYS if args.direct else REPLAY_DAYS
    extra: dict[str, Any] = {}
    if args.direct:
        figures, extra = direct(args)
    else:
        figures = replayed(args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(figures)
    RESULTS.write_text(line + "\n")
    if extra:
        (RESULTS.parent / "detect_routine_alerts.json").write_text(
            json.dumps(extra, indent=1) + "\n"
        )
    print(line)


if __name__ == "__main__":
    main()
