"""A rule that cannot judge says why as a text (key + raw values), like every other server
text: staff read the reason in Korean too, not only in English."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from sst_ai_inference.findings import Finding, FixedWakeTimes, Verdict
from sst_ai_inference.timeline import HomeView
from sst_ai_inference.windowed import WINDOWED_RULES, WindowedRule
from sst_core.localized import render
from sst_core.texts import english
from sst_core.thresholds import RULE_PARAMS

NOON = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 12:00 in Seoul


def _judge(rule: WindowedRule, *, hub_online: bool | None) -> Finding:
    view = HomeView(
        resident_id=1,
        resident_name="Kim Young-ja",
        timezone=ZoneInfo("Asia/Seoul"),
        events=[],
        hub_online=hub_online,
    )
    params = RULE_PARAMS[rule.params]().model_dump()
    return rule.judge(view, NOON, params, FixedWakeTimes())


@pytest.mark.parametrize("rule", WINDOWED_RULES, ids=lambda r: r.kind.value)
@pytest.mark.parametrize("hub_online", [True, False, None])
def test_a_rule_that_cannot_judge_gives_its_reason_as_a_text(
    rule: WindowedRule, hub_online: bool | None
) -> None:
    finding = _judge(rule, hub_online=hub_online)
    if finding.verdict != Verdict.UNKNOWN:
        return  # judged (nothing to see in an empty home is a judgement for some rules)
    text = finding.reason_text
    assert text is not None, f"{rule.kind}: UNKNOWN in English words only: {finding.reason!r}"
    assert text.key.startswith("unknown.")
    assert english(text) == finding.reason
    korean = render(text, "ko")
    assert korean != finding.reason and "{" not in korean


def test_no_data_and_an_offline_hub_are_the_reasons_staff_read() -> None:
    rules = {rule.kind.value: rule for rule in WINDOWED_RULES}
    inactivity = _judge(rules["inactivity"], hub_online=True)
    assert inactivity.verdict == Verdict.UNKNOWN
    assert inactivity.reason == "no recent data from the home"
    assert inactivity.reason_text is not None
    assert render(inactivity.reason_text, "ko") == "최근 이 댁에서 들어온 데이터가 없음"
    silent = _judge(rules["sensor_silent"], hub_online=None)
    assert silent.verdict == Verdict.UNKNOWN and silent.reason == "hub not known to be online"
    assert silent.reason_text is not None
    assert render(silent.reason_text, "ko") == "허브가 연결되어 있는지 알 수 없음"
