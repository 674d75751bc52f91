"""Per-resident thresholds set through the backend change what the windowed rules do."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.ai_inference.scenario import (
    BERLIN,
    Scenario,
    detector,
    hub_online,
    kinds,
    local,
    open_alerts,
    run_clock,
)
from tests.backend.conftest import login
from tests.factories import PASSWORD, HomeFixture, make_home

Sessions = async_sessionmaker[AsyncSession]
DAY = date(2024, 6, 14)
API = "/api/v1"


def thirty_minutes_in_the_bathroom(home: HomeFixture) -> Scenario:
    """Moving about, then 30 minutes (from 10:00) in the bathroom and nowhere else."""
    s = Scenario(home).life(local(DAY, 5), local(DAY, 12))
    s.every("living-motion", local(DAY, 7), local(DAY, 9, 59), step=timedelta(minutes=20))
    s.every("bathroom-motion", local(DAY, 10), local(DAY, 10, 30), step=timedelta(minutes=6))
    s.every("kitchen-motion", local(DAY, 10, 31), local(DAY, 12), step=timedelta(minutes=20))
    return s


async def test_thresholds_set_through_the_api_change_the_rules(
    engine: AsyncEngine,
    redis: Redis,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    strict, usual, broken = [await make_home(sessionmaker, timezone=BERLIN) for _ in range(3)]
    for home in (strict, usual, broken):
        await hub_online(engine, home)
        await thirty_minutes_in_the_bathroom(home).write(engine)
    admin = {"Authorization": f"Bearer {await login(http, strict.admin_email, PASSWORD)}"}
    path = f"{API}/residents/{strict.resident_id}/thresholds"

    ok = await http.put(
        f"{path}/long_bathroom_stay", json={"params": {"max_minutes": 20}}, headers=admin
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["effective"] == {"max_minutes": 20}
    for rule, params in [
        ("night_exit", {"night_start_hour": 23, "night_end_hour": 23}),
        ("night_exit", {"back_within_minutes": 1}),
        ("inactivity", {"waking_from_hour": 12, "waking_until_hour": 13}),
        ("high_temperature", {"max_celsius": 80}),
        ("sensor_silent", {"max_silent_hours": 0}),
    ]:
        bad = await http.put(f"{path}/{rule}", json={"params": params}, headers=admin)
        assert bad.status_code == 422, (rule, params, bad.text)
        assert bad.json()["error"]["code"] == "invalid_threshold"
    listed = {t["rule"]: t for t in (await http.get(path, headers=admin)).json()}
    assert listed["high_temperature"]["effective"] == {"max_celsius": 30.0, "for_minutes": 60}
    assert listed["no_wake_up"]["parameters"]["margin_minutes"]["maximum"] == 360
    # A value no longer valid, stored before the ranges changed (or by hand): ignored at read.
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO resident_rule_thresholds (resident_id, rule, params) "
                "VALUES (:r, 'long_bathroom_stay', CAST(:p AS jsonb))"
            ),
            {"r": broken.resident_id, "p": '{"max_minutes": 1, "colour": "red"}'},
        )

    listed_broken = await http.get(
        f"{API}/residents/{broken.resident_id}/thresholds",
        headers={"Authorization": f"Bearer {await login(http, broken.admin_email, PASSWORD)}"},
    )
    assert listed_broken.status_code == 200, listed_broken.text
    [bathroom] = [t for t in listed_broken.json() if t["rule"] == "long_bathroom_stay"]
    assert bathroom["overrides"] == {"max_minutes": 1} and bathroom["effective"] == {
        "max_minutes": 45
    }

    with caplog.at_level(logging.WARNING, logger="sst.thresholds"):
        await run_clock(
            [detector(engine, redis)],
            [strict.resident_id, usual.resident_id, broken.resident_id],
            local(DAY, 9),
            local(DAY, 12),
        )

    [alert] = await open_alerts(engine, strict.resident_id)
    assert alert["kind"] == "long_bathroom_stay"
    assert alert["opened_at"] == local(DAY, 10, 20) + timedelta(seconds=3)
    assert "the limit set for" in alert["explanation"] and "is 20 min" in alert["explanation"]
    assert await kinds(engine, usual.resident_id) == []  # 30 min is within the default 45
    assert await kinds(engine, broken.resident_id) == []  # 1 min ignored: the default applies
    logged = caplog.text
    assert f"resident {broken.resident_id}: invalid long_bathroom_stay.max_minutes = 1" in logged
    assert "unknown long_bathroom_stay parameter 'colour' ignored" in logged
