"""What a windowed rule says about one instant, and where the usual wake time comes from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sst_ai_inference.timeline import HomeView
from sst_core.texts import AlertText, Text, english, phrase


class Verdict(StrEnum):
    """What a rule says about one instant."""

    RAISE = "raise"
    CLEAR = "clear"
    STAY = "stay"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Finding:
    """A rule's verdict at one instant, with the alert's words when it raises."""

    verdict: Verdict
    episode_at: datetime | None = None  # RAISE: when the limit was passed
    title: str = ""
    explanation: str = ""
    sensor_id: int | None = None
    room: str | None = None
    reason: str = ""  # CLEAR/UNKNOWN: why, for the timeline and logs
    text: AlertText | None = None  # RAISE: the words as message keys and raw values
    reason_text: Text | None = None  # CLEAR/UNKNOWN: the reason as a message key and raw values


def raised(
    *, episode_at: datetime, words: AlertText, sensor_id: int | None, room: str | None
) -> Finding:
    """A RAISE finding whose English title and explanation are rendered from `words`."""
    return Finding(
        Verdict.RAISE,
        episode_at=episode_at,
        title=english(words.title)[:200],
        explanation=english(words.explanation),
        sensor_id=sensor_id,
        room=room,
        text=words,
    )


def cleared(reason: Text) -> Finding:
    """A CLEAR finding: the condition is over, for the reason given (texts "resolved.*")."""
    return Finding(Verdict.CLEAR, reason=english(reason), reason_text=reason)


def unknown(reason: Text) -> Finding:
    """An UNKNOWN finding: the rule cannot judge, for the reason given (texts "unknown.*")."""
    return Finding(Verdict.UNKNOWN, reason=english(reason), reason_text=reason)


UNKNOWN_NO_DATA = unknown(phrase("unknown.no_data"))
UNKNOWN_HUB_OFFLINE = unknown(phrase("unknown.hub_offline"))
STAY = Finding(Verdict.STAY)


class WakeTimes(Protocol):
    """Where the usual wake time comes from: fixed per resident now, learned later (part B)."""

    def usual_wake_hour(self, view: HomeView, day_start: datetime, params: dict[str, Any]) -> float:
        """The resident's usual local wake hour (7.5 is 07:30) on the day from `day_start`."""
        ...


class FixedWakeTimes:
    """The wake hour set for the resident (no_wake_up.wake_hour)."""

    def usual_wake_hour(self, view: HomeView, day_start: datetime, params: dict[str, Any]) -> float:
        """The configured wake hour."""
        return float(params["wake_hour"])
