"""Server texts: key + raw params, the one English catalog, and the file the dashboard checks."""

from __future__ import annotations

import pytest

from sst_core import texts_export
from sst_core.domain import Language
from sst_core.localized import LANGUAGES, language_or_default, render
from sst_core.robot_details import (
    EXPIRED_UNFINISHED,
    EXPIRED_WAITING,
    detail_text,
    invalid_command,
    progress_text,
)
from sst_core.texts import (
    PLACEHOLDER,
    AlertText,
    Text,
    TextError,
    english,
    keys_used,
    phrase,
    stored_alert_text,
)
from sst_core.texts_en import EN_TEXTS
from sst_core.texts_ko import KO_TEXTS


def test_the_dashboard_s_copy_of_the_catalog_is_current() -> None:
    """dashboard/tests/server-texts.json is what the vitest catalog test checks en.ts/ko.ts by."""
    assert texts_export.OUTPUT.read_bytes() == texts_export.render_file(), (
        "the server's text catalog changed: run `uv run python -m sst_core.texts_export` "
        "and add the new keys to dashboard/src/i18n/en.ts and ko.ts"
    )


def test_every_key_has_a_sample_and_every_sample_renders() -> None:
    exported = texts_export.catalog()
    assert set(exported["templates"]) == set(EN_TEXTS)
    sampled = {s["text"]["key"] for s in exported["samples"]}
    assert sampled == set(EN_TEXTS)
    for sample in exported["samples"]:
        assert "{" not in sample["en"], sample


def test_params_are_raw_values_and_nested_texts_render_in_place() -> None:
    why = phrase(
        "routine.deviations",
        deviations=[
            phrase("routine.not_up", now="10:30", usual="07:30"),
            phrase("routine.since_last_activity", since="06:45", for_min=225, usual_min=90),
        ],
    )
    explanation = phrase("alert.routine_deviation.explanation", score=91, why=why)
    assert english(explanation) == (
        "Risk 91/100: not up yet at 10:30; usually up by 07:30; no movement anywhere since "
        "06:45 (3 h 45 min); usually 1 h 30 min at most at this time"
    )
    assert keys_used(explanation) == {
        "alert.routine_deviation.explanation",
        "routine.deviations",
        "routine.not_up",
        "routine.since_last_activity",
    }
    # The JSON form round-trips, nested texts included.
    assert Text.model_validate_json(explanation.model_dump_json()) == explanation


def test_a_text_the_catalog_cannot_say_is_refused_not_guessed() -> None:
    with pytest.raises(TextError, match="no English text"):
        phrase("alert.teleport.title")
    with pytest.raises(TextError, match="parameter 'room' is missing"):
        english(Text(key="alert.fall.title", params={}))
    with pytest.raises(TextError, match="not text or an integer"):
        # A fraction without a format: Python and JavaScript would print it differently.
        english(Text(key="plain", params={"text": 1.5}))
    with pytest.raises(TextError, match="unknown format"):
        english(Text(key="plain", params={"text": "x"}), {"plain": "{text:shout}"})


def test_a_stored_text_that_is_not_one_reads_as_none() -> None:
    assert stored_alert_text(None) is None
    assert stored_alert_text({"title": "Fall"}) is None
    words = AlertText(
        title=phrase("alert.hub_offline.title", name="Kim"),
        explanation=phrase(
            "alert.hub_offline.explanation", name="Kim", what=phrase("alert.hub_offline.never")
        ),
    )
    assert stored_alert_text(words.model_dump(mode="json")) == words


def _params(template: str) -> set[str]:
    return {name for name, _ in PLACEHOLDER.findall(template)}


def test_every_key_is_in_the_korean_catalog_with_the_same_parameters() -> None:
    """What the server mails in Korean must exist for every key it can emit, no more."""
    assert set(KO_TEXTS) == set(EN_TEXTS)
    for key, template in EN_TEXTS.items():
        assert _params(KO_TEXTS[key]) == _params(template), key
    for sample in texts_export.catalog()["samples"]:
        korean = sample["ko"]
        assert korean != sample["en"] or sample["text"]["key"] in ("plain", "clock.today"), sample
        assert not PLACEHOLDER.search(korean), sample


def test_korean_words_translate_standard_rooms_and_keep_the_home_s_own() -> None:
    fall = phrase("alert.fall.title", room="Bathroom", room_kind="bathroom", time="14:03")
    assert render(fall, "ko") == "낙상 감지: 욕실"
    own = phrase("alert.fall.title", room="Grandma's room", room_kind="bedroom", time="14:03")
    assert render(own, "ko") == "낙상 감지: Grandma's room"
    assert render(fall, "en") == english(fall) == "Fall detected in the Bathroom"
    stay = phrase(
        "alert.long_bathroom_stay.title", name="Kim", room=None, room_kind="bathroom", for_min=75
    )
    assert render(stay, "ko") == "Kim 님이 1시간 15분 동안 욕실에 있습니다"


def test_a_language_without_a_catalog_or_a_broken_text_is_refused() -> None:
    with pytest.raises(TextError, match="no catalog"):
        render(phrase("alert.fall.title", room=None, time="14:03"), "fr")
    with pytest.raises(TextError, match="parameter 'room' is missing"):
        render(Text(key="alert.fall.title", params={}), "ko")
    assert language_or_default("ko") == "ko"
    assert language_or_default("fr") == language_or_default(None) == "en"


def test_the_languages_with_a_catalog_are_those_the_database_accepts() -> None:
    assert set(LANGUAGES) == {language.value for language in Language}


def test_sst_s_own_robot_details_read_back_as_texts_and_a_robot_s_words_do_not() -> None:
    for text in (EXPIRED_WAITING, EXPIRED_UNFINISHED, invalid_command("args.room: Field required")):
        assert detail_text(english(text)) == text
        assert render(text, "ko") != english(text)
    assert detail_text("battery too low") is None
    assert detail_text(None) is None


def test_a_robot_s_progress_text_is_kept_only_when_every_language_can_say_it() -> None:
    arrived = Text(
        key="robot.progress.arrived_in", params={"room": "Bathroom", "room_kind": "bathroom"}
    )
    assert progress_text(arrived) == arrived
    assert render(arrived, "ko") == "욕실에 도착"
    assert progress_text(Text(key="alert.fall.title", params={"room": "Bathroom"})) is None
    assert progress_text(Text(key="robot.progress.arrived_in", params={})) is None
    assert (
        progress_text(Text(key="robot.progress.no_such_room", params={"room": "x" * 600})) is None
    )
    assert progress_text(None) is None
    # Stored with the words: the text wins; a stored row that is not a text falls back.
    assert detail_text("arrived in the Bathroom", arrived.model_dump()) == arrived
    assert detail_text("arrived in the Bathroom", {"key": 3}) is None
    assert detail_text(english(EXPIRED_WAITING), None) == EXPIRED_WAITING
