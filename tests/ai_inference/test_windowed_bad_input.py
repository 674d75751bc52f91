"""Gaps, hub clocks gone wrong and readings out of order raise no care alert.

Each case has a control that differs only in the harm: the same rules on the same clock
do raise there, so a detector that said nothing at all would fail these tests.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.ai_inference.scenario import (
    BERLIN,
    Row,
    Scenario,
    detector,
    hub_online,
    kinds,
    local,
    run_clock_with_arrivals,
)
from tests.factories import HomeFixture, make_home
from tests.readings_data import simulated_days

Sessions = async_sessionmaker[AsyncSession]
DAY = date(2024, 6, 12)  # summer time in Berlin, UTC+2
CARE_KINDS = {"inactivity", "long_bathroom_stay", "night_exit", "no_wake_up"}


async def berlin_home(sessionmaker: Sessions, engine: AsyncEngine) -> HomeFixture:
    """A Berlin resident whose hub is online."""
    home = await make_home(sessionmaker, timezone=BERLIN)
    await hub_online(engine, home)
    return home


def on_time(rows: list[Row]) -> list[tuple[datetime, Row]]:
    """Readings that arrive a second after they were stamped."""
    return [(row[0] + timedelta(seconds=1), row) for row in rows]


def morning(home: HomeFixture) -> Scenario:
    """Up at 07:00, moving every 20 minutes until 09:00, the scheduled sensors until then."""
    s = Scenario(home).life(local(DAY, 5), local(DAY, 9))
    return s.every("kitchen-motion", local(DAY, 7), local(DAY, 9), step=timedelta(minutes=20))


async def test_a_gap_in_the_readings_is_not_inactivity(
    engine: AsyncEngine, redis: Redis, sessionmaker: Sessions
) -> None:
    gap, still = await berlin_home(sessionmaker, engine), await berlin_home(sessionmaker, engine)
    arrivals: list[tuple[datetime, Row]] = []
    for home in (gap, still):
        arrivals += on_time(morning(home).rows)
    # The control: readings keep coming, nobody moves after 09:00.
    arrivals += on_time(Scenario(still).life(local(DAY, 9), local(DAY, 16)).rows)
    # The gap: the hub kept 09:00-12:30 (she moved all along) and sent it at 12:30, newest
    # first; then live again.
    kept = Scenario(gap).life(local(DAY, 9), local(DAY, 12, 30))
    kept.every("living-motion", local(DAY, 9, 10), local(DAY, 12, 30), step=timedelta(minutes=25))
    flushed = local(DAY, 12, 30) + timedelta(seconds=30)
    arrivals += [(flushed, row) for row in sorted(kept.rows, reverse=True)]
    live = Scenario(gap).life(local(DAY, 12, 30), local(DAY, 16))
    live.every("living-motion", local(DAY, 12, 40), local(DAY, 16), step=timedelta(minutes=25))
    arrivals += on_time(live.rows)

    await run_clock_with_arrivals(
        engine,
        [detector(engine, redis)],
        [gap.resident_id, still.resident_id],
        arrivals,
        local(DAY, 6),
        local(DAY, 16),
    )

    assert await kinds(engine, still.resident_id) == ["inactivity"]
    # The thermometer was silent for 3.5 h as far as the platform could tell: that device
    # alert is true (and resolved itself); no care alert came out of the missing data.
    assert not CARE_KINDS & set(await kinds(engine, gap.resident_id))


async def test_hub_clock_jumps_raise_no_care_alert(
    engine: AsyncEngine, redis: Redis, sessionmaker: Sessions
) -> None:
    ahead, behind, stopped = [await berlin_home(sessionmaker, engine) for _ in range(3)]
    arrivals: list[tuple[datetime, Row]] = []
    for home in (ahead, behind, stopped):
        arrivals += on_time(morning(home).rows)
    # From 09:00 the resident goes on moving every 20 minutes, but the hub's clock jumped:
    # a day ahead in one home, two hours behind (plus 90 s) in the other.
    for home, shift in ((ahead, timedelta(days=1)), (behind, -timedelta(hours=2, seconds=90))):
        real = Scenario(home).life(local(DAY, 9), local(DAY, 16))
        real.every("living-motion", local(DAY, 9, 10), local(DAY, 16), step=timedelta(minutes=20))
        arrivals += [
            (at + timedelta(seconds=1), (at + shift, sensor, resident, value))
            for at, sensor, resident, value in real.rows
        ]
    # The control: a correct clock, and nobody moves after 09:00.
    arrivals += on_time(Scenario(stopped).life(local(DAY, 9), local(DAY, 16)).rows)

    await run_clock_with_arrivals(
        engine,
        [detector(engine, redis)],
        [ahead.resident_id, behind.resident_id, stopped.resident_id],
        arrivals,
        local(DAY, 6),
        local(DAY, 16),
    )

    assert await kinds(engine, stopped.resident_id) == ["inactivity"]
    for home in (ahead, behind):
        # What the platform sees is sensors whose readings stopped (their stamps are wrong):
        # a device alert that names the hub's clock, never "she has not moved".
        assert await kinds(engine, home.resident_id) == ["sensor_silent"], home


async def test_readings_out_of_order_and_late_give_the_verdicts_of_readings_in_order(
    engine: AsyncEngine, redis: Redis, sessionmaker: Sessions
) -> None:
    ordered, shuffled = (
        await berlin_home(sessionmaker, engine),
        await berlin_home(sessionmaker, engine),
    )
    first = date(2024, 10, 26)  # two simulated days across the fall-back night
    rng = random.Random(4)
    arrivals: list[tuple[datetime, Row]] = []
    for home in (ordered, shuffled):
        rows = simulated_days(home, first, 2, seed=11)
        if home is ordered:
            arrivals += on_time(rows)
        else:
            # Each reading arrives up to 4 minutes late, so batches overtake each other.
            arrivals += [(row[0] + timedelta(seconds=rng.uniform(1, 240)), row) for row in rows]
    announced = await run_clock_with_arrivals(
        engine,
        [detector(engine, redis)],
        [ordered.resident_id, shuffled.resident_id],
        arrivals,
        local(first, 6),
        local(first + timedelta(days=1), 23),
        step=timedelta(minutes=10),
    )

    assert await kinds(engine, ordered.resident_id) == await kinds(engine, shuffled.resident_id)
    # Two ordinary simulated days raise nothing at all.
    assert await kinds(engine, ordered.resident_id) == []
    assert announced == []


async def _hub_was_offline(
    engine: AsyncEngine, home: HomeFixture, since: datetime, until: datetime
) -> None:
    """The alert the gateway's sweep leaves for a hub away from `since` to `until`."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO alerts (resident_id, kind, severity, state, title, explanation,"
                " count, opened_at, last_seen_at, resolved_at)"
                " VALUES (:r, 'hub_offline', 'high', 'resolved', 'Hub offline', 'silent', 1,"
                " :since, :since, :until)"
            ),
            {"r": home.resident_id, "since": since, "until": until},
        )


async def test_a_hub_back_mid_morning_does_not_say_she_did_not_get_up(
    engine: AsyncEngine, redis: Redis, sessionmaker: Sessions
) -> None:
    """Both homes report from 10:00 only, nobody moves: the one whose hub the platform knew
    to be offline through the morning gets no "not up"; the control does."""
    back, control = await berlin_home(sessionmaker, engine), await berlin_home(sessionmaker, engine)
    await _hub_was_offline(engine, back, local(DAY, 0) - timedelta(hours=2), local(DAY, 10))
    arrivals: list[tuple[datetime, Row]] = []
    for home in (back, control):
        arrivals += on_time(Scenario(home).life(local(DAY, 10), local(DAY, 12)).rows)

    await run_clock_with_arrivals(
        engine,
        [detector(engine, redis)],
        [back.resident_id, control.resident_id],
        arrivals,
        local(DAY, 10),
        local(DAY, 12),
    )

    assert "no_wake_up" in await kinds(engine, control.resident_id)
    assert "no_wake_up" not in await kinds(engine, back.resident_id)
