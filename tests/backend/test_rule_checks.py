"""GET /residents/{id}/rule-checks: each windowed rule's latest verdict, and who may see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_ai_inference.detection_store import StoredRule, save_states
from sst_ai_inference.hysteresis import RuleState
from sst_core.db.models import Alert
from sst_core.rule_checks import RuleCheck
from sst_core.thresholds import RuleName
from tests.ai_inference.scenario import detector
from tests.backend.conftest import login
from tests.factories import make_home

API = "/api/v1"
NOON = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 12:00 in Seoul


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_carers_see_which_checks_cannot_tell_and_why_others_get_404(
    http: httpx.AsyncClient,
    engine: AsyncEngine,
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home = await make_home(sessionmaker)  # its hub never heard from, no readings
    other = await make_home(sessionmaker)
    await detector(engine, redis).tick(NOON, residents=[home.resident_id])
    url = f"{API}/residents/{home.resident_id}/rule-checks"

    for email in (home.staff_email, home.guardian_email, home.admin_email):
        token = await login(http, email, home.password)
        response = await http.get(url, headers=_auth(token))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["resident_id"] == home.resident_id
        assert datetime.fromisoformat(body["checked_at"]) == NOON
        checks = {check["rule"]: check for check in body["checks"]}
        assert [check["rule"] for check in body["checks"]] == [rule.value for rule in RuleName]
        assert checks["inactivity"] == {
            "rule": "inactivity",
            "verdict": "unknown",
            "reason": "no recent data from the home",
            "reason_text": {"key": "unknown.no_data", "params": {}},
            "decided_at": "2026-03-02T03:00:00Z",
            "alert_id": None,
        }
        silent = checks["sensor_silent"]
        assert (silent["verdict"], silent["reason"]) == ("unknown", "hub not known to be online")
        assert silent["reason_text"] == {"key": "unknown.hub_offline", "params": {}}

    # Never judged: every rule is there, saying nothing yet (not "fine").
    token = await login(http, other.staff_email, other.password)
    empty = await http.get(f"{API}/residents/{other.resident_id}/rule-checks", headers=_auth(token))
    assert empty.status_code == 200
    assert empty.json()["checked_at"] is None
    assert {check["verdict"] for check in empty.json()["checks"]} == {None}

    # Another home's carers learn nothing, not even that the resident exists.
    for email in (other.staff_email, other.guardian_email, other.admin_email):
        token = await login(http, email, other.password)
        hidden = await http.get(url, headers=_auth(token))
        assert hidden.status_code == 404
        assert hidden.json()["error"]["code"] == "not_found"
    assert (await http.get(url)).status_code == 401


async def test_an_alert_check_points_to_its_alert(
    http: httpx.AsyncClient, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    home = await make_home(sessionmaker)
    raised = NOON - timedelta(minutes=20)
    async with sessionmaker() as session, session.begin():
        alert = Alert(
            resident_id=home.resident_id,
            kind="no_wake_up",
            severity="high",
            state="open",
            title="Not up",
            explanation="Not up by 09:30.",
            count=1,
            opened_at=raised,
            last_seen_at=raised,
        )
        session.add(alert)
        await session.flush()
        alert_id = alert.id
    slots = {
        "no_wake_up": StoredRule(
            RuleState(True, raised, None),
            alert_id,
            check=RuleCheck(verdict="alert", decided_at=raised),
        ),
        # A rule that once pointed at an alert but is fine now names no alert.
        "inactivity": StoredRule(
            RuleState(), alert_id, check=RuleCheck(verdict="fine", decided_at=NOON)
        ),
    }
    async with engine.begin() as conn:
        await save_states(conn, home.resident_id, slots)
    token = await login(http, home.guardian_email, home.password)
    body = (
        await http.get(f"{API}/residents/{home.resident_id}/rule-checks", headers=_auth(token))
    ).json()
    checks = {check["rule"]: check for check in body["checks"]}
    assert (checks["no_wake_up"]["verdict"], checks["no_wake_up"]["alert_id"]) == (
        "alert",
        alert_id,
    )
    assert datetime.fromisoformat(checks["no_wake_up"]["decided_at"]) == raised
    assert (checks["inactivity"]["verdict"], checks["inactivity"]["alert_id"]) == ("fine", None)
    assert checks["night_exit"]["verdict"] is None
