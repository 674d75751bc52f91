"""Texts the server writes for people, as a message key with raw parameters.

An alert's title, a risk score's explanation, a daily summary's sentence: each is a
`Text` (key + params: names, room names, minutes, local "HH:MM" times, counts; never
pre-formatted English spans) stored and sent next to its English words. The English
words are rendered here from the same key and params (`english`), so the stored English
and the structured form cannot drift; the dashboard renders the same keys from its own
catalogs (dashboard/src/i18n/{en,ko}.ts, section "text.") in the reader's language and
falls back to the English words for a key it does not know.

A placeholder is `{param}` or `{param:format}`; the formats are few and shared with the
dashboard (dashboard/src/i18n/server.ts), see `_FORMATS`. A param holding a `Text`
renders as its words (null: nothing), a list of them as "; "-separated words.
docs/dashboard.md ("Server texts") says how a new alert kind adds its texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sst_core.texts_en import EN_TEXTS, MONTHS, SENSOR_WATCHES, SENSOR_WORDS, WEEKDAYS


class Text(BaseModel):
    """A server text in a language-neutral form: a catalog key and its raw parameters."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(
        description="Catalog key (sst_core/texts_en.py; the dashboard's en.ts/ko.ts as "
        "'text.<key>'), e.g. alert.fall.title.",
        examples=["alert.fall.title"],
    )
    params: dict[str, TextParam] = Field(
        default_factory=dict,
        description="Raw values: names, room names (with <param>_kind), minutes, home-local "
        "HH:MM times, YYYY-MM-DD dates, counts; a nested text, or a list of them.",
    )


TextParam = str | int | float | bool | Text | list[Text] | None


class AlertText(BaseModel):
    """The structured title and explanation of an alert (the `text` column of alerts)."""

    model_config = ConfigDict(frozen=True)

    title: Text
    explanation: Text


Text.model_rebuild()

PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")


class TextError(KeyError):
    """A text whose key, parameter or format the English catalog does not have."""


def _in_room(name: Any, params: Mapping[str, Any], param: str) -> str:
    return f"in the {name}" if name else "at home (room not set)"


def _the_room(name: Any, params: Mapping[str, Any], param: str) -> str:
    if name:
        return f"the {name}"
    kind = params.get(f"{param}_kind")
    return f"the {kind}" if kind else "an unnamed room"


def span(minutes: int) -> str:
    """A duration in words: 3 h 20 min, 3 h, 45 min."""
    hours, rest = divmod(max(0, int(minutes)), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    if hours:
        return f"{hours} h"
    return f"{rest} min"


def hmm(minutes: int) -> str:
    """A duration as the routine model says it: 45 min, 1 h 05 min."""
    whole = int(minutes)
    if whole < 60:
        return f"{whole} min"
    return f"{whole // 60} h {whole % 60:02d} min"


def times(count: int) -> str:
    """How often, in words: not at all, once, twice, 3 times."""
    return {0: "not at all", 1: "once", 2: "twice"}.get(int(count), f"{int(count)} times")


def _daymon(value: Any) -> str:
    day = date.fromisoformat(str(value))
    return f"{day.day} {MONTHS[day.month - 1]}"


def _integer(value: Any) -> str:
    # A fraction needs a format (g, f1): Python and JavaScript print bare floats differently.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TextError(f"not text or an integer: {value!r}")
    return str(value)


_Format = Callable[[Any, Mapping[str, Any], str], str]
_FORMATS: dict[str, _Format] = {
    "in": _in_room,  # a room name (or null): "in the Bathroom"
    "the": _the_room,  # a room name, else `<param>_kind`: "the Bathroom"
    "span": lambda v, p, n: span(v),  # minutes: "3 h 20 min"
    "hmm": lambda v, p, n: hmm(v),  # minutes: "1 h 05 min"
    "g": lambda v, p, n: f"{float(v):g}",  # a number, shortest: 16, 16.5
    "f1": lambda v, p, n: f"{float(v):.1f}",  # a number, one decimal
    "times": lambda v, p, n: times(v),  # a count: "twice"
    "daymon": lambda v, p, n: _daymon(v),  # a local date YYYY-MM-DD: "3 Nov"
    "weekday": lambda v, p, n: WEEKDAYS[int(v)],  # 0 = Monday
    "sensor": lambda v, p, n: SENSOR_WORDS.get(str(v), f"{v} sensor"),  # a sensor kind
    "watches": lambda v, p, n: SENSOR_WATCHES.get(str(v), "it"),  # what a sensor kind watches
    "state": lambda v, p, n: str(v),  # an alert state (translated by the dashboard)
    "list": lambda v, p, n: "; ".join(english(item) for item in v),  # a list of Texts
}
FORMATS = frozenset(_FORMATS)


def _value(value: Any, spec: str | None, params: Mapping[str, Any], name: str) -> str:
    if spec is not None:
        if spec not in _FORMATS:
            raise TextError(f"unknown format {spec!r}")
        return _FORMATS[spec](value, params, name)
    if value is None:
        return ""
    if isinstance(value, Text):
        return english(value)
    if isinstance(value, str):
        return value
    return _integer(value)


def english(text: Text, catalog: Mapping[str, str] = EN_TEXTS) -> str:
    """The English words of a text; TextError if its key or a parameter is unknown."""
    try:
        template = catalog[text.key]
    except KeyError:
        raise TextError(f"no English text for {text.key!r}") from None

    def fill(match: re.Match[str]) -> str:
        name, spec = match.group(1), match.group(2)
        if name not in text.params:
            raise TextError(f"{text.key}: parameter {name!r} is missing")
        return _value(text.params[name], spec, text.params, name)

    return PLACEHOLDER.sub(fill, template)


def phrase(key: str, **params: TextParam) -> Text:
    """A Text; fails at once when the key is not in the English catalog."""
    if key not in EN_TEXTS:
        raise TextError(f"no English text for {key!r}")
    return Text(key=key, params=params)


def keys_used(value: Text) -> set[str]:
    """Every key of a text and of the texts nested in its parameters."""
    found = {value.key}
    for param in value.params.values():
        items = param if isinstance(param, list) else [param]
        for item in items:
            if isinstance(item, Text):
                found |= keys_used(item)
    return found


def stored_text(stored: object) -> Text | None:
    """A Text read back from a JSONB column; None when absent or not a Text (older rows)."""
    if stored is None:
        return None
    try:
        return Text.model_validate(stored)
    except ValidationError:
        return None


def stored_alert_text(stored: object) -> AlertText | None:
    """An AlertText read back from alerts.text; None when absent or unreadable."""
    if stored is None:
        return None
    try:
        return AlertText.model_validate(stored)
    except ValidationError:
        return None
