"""The right to erasure: every personal record and reading goes, the audit log stays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_core.const import ALERTS_STREAM
from sst_core.db.models import (
    Alert,
    AlertEvent,
    AuditEntry,
    DeadLetter,
    RiskScore,
    Robot,
    RobotCommand,
    RuleThreshold,
)
from sst_core.messages import AlertMessage
from sst_core.objects import LocalStore, resident_prefix
from tests.backend.conftest import login
from tests.conftest import TEST_OBJECTS
from tests.factories import HomeFixture, make_home
from tests.readings_data import insert_readings, refresh, simulated_days

API = "/api/v1"


async def _give_a_history(
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    redis: Redis,
    home: HomeFixture,
) -> None:
    """Readings, rollups, an alert with its timeline, a robot command, thresholds, a dead
    letter, a risk score."""
    await insert_readings(engine, simulated_days(home, date(2026, 11, 10), 3))
    await refresh(engine)
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        alert = Alert(
            resident_id=home.resident_id,
            kind="fall",
            severity="critical",
            state="open",
            title="Fall detected in the Bathroom",
            explanation="Fall detected. Check on them now.",
            sensor_id=home.sensors["fall-1"],
            opened_at=now,
            last_seen_at=now,
        )
        session.add(alert)
        await session.flush()
        session.add_all(
            [
                AlertEvent(alert_id=alert.id, action="raised", details={}),
                AlertEvent(alert_id=alert.id, action="repeated", details={}),
                RuleThreshold(
                    resident_id=home.resident_id,
                    rule="inactivity",
                    params={"max_hours_without_motion": 2},
                ),
                DeadLetter(hub_serial=home.hub_serial, topic="t", reason="schema", excerpt="{}"),
                RiskScore(resident_id=home.resident_id, at=now, score=40, explanation="usual day"),
                AuditEntry(
                    action="resident.view",
                    target_type="resident",
                    target_id=str(home.resident_id),
                    details={},
                ),
            ]
        )
        robot = Robot(
            home_id=home.home_id, serial=f"robot-{home.hub_serial}", capabilities=["move"]
        )
        session.add(robot)
        await session.flush()
        session.add(
            RobotCommand(robot_id=robot.id, command="check", expires_at=now + timedelta(minutes=5))
        )
        message = AlertMessage(
            id=alert.id,
            resident_id=home.resident_id,
            facility_id=home.facility_id,
            kind="fall",
            severity="critical",
            state="open",
            title=alert.title,
            explanation=alert.explanation,
            count=1,
            opened_at=now,
            last_seen_at=now,
        )
    await redis.xadd(ALERTS_STREAM, message.to_stream())


COUNTS = {
    "readings": "SELECT count(*) FROM readings WHERE resident_id = :r",
    "readings_hourly": "SELECT count(*) FROM readings_hourly WHERE resident_id = :r",
    "residents": "SELECT count(*) FROM residents WHERE id = :r",
    "alerts": "SELECT count(*) FROM alerts WHERE resident_id = :r",
    "alert_events": "SELECT count(*) FROM alert_events e JOIN alerts a ON a.id = e.alert_id "
    "WHERE a.resident_id = :r",
    "guardian_links": "SELECT count(*) FROM guardian_links WHERE resident_id = :r",
    "staff_assignments": "SELECT count(*) FROM staff_assignments WHERE resident_id = :r",
    "risk_scores": "SELECT count(*) FROM risk_scores WHERE resident_id = :r",
    "resident_rule_thresholds": "SELECT count(*) FROM resident_rule_thresholds "
    "WHERE resident_id = :r",
    "homes": "SELECT count(*) FROM homes WHERE id = :h",
    "rooms": "SELECT count(*) FROM rooms WHERE home_id = :h",
    "hubs": "SELECT count(*) FROM hubs WHERE home_id = :h",
    "sensors": "SELECT count(*) FROM sensors s JOIN hubs h ON h.id = s.hub_id WHERE h.home_id = :h",
    "robots": "SELECT count(*) FROM robots WHERE home_id = :h",
    "robot_commands": "SELECT count(*) FROM robot_commands c JOIN robots r ON r.id = c.robot_id "
    "WHERE r.home_id = :h",
    "dead_letters": "SELECT count(*) FROM dead_letters WHERE hub_serial = :s",
}


async def _counts(engine: AsyncEngine, home: HomeFixture) -> dict[str, int]:
    params = {"r": home.resident_id, "h": home.home_id, "s": home.hub_serial}
    async with engine.connect() as conn:
        return {
            name: int((await conn.execute(text(sql), params)).scalar_one())
            for name, sql in COUNTS.items()
        }


async def _stream_residents(redis: Redis) -> list[int]:
    entries = await redis.xrange(ALERTS_STREAM) or []
    return [AlertMessage.from_stream(f).resident_id for _, f in entries if f is not None]


async def test_erasure_removes_everything_about_the_resident_and_reports_it(
    http: httpx.AsyncClient,
    engine: AsyncEngine,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
    home: HomeFixture,
) -> None:
    neighbour = await make_home(sessionmaker, facility_id=home.facility_id)
    for someone in (home, neighbour):
        await _give_a_history(sessionmaker, engine, redis, someone)
    before, neighbour_before = await _counts(engine, home), await _counts(engine, neighbour)
    assert all(before.values()), before  # every table holds something to erase
    # Routine models hold a resident's routine: theirs go, the neighbour's stay.
    store = LocalStore(TEST_OBJECTS)
    for someone, versions in ((home, 2), (neighbour, 1)):
        for n in range(versions):
            store.put(f"{resident_prefix(someone.resident_id)}v{n}.json", b"{}")

    token = await login(http, home.admin_email, home.password)
    response = await http.delete(
        f"{API}/residents/{home.resident_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["resident_id"] == home.resident_id
    for table, count in before.items():
        assert report["deleted"][table] == count, (table, report["deleted"])
    assert "audit_log" in report["kept"]
    assert report["deleted"]["model_artifacts"] == 2
    assert not (TEST_OBJECTS / resident_prefix(home.resident_id)).exists()
    assert store.get(f"{resident_prefix(neighbour.resident_id)}v0.json") == b"{}"

    assert set((await _counts(engine, home)).values()) == {0}
    assert await _counts(engine, neighbour) == neighbour_before
    await refresh(engine)  # nothing of theirs comes back from the rollup log
    assert (await _counts(engine, home))["readings_hourly"] == 0

    async with engine.connect() as conn:
        audit = (
            await conn.execute(
                text(
                    "SELECT action, details FROM audit_log "
                    "WHERE target_type = 'resident' AND target_id = :r ORDER BY id"
                ),
                {"r": str(home.resident_id)},
            )
        ).all()
    assert audit[0].action == "resident.view"  # earlier evidence is kept
    erased = [a for a in audit if a.action == "resident.erase"]
    assert len(erased) == 1 and erased[0].details["deleted"]["readings"] == before["readings"]

    residents_in_stream = await _stream_residents(redis)
    assert home.resident_id not in residents_in_stream
    assert neighbour.resident_id in residents_in_stream

    # The guardian's account stays; there is nothing left for it to see.
    guardian = await login(http, home.guardian_email, home.password)
    gone = await http.get(
        f"{API}/residents/{home.resident_id}", headers={"Authorization": f"Bearer {guardian}"}
    )
    assert gone.status_code == 404
    again = await http.delete(
        f"{API}/residents/{home.resident_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert again.status_code == 404
