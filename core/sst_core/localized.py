"""Server texts in the reader's language, for what the server sends people directly.

E-mail, Web Push and webhook messages cannot be rendered by the dashboard, so the server
renders them in the recipient's language. English is `sst_core.texts.english`; other
languages fill their catalog's template (texts_ko.py) the way the dashboard's renderer
(dashboard/src/i18n/server.ts) does, from the same "fmt." words, so a message reads the
same in a mail as on the page. dashboard/tests/server-texts.json carries samples rendered
here, which the dashboard's test renders too and compares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args

from sst_core.texts import PLACEHOLDER, Text, TextError, english
from sst_core.texts_en import ROOM_KIND_NAMES
from sst_core.texts_ko import KO_TEXTS, KO_WORDS

Language = Literal["en", "ko"]  # the values of sst_core.domain.Language
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "en"

_CATALOGS: dict[str, tuple[Mapping[str, str], Mapping[str, str]]] = {
    "ko": (KO_TEXTS, KO_WORDS),
}


def language_or_default(value: object) -> Language:
    """A supported language, else English (a stored value from a newer server, or none)."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def render(text: Text, language: str = DEFAULT_LANGUAGE) -> str:
    """The words of a text in `language`; TextError when any part of it is unknown."""
    if language == "en":
        return english(text)
    if language not in _CATALOGS:
        raise TextError(f"no catalog for the language {language!r}")
    return _Renderer(*_CATALOGS[language]).text(text)


class _Renderer:
    """One catalog's templates and format words (dashboard/src/i18n/server.ts, in Python)."""

    def __init__(self, templates: Mapping[str, str], words: Mapping[str, str]) -> None:
        self.templates, self.words = templates, words
        self.formats: dict[str, Callable[[Any, Mapping[str, Any], str], str]] = {
            "in": self._in,
            "the": self._the,
            "room": self._room,
            "span": lambda v, p, n: self._span(v),
            "hmm": lambda v, p, n: self._hmm(v),
            "g": lambda v, p, n: f"{float(v):g}",
            "f1": lambda v, p, n: f"{float(v):.1f}",
            "times": lambda v, p, n: self._times(v),
            "daymon": lambda v, p, n: self._daymon(v),
            "weekday": lambda v, p, n: self.word(f"weekday.{int(v)}"),
            "sensor": lambda v, p, n: (
                self.words.get(f"sensor.{v}") or self.word("sensorOther", kind=v)
            ),
            "watches": lambda v, p, n: self.words.get(f"watches.{v}") or self.word("watchesOther"),
            "state": lambda v, p, n: self.words.get(f"state.{v}", str(v)),
            "list": lambda v, p, n: self.word("listSeparator").join(self.text(i) for i in v),
        }

    def word(self, key: str, **params: Any) -> str:
        if key not in self.words:
            raise TextError(f"no word {key!r}")
        return PLACEHOLDER.sub(
            lambda m: str(params[m.group(1)]) if m.group(1) in params else m.group(0),
            self.words[key],
        )

    def _room_name(self, name: Any, params: Mapping[str, Any], param: str) -> str:
        kind = params.get(f"{param}_kind")
        if isinstance(kind, str) and ROOM_KIND_NAMES.get(kind) == name:
            return self.words.get(f"roomKind.{kind}", str(name))
        return str(name)

    def _in(self, value: Any, params: Mapping[str, Any], param: str) -> str:
        if not value:
            return self.word("inNone")
        return self.word("in", room=self._room_name(value, params, param))

    def _the(self, value: Any, params: Mapping[str, Any], param: str) -> str:
        if value:
            return self.word("the", room=self._room_name(value, params, param))
        kind = params.get(f"{param}_kind")
        if isinstance(kind, str) and kind:
            name = self.words.get(f"roomKind.{kind}", kind)
            return self.word("theKind", kind=kind, kindName=name)
        return self.word("theNone")

    def _room(self, value: Any, params: Mapping[str, Any], param: str) -> str:
        if not value:
            return self.word("roomNone")
        return self.word("room", room=self._room_name(value, params, param))

    def _span(self, minutes: Any) -> str:
        hours, rest = divmod(max(0, int(minutes)), 60)
        if hours and rest:
            return self.word("spanHM", h=hours, m=rest)
        return self.word("spanH", h=hours) if hours else self.word("spanM", m=rest)

    def _hmm(self, minutes: Any) -> str:
        whole = int(minutes)
        if whole < 60:
            return self.word("hmmM", m=whole)
        return self.word("hmmHM", h=whole // 60, m=whole % 60, mm=f"{whole % 60:02d}")

    def _times(self, count: Any) -> str:
        n = int(count)
        return self.word(f"times{n}") if 0 <= n <= 2 else self.word("timesN", n=n)

    def _daymon(self, value: Any) -> str:
        year_month_day = str(value).split("-")
        if len(year_month_day) != 3:
            raise TextError(f"not a date: {value!r}")
        month, day = int(year_month_day[1]), int(year_month_day[2])
        return self.word("daymon", day=day, month=month, monthName=self.word(f"month.{month}"))

    def _plain(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, Text):
            return self.text(value)
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise TextError(f"not text or an integer: {value!r}")

    def text(self, text: Text) -> str:
        if text.key not in self.templates:
            raise TextError(f"no text for {text.key!r}")

        def fill(match: Any) -> str:
            name, spec = match.group(1), match.group(2)
            if name not in text.params:
                raise TextError(f"{text.key}: parameter {name!r} is missing")
            value = text.params[name]
            if spec is None:
                return self._plain(value)
            if spec not in self.formats:
                raise TextError(f"unknown format {spec!r}")
            return self.formats[spec](value, text.params, name)

        return PLACEHOLDER.sub(fill, self.templates[text.key])
