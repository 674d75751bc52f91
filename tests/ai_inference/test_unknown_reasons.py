"""A rule that cannot judge says why as a text (key + raw values), like every other server
text: staff read the reason in Korean too, not only in English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_ai_inference.findings import Finding, FixedWakeTimes, Verdict
from sst_ai_inference.timeline import Event, HomeView
from sst_ai_inference.windowed import WINDOWED_RULES, WindowedRule
from sst_core.localized import render
from sst_core.texts import english
from sst_core.thresholds import RULE_PARAMS
from tests.ai_inference.scenario import Scenario, detector, hub_online
from tests.factories import make_home

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


def _morning_after_a_night_offline(
    offline: list[tuple[datetime, datetime | None]],
) -> Finding:
    """11:00 in Seoul; the hub has reported (temperatures only) since 10:00; no bed exit."""
    zone = ZoneInfo("Asia/Seoul")
    day = datetime(2026, 3, 2, tzinfo=zone)
    events = [
        Event(
            day.replace(hour=10, minute=m).astimezone(UTC),
            7,
            "temperature",
            "living",
            "Living room",
            21.0,
        )
        for m in range(0, 60, 10)
    ] + [
        Event(day.replace(hour=11).astimezone(UTC), 7, "temperature", "living", "Living room", 21.0)
    ]
    view = HomeView(
        resident_id=1,
        resident_name="Kim Young-ja",
        timezone=zone,
        events=events,
        hub_online=True,
        offline=[(a.astimezone(UTC), b.astimezone(UTC) if b else None) for a, b in offline],
    )
    rule = {r.kind.value: r for r in WINDOWED_RULES}["no_wake_up"]
    params = RULE_PARAMS[rule.params]().model_dump()  # up by 07:30 + 120 min
    return rule.judge(view, day.replace(hour=11).astimezone(UTC), params, FixedWakeTimes())


def test_a_hub_offline_during_the_morning_cannot_say_she_did_not_get_up() -> None:
    """A hub back at 10:00 after a night offline has seen no bed exit: that proves nothing."""
    zone = ZoneInfo("Asia/Seoul")
    night = datetime(2026, 3, 1, 23, 0, tzinfo=zone)
    back = datetime(2026, 3, 2, 10, 0, tzinfo=zone)
    finding = _morning_after_a_night_offline([(night, back)])
    assert finding.verdict == Verdict.UNKNOWN
    assert finding.reason_text is not None and finding.reason_text.key == "unknown.hub_offline"
    still_away = _morning_after_a_night_offline([(night, None)])
    assert still_away.verdict == Verdict.UNKNOWN
    # The controls: the same morning with the hub online throughout, or offline only for an
    # hour in the night, is a morning she did not get up.
    assert _morning_after_a_night_offline([]).verdict == Verdict.RAISE
    an_hour_at_night = (
        datetime(2026, 3, 2, 1, 0, tzinfo=zone),
        datetime(2026, 3, 2, 2, 0, tzinfo=zone),
    )
    assert _morning_after_a_night_offline([an_hour_at_night]).verdict == Verdict.RAISE


async def _checks(engine: AsyncEngine, resident_id: int) -> dict[str, Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT kind, details FROM detection_state WHERE resident_id = :r"),
            {"r": resident_id},
        )
        return {row.kind: row.details.get("check") for row in rows}


async def test_a_rule_that_cannot_judge_is_kept_with_its_reason_across_a_restart(
    engine: AsyncEngine, redis: Redis, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Carers read "cannot tell, and why" from the stored state, not only the last verdict."""
    home = await make_home(sessionmaker)  # its hub never heard from, no readings
    first = NOON
    await detector(engine, redis).tick(first, residents=[home.resident_id])
    checks = await _checks(engine, home.resident_id)
    assert checks["inactivity"] == {
        "verdict": "unknown",
        "reason": {"key": "unknown.no_data", "params": {}},
        "decided_at": "2026-03-02T03:00:00Z",
    }
    assert checks["sensor_silent"]["verdict"] == "unknown"
    assert checks["sensor_silent"]["reason"] == {"key": "unknown.hub_offline", "params": {}}
    assert {check["verdict"] for check in checks.values()} <= {"unknown", "fine"}
    assert set(checks) == {rule.kind.value for rule in WINDOWED_RULES}

    # A restarted process (nothing in memory) finds the same verdict: it is not decided anew.
    later = first + timedelta(minutes=30)
    await detector(engine, redis).tick(later, residents=[home.resident_id])
    again = await _checks(engine, home.resident_id)
    assert again["inactivity"] == checks["inactivity"]
    assert again["sensor_silent"] == checks["sensor_silent"]

    # The hub comes back and she moves about: the rule can tell again, from that instant.
    await hub_online(engine, home)
    moved = later + timedelta(minutes=2)
    await Scenario(home).add("living-motion", moved).write(engine)
    back = later + timedelta(minutes=5)
    await detector(engine, redis).tick(back, residents=[home.resident_id])
    now_fine = (await _checks(engine, home.resident_id))["inactivity"]
    assert now_fine == {"verdict": "fine", "reason": None, "decided_at": "2026-03-02T03:35:00Z"}
