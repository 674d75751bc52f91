"""Hard rules: one reading is enough to raise an alert (a fall, the emergency button, smoke).

Rules are data plus pure functions, no I/O: the service looks up the context (room,
resident, home time zone) and hands it in. To add a rule, add a `HardRule` to
`HARD_RULES`; windowed rules and routine models live beside this module and produce the
same `AlertDraft`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sst_core.domain import AlertKind, SensorKind, Severity
from sst_core.messages import StoredReading, ms_to_datetime
from sst_core.texts import AlertText, english, phrase

TITLE_MAX = 200  # alerts.title is VARCHAR(200)


@dataclass(frozen=True)
class ReadingContext:
    """A reading with what the directory knows about its sensor and resident."""

    reading: StoredReading
    resident_id: int
    resident_name: str
    timezone: ZoneInfo
    room_name: str | None = None
    room_kind: str | None = None


@dataclass(frozen=True)
class AlertDraft:
    """An alert a rule wants raised, before PostgreSQL decides if it is new or a repeat."""

    resident_id: int
    kind: AlertKind
    severity: Severity
    title: str
    explanation: str
    sensor_id: int | None  # None: about the home's hub, not one sensor
    room: str | None
    at: datetime  # when it happened, UTC (the hub's time)
    text: AlertText | None = None  # the words above as message keys and raw values


def draft_alert(
    *,
    resident_id: int,
    kind: AlertKind,
    severity: Severity,
    words: AlertText,
    sensor_id: int | None,
    room: str | None,
    at: datetime,
) -> AlertDraft:
    """An AlertDraft whose English title and explanation are rendered from `words`."""
    return AlertDraft(
        resident_id=resident_id,
        kind=kind,
        severity=severity,
        title=english(words.title)[:TITLE_MAX],
        explanation=english(words.explanation),
        sensor_id=sensor_id,
        room=room,
        at=at,
        text=words,
    )


@dataclass(frozen=True)
class HardRule:
    """Raise `alert_kind` when a `sensor_kind` sensor reports `threshold` or more.

    `title` and `explanation` are keys of the server texts (sst_core.texts_en) with the
    params `room` (its name or None) and `room_kind`, `time` ("14:03", home-local) and
    `name` (the resident).
    """

    sensor_kind: SensorKind
    alert_kind: AlertKind
    severity: Severity
    title: str
    explanation: str
    threshold: float = 1.0

    def matches(self, reading: StoredReading) -> bool:
        """Whether this reading triggers the rule."""
        return reading.kind == self.sensor_kind and reading.value >= self.threshold

    def draft(self, context: ReadingContext) -> AlertDraft:
        """The alert this rule raises for a matching reading."""
        at = ms_to_datetime(context.reading.ts)
        params = {
            "room": context.room_name,
            "room_kind": context.room_kind,
            "time": home_time(at, context.timezone),
            "name": context.resident_name,
        }
        words = AlertText(
            title=phrase(self.title, **params), explanation=phrase(self.explanation, **params)
        )
        return draft_alert(
            resident_id=context.resident_id,
            kind=self.alert_kind,
            severity=self.severity,
            words=words,
            sensor_id=context.reading.sensor_id,
            room=context.room_name,
            at=at,
        )


def home_time(at: datetime, zone: ZoneInfo) -> str:
    """Clock time in the resident's home, which is what a carer on the phone will use."""
    return at.astimezone(zone).strftime("%H:%M")


HARD_RULES: tuple[HardRule, ...] = (
    HardRule(
        sensor_kind=SensorKind.FALL_DETECTOR,
        alert_kind=AlertKind.FALL,
        severity=Severity.CRITICAL,
        title="alert.fall.title",
        explanation="alert.fall.explanation",
    ),
    HardRule(
        sensor_kind=SensorKind.EMERGENCY_BUTTON,
        alert_kind=AlertKind.EMERGENCY_BUTTON,
        severity=Severity.CRITICAL,
        title="alert.emergency_button.title",
        explanation="alert.emergency_button.explanation",
    ),
    HardRule(
        sensor_kind=SensorKind.SMOKE,
        alert_kind=AlertKind.SMOKE,
        severity=Severity.CRITICAL,
        title="alert.smoke.title",
        explanation="alert.smoke.explanation",
    ),
)


def interesting(reading: StoredReading, rules: tuple[HardRule, ...] = HARD_RULES) -> bool:
    """Whether any rule could fire on this reading (so its context is worth looking up)."""
    return any(rule.matches(reading) for rule in rules)


def evaluate(context: ReadingContext, rules: tuple[HardRule, ...] = HARD_RULES) -> list[AlertDraft]:
    """Every alert the rules raise for one reading in its context."""
    return [rule.draft(context) for rule in rules if rule.matches(context.reading)]
