"""Write the server's text catalog for the dashboard's tests: `python -m sst_core.texts_export`.

dashboard/tests/server-texts.json holds every key the server can emit with its English
and Korean templates, the formats, and a sample text of each key with the English and
Korean words the server renders for it. The dashboard's catalog test reads it: every key
must be in en.ts and ko.ts (with these very templates), and the page must render each
sample exactly as the server did (the server's Korean is what e-mails and pushes say).
It also lists the tunable rules with their descriptions and parameters, which the
thresholds editor shows by key ("rule.<rule>.*", "param.<name>").
tests/test_texts.py fails when the file is older than the catalog.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from sst_core.localized import render
from sst_core.texts import FORMATS, PLACEHOLDER, Text, TextParam, english
from sst_core.texts_en import EN_TEXTS
from sst_core.texts_ko import KO_TEXTS
from sst_core.thresholds import RULE_PARAMS, RuleName, describe

OUTPUT = Path(__file__).resolve().parents[2] / "dashboard" / "tests" / "server-texts.json"

# Sample values of the formats, and of the plain params by name ("key:param" first).
_FORMATTED: dict[str, list[TextParam]] = {
    "in": ["Bathroom", None],
    "the": ["Living room", None],
    "span": [200, 60, 45],
    "hmm": [65, 45],
    "g": [16.5, 7.0],
    "f1": [21.34],
    "times": [0, 1, 2, 5],
    "daymon": ["2026-09-03"],
    "weekday": [0, 6],
    "sensor": ["temperature", "kettle"],
    "watches": ["bed", "motion"],
    "state": ["open", "acknowledged"],
}
_NESTED = {
    "since": None,
    "seen": "alert.no_wake_up.seen",
    "more": "alert.sensor_silent.more",
    "what": "alert.hub_offline.lost",
    "when": "clock.day",
    "why": "routine.deviations",
    "head": "routine.kitchen_since",
    "at_home": "routine.at_home",
    "woke": "summary.woke",
    "title": "alert.fall.title",
    "explanation": "alert.fall.explanation",
    "severity": "notify.severity.high",
    "repeats": "notify.repeats",
    "urgency": "notify.staff.urgency",
    "team": "notify.guardian.team_silent",
    "reach": "notify.contact.reach",
    "until": "summary.until",
    "reason": "resolved.movement_at",
}
# null: the words leave them out
_OPTIONAL = frozenset({"seen", "more", "at_home", "woke", "repeats", "urgency", "reach", "until"})
_PLAIN: dict[str, TextParam] = {
    "text": "An older alert's words",
    "name": "Kim Young-ja",
    "time": "14:03",
    "since": "06:45",
    "alert.inactivity.explanation:since": Text(
        key="alert.inactivity.since_last", params={"time": "09:10", "for_min": 200}
    ),
    "waking_from": "08:00",
    "waking_until": "21:00",
    "usual": 3,
    "alert.no_wake_up.explanation:usual": "07:30",
    "routine.not_up:usual": "07:30",
    "routine.got_up:usual": "07:30",
    "now": "10:30",
    "limit": 45,
    "limit_min": 60,
    "count": 2,
    "pct": 12,
    "score": 87,
    "days": 9,
    "observed": 1,
    "expected": 14,
    "visits": 4,
    "motion": 23,
    "hours": 11,
    "room_kind": "bathroom",
    "link": "https://care.example.org/#/alerts/7",
    "phone": "010-1234-5678",
    "error": "args.room: Field required",
    "commands": "41, 42",
    "robot.progress.no_such_room:room": "Attic",
    "battery": 18,
    "trend.wake:mean": "08:10",
    "trend.wake:usual": "07:25",
    "percent": 18,
    "alert.gradual_decline.explanation:why": Text(
        key="trend.explanation",
        params={
            "changes": [
                Text(key="trend.wake", params={"mean": "08:10", "usual": "07:25"}),
                Text(key="trend.day_activity_rate", params={"percent": 18}),
            ]
        },
    ),
}


def _nested_sample(key: str) -> Text:
    return samples_of(key)[0]


def _values(key: str, name: str, spec: str | None) -> list[TextParam]:
    if spec == "list":
        return [[_nested_sample("routine.got_up"), _nested_sample("routine.ordinary")]]
    if spec is not None:
        return _FORMATTED[spec]
    if f"{key}:{name}" in _PLAIN:
        return [_PLAIN[f"{key}:{name}"]]
    if name in _NESTED and _NESTED[name] is not None:
        nested = _NESTED[name]
        assert nested is not None
        return [_nested_sample(nested), None] if name in _OPTIONAL else [_nested_sample(nested)]
    if name in _PLAIN:
        return [_PLAIN[name]]
    raise KeyError(f"{key}: no sample value for the parameter {name!r}; add one above")


def samples_of(key: str) -> list[Text]:
    """Texts of `key` that together use every sample value of each of its parameters."""
    found = PLACEHOLDER.findall(EN_TEXTS[key])
    choices = {name: _values(key, name, spec or None) for name, spec in found}
    if any(name in ("room", "sensor_kind") for name in choices):
        choices.setdefault("room_kind", ["bathroom"])
    longest = max((len(v) for v in choices.values()), default=1)
    return [
        Text(key=key, params={name: vals[i % len(vals)] for name, vals in choices.items()})
        for i in range(longest)
    ]


def catalog() -> dict[str, Any]:
    """The file's content: templates, formats and rendered samples."""
    samples = [
        {"text": sample.model_dump(mode="json"), "en": english(sample), "ko": render(sample, "ko")}
        for key in EN_TEXTS
        for sample in samples_of(key)
    ]
    return {
        "templates": EN_TEXTS,
        "ko_templates": KO_TEXTS,
        "formats": sorted(FORMATS),
        "samples": samples,
        "rules": rules(),
    }


def rules() -> dict[str, Any]:
    """The tunable rules, their description and parameters (the thresholds editor's words)."""
    return {
        rule.value: {
            "description": describe(rule),
            # parameter -> default (an object, not a list: prettier keeps the file as written)
            "params": {name: f.default for name, f in RULE_PARAMS[rule].model_fields.items()},
        }
        for rule in RuleName
    }


def render_file() -> bytes:
    """The JSON file as written (stable: sorted keys, indented, newline at the end)."""
    return orjson.dumps(catalog(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def main() -> None:
    """Write the file."""
    OUTPUT.write_bytes(render_file())
    sys.stdout.write(f"wrote {OUTPUT}\n")


if __name__ == "__main__":
    main()
