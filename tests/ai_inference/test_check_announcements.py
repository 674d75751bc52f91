"""Changed rule checks go on the rule-checks stream after the commit: once per change, and
none from an evaluation that failed (its state was rolled back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_ai_inference.windowed import WINDOWED_RULES, WindowedRule
from sst_core.const import RULE_CHECKS_STREAM
from sst_core.rule_checks import RuleCheckMessage
from sst_core.thresholds import RuleName
from tests.ai_inference.scenario import detector
from tests.factories import make_home

NOON = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


async def _announced(redis: Redis, after: bytes, resident_id: int) -> list[RuleCheckMessage]:
    entries: Any = await redis.xrange(RULE_CHECKS_STREAM, min=b"(" + after)
    messages = [RuleCheckMessage.from_stream(fields) for _, fields in entries]
    return [m for m in messages if m.resident_id == resident_id]


async def test_changed_checks_are_announced_once_and_a_failed_evaluation_announces_none(
    engine: AsyncEngine, redis: Redis, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    home = await make_home(sessionmaker)  # no readings, hub never heard from
    broken = await make_home(sessionmaker)
    newest: Any = await redis.xrevrange(RULE_CHECKS_STREAM, count=1)
    start: bytes = newest[0][0] if newest else b"0-0"

    last = WINDOWED_RULES[-1]

    def explodes(view: Any, t: Any, params: Any, wake: Any) -> Any:
        if view.resident_id == broken.resident_id:  # after the other rules judged her
            raise ZeroDivisionError("a bug that only this resident's data reaches")
        return last.judge(view, t, params, wake)

    rules = (*WINDOWED_RULES[:-1], WindowedRule(**{**last.__dict__, "judge": explodes}))
    judge = detector(engine, redis, rules=rules)
    await judge.tick(NOON, residents=[home.resident_id, broken.resident_id])

    announced = await _announced(redis, start, home.resident_id)
    assert sorted(m.rule.value for m in announced) == sorted(r.value for r in RuleName)
    inactivity = next(m for m in announced if m.rule == RuleName.INACTIVITY)
    assert (inactivity.check.verdict, inactivity.check.decided_at) == ("unknown", NOON)
    assert inactivity.facility_id == home.facility_id and inactivity.checked_at == NOON
    assert judge.failures == 1
    assert await _announced(redis, start, broken.resident_id) == []

    # Judged again with nothing new: no check changed, nothing more is announced.
    await judge.tick(NOON + timedelta(minutes=5), residents=[home.resident_id])
    assert len(await _announced(redis, start, home.resident_id)) == len(RuleName)
