"""How `make bench-detect` scores alerts against labels: caught, missed, false, per kind."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sst_devices.profiles import Anomaly, Label

GRACE = timedelta(hours=2)
FITS: dict[str, set[str]] = {
    Anomaly.FALL: {"fall", "inactivity", "long_bathroom_stay", "no_wake_up"},
    Anomaly.LONG_INACTIVITY: {"inactivity"},
    Anomaly.NIGHT_WANDERING: {"night_exit"},
    Anomaly.PROLONGED_BATHROOM: {"long_bathroom_stay"},
    Anomaly.SKIPPED_MEALS: set(),  # no hard rule looks at meals: the routine model's job
    Anomaly.GRADUAL_DECLINE: {"gradual_decline"},  # the routine model's trend watch (TREND)
}
ROUTINE = "routine_deviation"
TREND = "gradual_decline"  # the routine model's trend watch
MODEL_KINDS = frozenset({ROUTINE, TREND})  # alerts of the model layer; the rest are rules'
DECLINE = Anomaly.GRADUAL_DECLINE.value


@dataclass(frozen=True)
class Raised:
    """An alert the rules raised: its kind, its episode, when it was decided."""

    kind: str
    episode_at: datetime
    decided_at: datetime


def score(labels: list[Label], raised: list[Raised]) -> dict[str, Any]:
    """Caught anomalies (with time to detect), false alerts, per kind.

    A routine-deviation alert fits any anomaly it falls in. A gradual decline spans weeks
    with day anomalies inside it: only an alert that none of those explains catches it.
    """
    caught: dict[str, list[float]] = defaultdict(list)
    missed: dict[str, int] = defaultdict(int)
    used: set[int] = set()
    day_labels = sorted(
        (label for label in labels if label.harmful), key=lambda lb: lb.kind == DECLINE
    )
    for label in day_labels:
        fits = [
            (i, r)
            for i, r in enumerate(raised)
            if (r.kind in FITS[label.kind] or r.kind == ROUTINE)
            and label.start <= r.decided_at <= label.end + GRACE
            and not (label.kind == DECLINE and i in used)
        ]
        if fits:
            first = min(fits, key=lambda pair: pair[1].decided_at)
            caught[label.kind].append((first[1].decided_at - label.start).total_seconds() / 60)
            used.update(i for i, _ in fits)
        else:
            missed[label.kind] += 1
    false = [r for i, r in enumerate(raised) if i not in used]
    return {"caught": caught, "missed": missed, "false": false}


class Tally:
    """Caught, missed and false alerts of one detection layer over every resident."""

    def __init__(self) -> None:
        self.caught: dict[str, list[float]] = defaultdict(list)
        self.missed: dict[str, int] = defaultdict(int)
        self.false_by_profile: dict[str, list[str]] = defaultdict(list)

    def add(self, profile: str, labels: list[Label], raised: list[Raised]) -> None:
        """Score one resident's alerts against its labels."""
        scored = score(labels, raised)
        for kind, minutes in scored["caught"].items():
            self.caught[kind].extend(minutes)
        for kind, count in scored["missed"].items():
            self.missed[kind] += count
        self.false_by_profile[profile].extend(r.kind for r in scored["false"])

    def figures(self, residents_per_profile: int, days: int) -> dict[str, Any]:
        """Sensitivity and time to detect per anomaly kind, false alerts per 30 days."""
        per_kind = {}
        for kind in Anomaly:
            hits, misses = self.caught.get(kind, []), self.missed.get(kind, 0)
            total = len(hits) + misses
            per_kind[kind.value] = {
                "events": total,
                "sensitivity": round(len(hits) / total, 3) if total else None,
                "median_min_to_detect": round(statistics.median(hits), 1) if hits else None,
                "p95_min_to_detect": (
                    round(statistics.quantiles(hits, n=20)[18], 1) if len(hits) >= 2 else None
                ),
            }
        months = len(self.false_by_profile) * residents_per_profile * days / 30
        every = [k for kinds in self.false_by_profile.values() for k in kinds]
        return {
            "per_anomaly": per_kind,
            "false_alerts_per_resident_per_30_days": round(len(every) / months, 3),
            "false_alerts_by_kind": {k: every.count(k) for k in sorted(set(every))},
            "false_alerts_per_30_days_by_profile": {
                name: round(len(kinds) / (residents_per_profile * days / 30), 3)
                for name, kinds in self.false_by_profile.items()
            },
        }
