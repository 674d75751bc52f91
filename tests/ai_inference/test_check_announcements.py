"""Changed rule checks go on the rule-checks stream after the commit: once per change, none
from an evaluation that failed (its state was rolled back), and one whose announcement was
lost (Redis failed, the process died after the commit) at the next evaluation, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_ai_inference import detector as detector_module
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


async def _stream_end(redis: Redis) -> bytes:
    newest: Any = await redis.xrevrange(RULE_CHECKS_STREAM, count=1)
    return newest[0][0] if newest else b"0-0"


async def test_checks_whose_announcement_redis_lost_are_announced_at_the_next_evaluation(
    engine: AsyncEngine,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = await make_home(sessionmaker)  # no readings: every rule says unknown
    start = await _stream_end(redis)
    real_execute = Pipeline.execute
    failed = {"n": 0}

    async def fails_once(self: Pipeline, raise_on_error: bool = True) -> list[Any]:
        writes_checks = any(RULE_CHECKS_STREAM in args for args, _ in self.command_stack)
        if writes_checks and failed["n"] == 0:
            failed["n"] += 1
            raise RedisConnectionError("Redis went away between the commit and the XADD")
        return await real_execute(self, raise_on_error)

    monkeypatch.setattr(Pipeline, "execute", fails_once)
    judge = detector(engine, redis)
    await judge.tick(NOON, residents=[home.resident_id])
    assert failed["n"] == 1
    assert await _announced(redis, start, home.resident_id) == []  # stored, not announced

    # The next evaluation has nothing new, yet announces what was lost; later ones nothing.
    for minutes in (5, 10):
        await judge.tick(NOON + timedelta(minutes=minutes), residents=[home.resident_id])
    announced = await _announced(redis, start, home.resident_id)
    assert sorted(m.rule.value for m in announced) == sorted(r.value for r in RuleName)
    assert {(m.check.verdict, m.check.decided_at) for m in announced} == {("unknown", NOON)}
    assert {m.checked_at for m in announced} == {NOON + timedelta(minutes=5)}


class Killed(BaseException):
    """The process stopped (SIGKILL, a power cut): nothing after this line ran."""


async def test_checks_a_dead_process_never_announced_are_announced_once_after_a_restart(
    engine: AsyncEngine,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = await make_home(sessionmaker)
    start = await _stream_end(redis)

    async def dies(*args: Any, **kwargs: Any) -> Any:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(detector_module, "announce_checks", dies)
        with pytest.raises(Killed):
            await detector(engine, redis).tick(NOON, residents=[home.resident_id])
    assert await _announced(redis, start, home.resident_id) == []

    restarted = detector(engine, redis)  # a new process: nothing in memory
    for minutes in (5, 10):
        await restarted.tick(NOON + timedelta(minutes=minutes), residents=[home.resident_id])
    announced = await _announced(redis, start, home.resident_id)
    assert sorted(m.rule.value for m in announced) == sorted(r.value for r in RuleName)
    assert {(m.check.verdict, m.check.decided_at) for m in announced} == {("unknown", NOON)}


async def _as_carers_see(engine: AsyncEngine, resident_id: int) -> tuple[Any, list[Any]]:
    """`checked_at` (the schedule's evaluated_until) and each rule's stored state and check."""
    async with engine.connect() as conn:
        checked_at = await conn.scalar(
            text("SELECT evaluated_until FROM detection_schedule WHERE resident_id = :r"),
            {"r": resident_id},
        )
        states = await conn.execute(
            text(
                "SELECT kind, active, alert_id, details, updated_at FROM detection_state "
                "WHERE resident_id = :r ORDER BY kind"
            ),
            {"r": resident_id},
        )
        return checked_at, [tuple(row) for row in states]


async def test_a_failed_evaluation_leaves_checked_at_and_the_checks_as_they_were(
    engine: AsyncEngine, redis: Redis, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    home = await make_home(sessionmaker)  # no readings: every rule says unknown
    await detector(engine, redis).tick(NOON, residents=[home.resident_id])
    checked_at, states = await _as_carers_see(engine, home.resident_id)
    assert checked_at == NOON and len(states) == len(WINDOWED_RULES)
    start = await _stream_end(redis)

    def explodes(view: Any, t: Any, params: Any, wake: Any) -> Any:
        raise ZeroDivisionError("a bug that this resident's data reaches")

    last = WINDOWED_RULES[-1]  # after the other rules judged her: their steps roll back
    rules = (*WINDOWED_RULES[:-1], WindowedRule(**{**last.__dict__, "judge": explodes}))
    failing = detector(engine, redis, rules=rules)
    for minutes in (5, 10):
        await failing.tick(NOON + timedelta(minutes=minutes), residents=[home.resident_id])
    assert failing.failures == 2 and failing.evaluations == 2
    assert await _as_carers_see(engine, home.resident_id) == (NOON, states)
    assert await _announced(redis, start, home.resident_id) == []

    # Judged again: the checks are as good as at noon, and checked_at moves on.
    await detector(engine, redis).tick(NOON + timedelta(minutes=15), residents=[home.resident_id])
    checked_at, _ = await _as_carers_see(engine, home.resident_id)
    assert checked_at == NOON + timedelta(minutes=15)
