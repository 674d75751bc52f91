"""Hard rules: which readings raise which alert, and what the carer reads."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from sst_ai_inference.rules import (
    HARD_RULES,
    HardRule,
    ReadingContext,
    evaluate,
    interesting,
)
from sst_core.domain import AlertKind, SensorKind, Severity
from sst_core.messages import StoredReading, datetime_to_ms
from sst_core.texts_en import EN_TEXTS

# 05:03 UTC is 14:03 in Seoul and 01:03 in New York (EDT) on this day.
MOMENT = datetime(2024, 5, 2, 5, 3, 27, tzinfo=UTC)
SEOUL = ZoneInfo("Asia/Seoul")


def context(
    kind: str,
    value: float = 1.0,
    *,
    room: str | None = "Bathroom",
    zone: ZoneInfo = SEOUL,
    name: str = "Kim Young-ja",
) -> ReadingContext:
    reading = StoredReading(
        sensor_id=7, resident_id=3, kind=kind, ts=datetime_to_ms(MOMENT), value=value
    )
    return ReadingContext(
        reading=reading,
        resident_id=3,
        resident_name=name,
        timezone=zone,
        room_name=room,
        room_kind="bathroom" if room else None,
    )


def test_fall_is_critical_and_says_where_and_when_in_home_time() -> None:
    [draft] = evaluate(context("fall_detector"))
    assert draft.kind is AlertKind.FALL
    assert draft.severity is Severity.CRITICAL
    assert draft.resident_id == 3
    assert draft.sensor_id == 7
    assert draft.room == "Bathroom"
    assert draft.at == MOMENT
    assert draft.title == "Fall detected in the Bathroom"
    assert draft.explanation == (
        "Fall detected in the Bathroom at 14:03 (home time). "
        "Check on Kim Young-ja now: call, or send someone."
    )


def test_time_is_the_homes_local_time_not_utc() -> None:
    [draft] = evaluate(context("fall_detector", zone=ZoneInfo("America/New_York")))
    assert "at 01:03 (home time)" in draft.explanation
    assert "14:03" not in draft.explanation
    assert "05:03" not in draft.explanation


@pytest.mark.parametrize(
    ("sensor_kind", "alert_kind", "words"),
    [
        ("emergency_button", AlertKind.EMERGENCY_BUTTON, "pressed the emergency button"),
        ("smoke", AlertKind.SMOKE, "smoke alarm went off"),
    ],
)
def test_button_and_smoke_are_critical_and_explained(
    sensor_kind: str, alert_kind: AlertKind, words: str
) -> None:
    [draft] = evaluate(context(sensor_kind, room="Living room"))
    assert draft.kind is alert_kind
    assert draft.severity is Severity.CRITICAL
    assert words in draft.explanation
    assert "in the Living room at 14:03 (home time)" in draft.explanation
    assert "Kim Young-ja" in draft.explanation
    assert draft.title


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("fall_detector", 0.0),  # detector cleared
        ("fall_detector", 0.5),
        ("smoke", 0.0),
        ("motion", 1.0),
        ("bed", 1.0),
        ("door", 1.0),
    ],
)
def test_ordinary_readings_raise_nothing(kind: str, value: float) -> None:
    ctx = context(kind, value)
    assert evaluate(ctx) == []
    assert not interesting(ctx.reading)


def test_a_fall_value_above_one_still_counts() -> None:
    ctx = context("fall_detector", 2.0)
    assert interesting(ctx.reading)
    assert [d.kind for d in evaluate(ctx)] == [AlertKind.FALL]


def test_sensor_without_a_room_still_alerts_in_plain_words() -> None:
    [draft] = evaluate(context("fall_detector", room=None))
    assert draft.room is None
    assert "Fall detected at home (room not set) at 14:03 (home time)." in draft.explanation


def test_title_fits_the_column_even_with_a_long_name() -> None:
    [draft] = evaluate(context("emergency_button", name="N" * 500))
    assert len(draft.title) <= 200


def test_rules_are_extensible_as_data(monkeypatch: pytest.MonkeyPatch) -> None:
    # A new rule names its texts by key; the English catalog holds their words.
    monkeypatch.setitem(EN_TEXTS, "alert.chair.title", "Chair alarm {room:in}")
    monkeypatch.setitem(
        EN_TEXTS,
        "alert.chair.explanation",
        "{name}'s chair alarm rang {room:in} at {time} (home time).",
    )
    chair_alarm = HardRule(
        sensor_kind=SensorKind.CHAIR,
        alert_kind=AlertKind.FALL,
        severity=Severity.HIGH,
        title="alert.chair.title",
        explanation="alert.chair.explanation",
        threshold=2.0,
    )
    rules = (*HARD_RULES, chair_alarm)
    assert evaluate(context("chair", 1.0), rules) == []
    [draft] = evaluate(context("chair", 2.0, room="Living room"), rules)
    assert draft.severity is Severity.HIGH
    assert (
        draft.explanation
        == "Kim Young-ja's chair alarm rang in the Living room at 14:03 (home time)."
    )
